// The model view in notebooks: inspect(definition) and a definition's own display hooks show the
// forward and backward equations with shapes; shapes and LaTeX are checked against the model files'
// declarations and KaTeX, not against the printer's own output.
import { describe, expect, it } from "vitest";
import { inspect as utilInspect } from "node:util";
import { readFileSync } from "node:fs";
import path from "node:path";
import katex from "katex";
import { display, GradgenError, inspect, inspectModel, model, nn, type ModelDefinition } from "gradgen";
import circuit from "../../examples/circuit.ts";
import neuron from "../../examples/neuron.ts";
import xor from "../../examples/xor.ts";
import mlp from "../../examples/mlp.ts";
import mnist from "../../examples/mnist.ts";
import optimizers from "../../examples/optimizers.ts";

const examples: Record<string, ModelDefinition> = { circuit, neuron, xor, mlp, mnist, optimizers };

describe("the model view", () => {
  it("takes a model(...) definition (it used to need the unexported tracer, and threw a TypeError)", () => {
    const view = inspect(xor);
    expect(view.name).toBe("xor");
    expect(view.gradientLabels).toEqual(["∂C/∂W1", "∂C/∂b1", "∂C/∂W2", "∂C/∂b2"]);
    expect(inspectModel(xor).toText()).toBe(view.toText());
  });

  it("shows the MLP's shapes as the model file declares them: parameters shared, everything else per example", () => {
    const view = inspect(mlp);
    const text = view.toString();
    // declared in examples/mlp.ts: x [784], label [10], W1 [784, 128], b1 [128], W2 [128, 10], b2 [10]
    for (const line of [
      "x : [784] per example",
      "label : [10] per example",
      "W1 : [784, 128],",
      "b1 : [128],",
      "W2 : [128, 10],",
      "b2 : [10]",
    ]) {
      expect(text).toContain(line);
    }
    // z1 = x·W1 + b1 has W1's 128 columns; z2 = a1·W2 + b2 has W2's 10; δ = ∂C/∂z has z's shape; C is one number
    const expected: Record<string, string> = {
      z1: "[128] per example",
      a1: "[128] per example",
      z2: "[10] per example",
      C: "scalar per example",
      δ1: "[128] per example",
      δ2: "[10] per example",
      "∂C/∂W1": "[784, 128] per example",
      "∂C/∂b1": "[128] per example",
      "∂C/∂W2": "[128, 10] per example",
      "∂C/∂b2": "[10] per example",
    };
    for (const [name, shape] of Object.entries(expected)) {
      expect(text).toMatch(new RegExp(`^  ${name} = .*  ${name} : ${shape.replace(/[[\]]/g, "\\$&")}$`, "mu"));
    }
    expect(view.shapes.get("W1")).toEqual({ shape: [784, 128], perExample: false });
    expect(view.shapes.get("δ1")).toEqual({ shape: [128], perExample: true });
  });

  it("gives every example model's gradients their parameter's declared shape, and each δ its layer's z shape", () => {
    for (const [file, definition] of Object.entries(examples)) {
      const source = readFileSync(path.resolve(import.meta.dirname, `../../examples/${file}.ts`), "utf8");
      const declared = new Map(
        [...source.matchAll(/(?:param|input)\("(\w+)", \[([\d, ]*)\]/g)].map((m) => [
          m[1]!,
          m[2]!
            .split(",")
            .map((d) => d.trim())
            .filter(Boolean)
            .map(Number),
        ]),
      );
      const view = inspect(definition);
      for (const label of view.gradientLabels) {
        const name = label.slice("∂C/∂".length);
        expect(view.shapes.get(label)?.shape, `${file}: ${label}`).toEqual(declared.get(name));
      }
      // layered models (a matmul per layer): δk = ∂C/∂zk for each layer k
      const layers = [...view.shapes.keys()].filter((name) => /^z\d+$/.test(name));
      if (["xor", "mlp", "mnist", "optimizers"].includes(file)) expect(layers, file).toEqual(["z1", "z2"]);
      for (const z of layers)
        expect(view.shapes.get(`δ${z.slice(1)}`)?.shape, `${file}: δ${z.slice(1)}`).toEqual(view.shapes.get(z)!.shape);
      expect(view.shapes.get("C")?.shape, file).toEqual([]);
    }
  });

  it("renders every example model's LaTeX in KaTeX (throwOnError)", () => {
    for (const [file, definition] of Object.entries(examples)) {
      const view = inspect(definition);
      for (const tex of [view.toTex(), view.toTex({ shapes: true })]) {
        expect(() => katex.renderToString(tex, { throwOnError: true, displayMode: true }), file).not.toThrow();
      }
      const latex = view.toMimeBundle()["text/latex"]!;
      expect(latex.startsWith("$\\displaystyle ") && latex.endsWith("$"), file).toBe(true);
    }
  });

  it("narrows to { wrt }: a name or a list, parameters or inputs", () => {
    expect(inspect(mlp, { wrt: "W1" }).gradientLabels).toEqual(["∂C/∂W1"]);
    expect(inspect(mlp, { wrt: ["b2", "W2"] }).gradientLabels).toEqual(["∂C/∂b2", "∂C/∂W2"]);
    const narrowed = inspect(mlp, { wrt: "W1" }).toString();
    expect(narrowed).toContain("∂C/∂W1 = ");
    expect(narrowed).not.toContain("∂C/∂W2");
    expect(inspect(circuit, { wrt: "z" }).gradientLabels).toEqual(["∂C/∂z"]);
    expect(() => inspect(mlp, { wrt: "W9" })).toThrow(
      /has no parameter or input named W9; its parameters are W1, b1, W2, b2/,
    );
  });

  it("refuses what is not a model definition with a GradgenError, not a TypeError", () => {
    for (const bad of [{}, null, 42, { name: "mlp" }]) {
      expect(() => inspect(bad as never)).toThrow(GradgenError);
      expect(() => inspect(bad as never)).toThrow(/inspect expects a model definition/);
    }
  });

  it("makes a definition itself displayable: Deno's hook gives text and LaTeX, util.inspect the text", () => {
    const view = inspect(mlp);
    const bundle = (mlp as unknown as Record<symbol, () => Record<string, string>>)[Symbol.for("Jupyter.display")]!();
    expect(Object.keys(bundle).sort()).toEqual(["text/latex", "text/plain"]);
    expect(bundle).toEqual(view.toMimeBundle());
    expect(utilInspect(mlp)).toBe(view.toString());
    // display() shows the equations, then the drawing
    const bundles = view.toMimeBundles();
    expect(bundles.map((b) => Object.keys(b).sort())).toEqual([
      ["text/latex", "text/plain"],
      ["image/svg+xml", "text/plain"],
    ]);
    expect(bundles[1]!["image/svg+xml"]).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>$/);
    // the definition is still a plain description: its own keys, and nothing Deno would take for a chart, canvas or DOM node
    expect(Object.keys(mlp).sort()).toEqual(["build", "kind", "name", "options", "origin"]);
    for (const duck of ["toSpec", "toDataURL", "outerHTML"]) expect(duck in mlp).toBe(false);
  });

  it("display(definition) on a console prints the equations, then the drawing's text", async () => {
    const written: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      written.push(chunk);
      return true;
    }) as typeof process.stdout.write;
    try {
      await display(xor);
    } finally {
      process.stdout.write = write;
    }
    const view = inspect(xor);
    expect(written).toEqual([`${view.toString()}\n`, `${view.graph.toString()}\n`]);
  });

  it("shows a model whose build fails as its error message, instead of throwing from a display hook", () => {
    const broken = model("broken", ({ input }) => ({ loss: nn.sigmoid(input("x", [3])) }));
    const bundle = (broken as unknown as Record<symbol, () => Record<string, string>>)[
      Symbol.for("Jupyter.display")
    ]!();
    expect(bundle["text/plain"]).toMatch(/^model broken: .*loss must be a scalar per example/);
    expect(utilInspect(broken)).toMatch(/^model broken: .*loss must be a scalar per example/);
  });
});

describe("package.json for resolvers that ignore exports (tslab's TypeScript, Node10 resolution)", () => {
  it('has top-level main and types equal to the exports of "."', () => {
    const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../package.json"), "utf8")) as {
      main?: string;
      types?: string;
      exports: Record<string, { types: string; default: string }>;
    };
    expect(pkg.main).toBe(pkg.exports["."]!.default);
    expect(pkg.types).toBe(pkg.exports["."]!.types);
  });
});
