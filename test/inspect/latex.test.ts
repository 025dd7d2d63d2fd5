// Every LaTeX string the printer makes renders in KaTeX with throwOnError and strict mode on: names
// with Greek letters (Δw was \Deltaw), underscores and digits, labels with LaTeX's special
// characters (% # ^ & \ _ { } ~ $), and the expressions, models and path views of the examples.
import { describe, expect, it } from "vitest";
import katex from "katex";
import { readdirSync } from "node:fs";
import { equations, grad, inspectModel, nn, parse, paths, symbol, symbols, type ModelDefinition } from "gradgen";
import { traceModel } from "../../src/dsl/model.js";
import { texName, texText } from "../../src/print/names.js";

function render(tex: string): string {
  return katex.renderToString(tex, { throwOnError: true, displayMode: true, strict: "error" });
}

/** The text KaTeX typesets (its MathML annotation holds the source; the visible text is in the HTML). */
function visibleText(html: string): string {
  const body = html.replace(/<annotation[\s\S]*?<\/annotation>/g, "").replace(/<math[\s\S]*?<\/math>/g, "");
  return body
    .replace(/<[^>]+>/g, "")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/\u00a0/g, " ");
}

// Symbol names: any identifier symbol() accepts.
const names = [
  "x",
  "W1",
  "x_out",
  "alpha",
  "Delta",
  "Δw",
  "δz",
  "Δ",
  "ω2",
  "θ_1",
  "x_1_2",
  "ΔW_out",
  "α_β",
  "a_b_c",
  "x__y",
  "_x",
  "x_",
  "$x",
  "a$b",
  "$",
  "lambda_1",
  "μσ",
  "Δ2x",
  "w0_",
  "β_",
  "ς",
  "ο",
  "abc",
  "x123",
  "__",
  "A1b2",
  "δ_W",
  "e",
  "pi",
];

// Labels for equations(): any string.
const labels = [
  "loss%",
  "#items",
  "a&b",
  "x^2",
  "back\\slash",
  "{brace}",
  "}{",
  "50% off",
  "tilde~",
  "money $",
  "under_score",
  "a_b^c",
  "\\frac",
  "%",
  "&&",
  "#1",
  "label with spaces",
  "∂f/∂Δw",
  "∂C/∂W_1",
  "∂f/∂$x",
  "grad of f",
  "ü and é",
  "Σ",
  "f′(x)",
];

describe("KaTeX renders every name and label (throwOnError, strict)", () => {
  it(`has at least 40 edge cases`, () => {
    expect(names.length + labels.length).toBeGreaterThanOrEqual(40);
  });

  for (const name of names) {
    it(`symbol ${JSON.stringify(name)}`, () => {
      const x = symbol(name);
      render(texName(name));
      render(x.mul(x).add(1).toTex());
      render(grad(nn.sigmoid(x.mul(2)), x).toTex()); // a gradient: \frac{\partial f}{\partial name} and temporaries
    });
  }

  for (const label of labels) {
    it(`label ${JSON.stringify(label)}`, () => {
      const [x, y] = symbols("x y");
      const tex = equations({ [label]: x.mul(y), other: x.add(y) }).toTex();
      render(tex);
    });
  }

  it("escaped text shows the label's characters literally", () => {
    for (const label of ["50% off", "a&b", "#1", "{brace}", "under_score", "back\\slash", "x^2", "tilde~", "money $"]) {
      expect(visibleText(render(texText(label)))).toBe(label);
    }
  });

  it("Δw is \\Delta followed by w, not the unknown command \\Deltaw", () => {
    expect(texName("Δw")).toBe("\\Delta{w}");
    expect(texName("δz2")).toBe("\\delta{z}_{2}");
    expect(symbol("Δw").toTex()).toBe("\\Delta{w}");
    expect(texName("x_out")).toBe("x_{\\mathrm{out}}");
    expect(texName("a$b")).toBe("\\mathrm{a\\$b}");
  });
});

describe("KaTeX renders the printer's expressions", () => {
  const [x, y, z, w, t] = symbols("x y z w t");
  const v = symbol("v", [3]);
  const expressions: Record<string, () => string> = {
    "√x and powers": () => x.pow(0.5).add(x.pow(-1.5)).add(x.pow(2.5)).toTex(),
    "parse with exp, log, abs": () => parse("exp(-x^2) * sin(3*y) + log(1 + abs(x)) / (2 + cos(y))").toTex(),
    "small and large numbers": () => nn.minimum(x.mul(1e-7).add(y.mul(3e21)), Infinity).toTex(), // ±∞ is only accepted as a bound
    "nested sigmoids' δ recurrence": () => {
      let f = w;
      for (let i = 0; i < 6; i++) f = nn.sigmoid(f);
      return grad(f, w).toTex();
    },
    "relu's gradient (cases)": () => grad(nn.relu(x.mul(y)).add(nn.leakyRelu(z)), x).toTex(),
    "binary cross-entropy": () => grad(nn.binaryCrossEntropy(nn.sigmoid(z), t), z).toTex(),
    "softmax cross-entropy": () => grad(nn.softmaxCrossEntropy(v, symbol("onehot", [3])), v).toTex(),
    "sums over axes": () =>
      symbol("M", [2, 3])
        .sum([1])
        .mul(symbol("u", [2]))
        .sum()
        .toTex(),
    "paths of σ(u) + u²": () => {
      const u = x.mul(y).add(z);
      return paths(nn.sigmoid(u).add(u.mul(u)), x).toTex();
    },
    "paths of the doubling graph": () => {
      let f = w;
      for (let i = 0; i < 5; i++) f = f.mul(f);
      return paths(f, w).toTex();
    },
  };
  for (const [name, make] of Object.entries(expressions)) {
    it(name, () => {
      render(make());
    });
  }

  it("every example model's equations", async () => {
    const dir = new URL("../../examples/", import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const definition = (await import(new URL(file, dir).href)).default as ModelDefinition;
      render(inspectModel(traceModel(definition)).toTex());
    }
  });
});
