// Second-order optimizers (newton, hessian-free) against formulas written out here: the gradient and
// minimiser of logistic regression and of least squares by hand, central differences of the gradient
// for Hessian-vector products, and plain gradient descent / Adam on the same problem.
import { describe, expect, it } from "vitest";
import { adam, compile, hessianFree, model, newton, nn, sgd } from "gradgen";
import { createRandom as mulberry32 } from "../src/random.ts";
import { loadGenerated, type Fields, type GeneratedTrainer } from "./support/load-generated.js";

type SecondOrderTrainer = GeneratedTrainer & { hessianVector(batch: Fields, n?: number): void };

const dimensions = 4;
const examples = 64;
const ridge = 0.01;

// Logistic regression with a ridge term: strictly convex, so the optimum is unique.
const logistic = model("logistic", ({ input, param }) => {
  const x = input("x", [dimensions]);
  const t = input("t", [1]);
  const w = param("w", [dimensions, 1], { init: 0 });
  const b = param("b", [1], { init: 0 });
  const z = x.reshape([1, dimensions]).matmul(w).reshape([1]).add(b);
  return {
    loss: nn
      .sigmoidCrossEntropy(z, t)
      .sum()
      .add(
        w
          .square()
          .sum()
          .mul(ridge / 2),
      ),
  };
});

/** Labels drawn from the model itself (not separable: the unregularised optimum is finite too). */
function logisticData(seed: number): Fields {
  const random = mulberry32(seed);
  const truth = [1.5, -2, 0.5, 1];
  const x = new Float64Array(examples * dimensions);
  const t = new Float64Array(examples);
  for (let e = 0; e < examples; e++) {
    let z = 0.3;
    for (let i = 0; i < dimensions; i++) {
      x[e * dimensions + i] = 2 * random() - 1;
      z += truth[i]! * x[e * dimensions + i]!;
    }
    t[e] = random() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x, t };
}

/** ∇J by hand: mean over examples of (σ(z) − t)·(x, 1), plus λw. */
function logisticGradient(data: Fields, w: ArrayLike<number>, b: number): number[] {
  const g = new Array<number>(dimensions + 1).fill(0);
  for (let e = 0; e < examples; e++) {
    let z = b;
    for (let i = 0; i < dimensions; i++) z += data.x![e * dimensions + i]! * w[i]!;
    const residual = 1 / (1 + Math.exp(-z)) - data.t![e]!;
    for (let i = 0; i < dimensions; i++) g[i]! += (residual * data.x![e * dimensions + i]!) / examples;
    g[dimensions]! += residual / examples;
  }
  for (let i = 0; i < dimensions; i++) g[i]! += ridge * w[i]!;
  return g;
}

const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const handNorm = (trainer: GeneratedTrainer, data: Fields) =>
  norm(logisticGradient(data, trainer.params.w!, trainer.params.b![0]!));

/** Steps until ‖∇J‖ (by hand) < tolerance, or `limit`. */
function stepsToConverge(trainer: GeneratedTrainer, data: Fields, tolerance: number, limit: number): number {
  for (let steps = 0; steps < limit; steps++) {
    if (handNorm(trainer, data) < tolerance) return steps;
    trainer.step(data);
  }
  return handNorm(trainer, data) < tolerance ? limit : Infinity;
}

describe("newton", () => {
  it("reaches ‖∇J‖ < 1e-10 on logistic regression in at most 10 steps, where Adam needs thousands", async () => {
    const data = logisticData(7);
    const module = await loadGenerated(logistic, examples, { optimizer: newton() });
    const trainer = module.createTrainer();
    const newtonSteps = stepsToConverge(trainer, data, 1e-10, 50);
    expect(newtonSteps).toBeLessThanOrEqual(10);
    const adamModule = await loadGenerated(logistic, examples, { optimizer: adam() });
    const adamSteps = stepsToConverge(adamModule.createTrainer(), data, 1e-10, 20000);
    console.log(
      `logistic regression to ‖∇J‖ < 1e-10: newton ${newtonSteps} steps, adam (default ε = 1e-3) ${adamSteps}`,
    );
    expect(adamSteps).toBeGreaterThan(1000);
  });

  it("lands on the least-squares minimiser in one undamped step", async () => {
    const linear = model("linear", ({ input, param }) => {
      const x = input("x", [3]);
      const t = input("t", []);
      const w = param("w", [3], { init: 0.7 });
      const b = param("b", [], { init: -0.2 });
      return { loss: x.mul(w).sum().add(b).sub(t).square().mul(0.5) };
    });
    const random = mulberry32(3);
    const n = 12;
    const data: Fields = { x: new Float64Array(n * 3).map(() => 2 * random() - 1), t: new Float64Array(n) };
    data.t!.forEach((_, e) => (data.t![e] = 1 + data.x![3 * e]! - 2 * data.x![3 * e + 2]! + 0.1 * (random() - 0.5)));
    // The minimiser by the normal equations AᵀAθ = Aᵀt, A's rows (x, 1), solved by Gaussian elimination.
    const ata = Array.from({ length: 4 }, () => new Array<number>(5).fill(0));
    for (let e = 0; e < n; e++) {
      const row = [data.x![3 * e]!, data.x![3 * e + 1]!, data.x![3 * e + 2]!, 1];
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) ata[i]![j]! += row[i]! * row[j]!;
        ata[i]![4]! += row[i]! * data.t![e]!;
      }
    }
    for (let c = 0; c < 4; c++)
      for (let r = c + 1; r < 4; r++) {
        const f = ata[r]![c]! / ata[c]![c]!;
        for (let k = c; k < 5; k++) ata[r]![k]! -= f * ata[c]![k]!;
      }
    const minimiser = new Array<number>(4).fill(0);
    for (let r = 3; r >= 0; r--) {
      let s = ata[r]![4]!;
      for (let k = r + 1; k < 4; k++) s -= ata[r]![k]! * minimiser[k]!;
      minimiser[r] = s / ata[r]![r]!;
    }
    const module = await loadGenerated(linear, n, { optimizer: newton({ damping: 0 }) });
    const trainer = module.createTrainer();
    trainer.step(data);
    const got = [...trainer.params.w!, trainer.params.b![0]!];
    got.forEach((value, i) => expect(Math.abs(value - minimiser[i]!)).toBeLessThan(1e-12));
  });

  it("refuses more than 2,000 parameters, dropout, and the WGSL target, with the model's line", () => {
    const big = model("big", ({ input, param }) => {
      const x = input("x", [50]);
      const W = param("W", [50, 41]);
      return { loss: x.reshape([1, 50]).matmul(W).square().sum() };
    });
    expect(() => compile(big, { optimizer: "newton" })).toThrow(/at most 2000 scalar parameters.*2050.*hessian-free/s);
    expect(() => compile(big, { optimizer: "hessian-free" })).not.toThrow();
    expect(() => compile(logistic, { optimizer: "newton", targets: ["wgsl"] })).toThrow(
      /TypeScript target only.*--target ts/s,
    );
    const dropped = model("dropped", ({ input, param }) => {
      const x = input("x", [2]);
      const w = param("w", [2]);
      return { loss: nn.dropout(x.mul(w), 0.5).sum() };
    });
    expect(() => compile(dropped, { optimizer: "newton" })).toThrow(/deterministic loss.*dropout/s);
  });
});

