// nn.scan (issue 12): recurrent models written with scan against the same models unrolled in JavaScript
// (identical loss and gradients in f64), gradients against central differences, and generated code whose
// size does not grow with the number of steps.
import { describe, expect, it } from "vitest";
import { checkGradients, compile, model, nn, type ModelBuilder, type Tensor } from "gradgen";
import { loadGenerated, type Fields } from "./support/load-generated.js";

type Cell = (p: Record<string, Tensor>, h: Tensor, x: Tensor) => Tensor;
const [H, D] = [5, 3];

/** Elman: h' = tanh(Wx·x + Wh·h + b). The carry is h. */
const elman: Cell = (p, h, x) => nn.tanh(p.Wx!.matmul(x).add(p.Wh!.matmul(h)).add(p.b!));

/** GRU (Cho et al. 2014): z, r gates; h' = (1 − z)·h + z·tanh(Wx·x + Wh·(r·h) + b). */
const gru: Cell = (p, h, x) => {
  const z = nn.sigmoid(p.Wzx!.matmul(x).add(p.Wzh!.matmul(h)).add(p.bz!));
  const r = nn.sigmoid(p.Wrx!.matmul(x).add(p.Wrh!.matmul(h)).add(p.br!));
  const candidate = nn.tanh(
    p
      .Wx!.matmul(x)
      .add(p.Wh!.matmul(r.mul(h)))
      .add(p.b!),
  );
  return h.add(z.mul(candidate.sub(h)));
};

/** LSTM (Hochreiter & Schmidhuber; forget gate of Gers et al.): the carry is [h; c] (2H). */
const lstm: Cell = (p, hc, x) => {
  const h = hc.slice([0], [H]);
  const c = hc.slice([H], [H]);
  const gates = p.W!.matmul(nn.concat([x, h])).add(p.b!); // [4H]
  const gate = (k: number) => gates.slice([k * H], [H]);
  const [i, f, o, g] = [nn.sigmoid(gate(0)), nn.sigmoid(gate(1)), nn.sigmoid(gate(2)), nn.tanh(gate(3))];
  const next = f.mul(c).add(i.mul(g));
  return nn.concat([o.mul(nn.tanh(next)), next]);
};

const cells = {
  elman: {
    cell: elman,
    carry: H,
    params: { Wx: [H, D], Wh: [H, H], b: [H] },
  },
  gru: {
    cell: gru,
    carry: H,
    params: { Wzx: [H, D], Wzh: [H, H], bz: [H], Wrx: [H, D], Wrh: [H, H], br: [H], Wx: [H, D], Wh: [H, H], b: [H] },
  },
  lstm: { cell: lstm, carry: 2 * H, params: { W: [4 * H, D + H], b: [4 * H] } },
} as const;

type CellName = keyof typeof cells;

/** A sequence model: the carry after T steps feeds a readout; the loss also reads every step's output. */
function sequenceModel(kind: CellName, T: number, form: "scan" | "unrolled") {
  const { cell, carry, params } = cells[kind];
  return model(`${kind}_${form}_${T}`, ({ input, param }: ModelBuilder) => {
    const xs = input("xs", [T, D]);
    const target = input("target", [1]);
    const p: Record<string, Tensor> = {};
    for (const [name, shape] of Object.entries(params)) p[name] = param(name, shape, { init: "xavier" });
    const readout = param("readout", [1, carry], { init: "xavier" });
    const h0 = nn.concat(Array<Tensor>(carry).fill(xs.slice([0, 0], [1, 1]).reshape([1]).mul(0.1))); // per example
    let last: Tensor;
    let outputs: Tensor;
    if (form === "scan") {
      [last, outputs] = nn.scan(
        (h, x) => {
          const next = cell(p, h, x);
          return [next, next.sum()];
        },
        h0,
        xs,
        { length: T },
      );
    } else {
      let h = h0;
      const ys: Tensor[] = [];
      for (let t = 0; t < T; t++) {
        h = cell(p, h, xs.slice([t, 0], [1, D]).reshape([D]));
        ys.push(h.sum().reshape([1]));
      }
      last = h;
      outputs = nn.concat(ys);
    }
    const prediction = readout.matmul(last.reshape([carry, 1])).reshape([1]);
    const loss = prediction.sub(target).square().sum().add(outputs.square().sum().mul(0.01));
    return { loss, outputs: { prediction } };
  });
}

function batchFor(T: number, n: number, seed = 1): Fields {
  let s = seed;
  const random = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  return {
    xs: Float64Array.from({ length: n * T * D }, random),
    target: Float64Array.from({ length: n }, random),
  };
}