// A 2-8-1 tanh network on a smooth target.
const net = model("tanhNet", ({ input, param }) => {
  const x = input("x", [2]);
  const t = input("t", [1]);
  const W1 = param("W1", [2, 8], { init: "xavier" });
  const b1 = param("b1", [8]);
  const W2 = param("W2", [8, 1], { init: "xavier" });
  const b2 = param("b2", [1]);
  const h = nn.tanh(x.reshape([1, 2]).matmul(W1).reshape([8]).add(b1));
  const y = h.reshape([1, 8]).matmul(W2).reshape([1]).add(b2);
  return { loss: nn.halfSquaredError(y, t) };
});

function netData(): Fields {
  const random = mulberry32(11);
  const n = 32;
  const x = new Float64Array(n * 2).map(() => 2 * random() - 1);
  const t = new Float64Array(n).map((_, e) => Math.sin(2 * x[2 * e]!) * Math.cos(x[2 * e + 1]!));
  return { x, t };
}

describe("hessian-free", () => {
  const names = ["W1", "b1", "W2", "b2"];

  it("computes Hessian-vector products that agree with central differences of the gradient", async () => {
    const data = netData();
    const module = await loadGenerated(net, 32, { optimizer: hessianFree() });
    const trainer = module.createTrainer({ seed: 5 }) as SecondOrderTrainer;
    const random = mulberry32(2);
    for (const name of names) trainer.state.buffers[`${name}.direction`]!.forEach((_, i, v) => (v[i] = random() - 0.5));
    trainer.hessianVector(data);
    const product = names.flatMap((name) => [...trainer.state.buffers[`${name}.product`]!]);
    // (H·v) ≈ (∇J(θ + hv) − ∇J(θ − hv)) / 2h
    const h = 1e-5;
    const gradientAt = (sign: number) => {
      for (const name of names) {
        const v = trainer.state.buffers[`${name}.direction`]!;
        trainer.params[name]!.forEach((value, i, p) => (p[i] = value + sign * h * v[i]!));
      }
      trainer.gradient(data);
      const g = names.flatMap((name) => [...trainer.grads[name]!]);
      for (const name of names) {
        const v = trainer.state.buffers[`${name}.direction`]!;
        trainer.params[name]!.forEach((value, i, p) => (p[i] = value - sign * h * v[i]!));
      }
      return g;
    };
    const plus = gradientAt(1);
    const minus = gradientAt(-1);
    const scale = norm(product);
    expect(scale).toBeGreaterThan(1e-3);
    product.forEach((value, i) =>
      expect(Math.abs(value - (plus[i]! - minus[i]!) / (2 * h))).toBeLessThan(1e-7 * scale),
    );
  });

  it("lowers the loss faster per step than gradient descent", async () => {
    const data = netData();
    const hf = (await loadGenerated(net, 32, { optimizer: hessianFree({ cgIterations: 10 }) })).createTrainer({
      seed: 5,
    });
    const gd = (await loadGenerated(net, 32, { optimizer: sgd({ learningRate: 0.5 }) })).createTrainer({ seed: 5 });
    const start = hf.loss(data);
    expect(gd.loss(data)).toBe(start);
    const curves: [number, number][] = [];
    for (let step = 1; step <= 20; step++) {
      hf.step(data);
      gd.step(data);
      curves.push([hf.loss(data), gd.loss(data)]);
    }
    console.log(
      `2-8-1 tanh, loss from ${start}: ${curves.map(([a, b]) => `${a.toExponential(2)}/${b.toExponential(2)}`).join(" ")}`,
    );
    for (const step of [5, 10, 20]) expect(curves[step - 1]![0]).toBeLessThan(curves[step - 1]![1]);
    expect(curves[19]![0]).toBeLessThan(start / 10);
  });
});