describe("nn.scan", () => {
  for (const kind of Object.keys(cells) as CellName[]) {
    it(`${kind}: scan and unrolled agree (loss and gradients, 1e-12, f64)`, async () => {
      const T = 7;
      const n = 3;
      const scanned = await loadGenerated(sequenceModel(kind, T, "scan"), n);
      const unrolled = await loadGenerated(sequenceModel(kind, T, "unrolled"), n);
      const a = scanned.createTrainer({ seed: 5 });
      const b = unrolled.createTrainer({ seed: 5 });
      for (const name of Object.keys(a.params)) b.params[name]!.set(a.params[name]!);
      const batch = batchFor(T, n);
      const lossA = a.gradient(batch);
      const lossB = b.gradient(batch);
      expect(Math.abs(lossA - lossB)).toBeLessThan(1e-12);
      for (const name of Object.keys(a.grads)) {
        const [ga, gb] = [a.grads[name]!, b.grads[name]!];
        expect(ga.some((v) => v !== 0)).toBe(true);
        for (let i = 0; i < ga.length; i++) expect(Math.abs(ga[i]! - gb[i]!)).toBeLessThan(1e-12);
      }
    });
  }

  for (const kind of Object.keys(cells) as CellName[]) {
    it(`${kind} with scan: gradient against central differences of the loss (f64)`, async () => {
      const T = 6;
      const trainer = (await loadGenerated(sequenceModel(kind, T, "scan"), 2)).createTrainer({ seed: 3 });
      const batch = batchFor(T, 2, 7);
      trainer.gradient(batch);
      const h = 1e-5;
      for (const [name, values] of Object.entries(trainer.params)) {
        const grad = trainer.grads[name]!.slice();
        for (const i of [0, Math.floor(values.length / 2), values.length - 1]) {
          const saved = values[i]!;
          values[i] = saved + h;
          const up = trainer.loss(batch);
          values[i] = saved - h;
          const down = trainer.loss(batch);
          values[i] = saved;
          expect(Math.abs((up - down) / (2 * h) - grad[i]!)).toBeLessThan(1e-7 * Math.max(1, Math.abs(grad[i]!)));
        }
      }
    });
  }

  it("the gradient checker agrees (central differences through the interpreter's scan)", async () => {
    const report = await checkGradients(sequenceModel("lstm", 4, "scan"), { points: 1, directions: 1 });
    expect(report.passed).toBe(true);
  });

  it("generated code does not grow with the number of steps (T = 5, 20 and 200)", () => {
    const source = (T: number) =>
      compile(sequenceModel("lstm", T, "scan"), { batch: 4, dtype: "f64", source: "scan size" })
        .files[0]!.contents.replace(/\d+/g, "0") // shape constants
        .replace(/lstm_scan_0/g, "")
        .replace(/structureHash: "\w+"/, "");
    const [short, medium, long] = [source(5), source(20), source(200)];
    // The same code but for shape constants, within a small bound: at T = 5 copies of [T, …] values around
    // the loops are written out (straight-line limit 8), and layouts may differ by a copy kernel
    expect(Math.abs(medium.length - long.length)).toBeLessThan(0.02 * long.length);
    expect(Math.abs(short.length - long.length)).toBeLessThan(0.05 * long.length);
    const unrolled = (T: number) =>
      compile(sequenceModel("lstm", T, "unrolled"), { batch: 4, dtype: "f64", source: "scan size" }).files[0]!.contents
        .length;
    expect(unrolled(20)).toBeGreaterThan(2 * unrolled(5)); // the comparison can fail: unrolled code grows
  });

  it("shared weights' gradients are one product over the steps after the reverse loop, not one per step", () => {
    const T = 30;
    const source = compile(sequenceModel("elman", T, "scan"), { batch: 4, dtype: "f64", source: "scan products" })
      .files[0]!.contents;
    const gradient = source.slice(
      source.indexOf("function gradientProgram"),
      source.indexOf("function predictProgram"),
    );
    const lines = gradient.split("\n");
    const start = lines.findIndex((line) => new RegExp(`for \\(let (t\\d+) = ${T - 1}; \\1 >= 0; \\1--\\)`).test(line));
    expect(start).toBeGreaterThan(0); // the reverse loop
    const indent = lines[start]!.length - lines[start]!.trimStart().length;
    const end = lines.findIndex((line, i) => i > start && line === `${" ".repeat(indent)}}`);
    const [loop, after] = [lines.slice(start, end).join("\n"), lines.slice(end).join("\n")];
    // Wx [H, D] and Wh [H, H]: their per-step terms are outer products [H, D] and [H, H]
    for (const shape of [`[${H}, ${D}]`, `[${H}, ${H}]`]) {
      expect(loop).not.toContain(`matmul ${shape}`);
      expect(after).toContain(`matmul ${shape} per example`);
    }
    expect(after).toMatch(new RegExp(`gemm\\(${H}, ${H}, ${T},`)); // Σ_t h_{t−1}ᵀ·δ_t: one product, k = T
  });

  it("refuses a step whose carry changes shape, and --target wgsl, with clear messages", () => {
    const bad = model("badScan", ({ input }) => {
      const xs = input("xs", [4, 2]);
      const [h] = nn.scan((c, x) => [nn.concat([c, x]), x], xs.slice([0, 0], [1, 2]).reshape([2]), xs);
      return { loss: h.sum() };
    });
    expect(() => compile(bad, { batch: 2 })).toThrow(/carry of shape \[4\] for a carry of shape \[2\]/);
    expect(() => compile(sequenceModel("elman", 3, "scan"), { batch: 2, targets: ["wgsl"] })).toThrow(
      /nn.scan is not supported by --target wgsl yet/,
    );
  });
});
