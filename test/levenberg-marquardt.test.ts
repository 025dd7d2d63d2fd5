// Levenberg–Marquardt and Gauss–Newton-vector products (nn.leastSquares) against formulas written out
// here: an independent Levenberg–Marquardt fit of y = a·e^(−bx) + c with the analytic Jacobian
// [e^(−bx), −a·x·e^(−bx), 1], and JᵀJv by hand for a tanh layer's residual.
import { describe, expect, it } from "vitest";
import { compile, hessianFree, levenbergMarquardt, model, newton, nn } from "gradgen";
import { createRandom as mulberry32 } from "../src/random.ts";
import { loadGenerated, type Fields, type GeneratedTrainer } from "./support/load-generated.js";

type SecondOrderTrainer = GeneratedTrainer & { hessianVector(batch: Fields, n?: number): void };

const decay = model("decay", ({ input, param }) => {
  const x = input("x", []);
  const y = input("y", []);
  const a = param("a", [], { init: 1 });
  const b = param("b", [], { init: 0.5 });
  const c = param("c", [], { init: 0 });
  return { loss: nn.leastSquares(a.mul(b.mul(x).neg().exp()).add(c).sub(y)) };
});

const n = 40;
/** y = 2.5·e^(−1.3x) + 0.5 on x ∈ [0, 4], plus noise uniform in ±0.05 (seeded). */
function decayData(): Fields {
  const random = mulberry32(17);
  const x = new Float64Array(n).map((_, e) => (4 * e) / (n - 1));
  const y = x.map((value) => 2.5 * Math.exp(-1.3 * value) + 0.5 + 0.1 * (random() - 0.5));
  return { x, y };
}

/** Solves the 3×3 system M·s = rhs by Gaussian elimination with partial pivoting. */
function solve3(m: number[][], rhs: number[]): number[] {
  const a = m.map((row, i) => [...row, rhs[i]!]);
  for (let col = 0; col < 3; col++) {
    let pivot = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = col + 1; r < 3; r++) {
      const f = a[r]![col]! / a[col]![col]!;
      for (let k = col; k < 4; k++) a[r]![k]! -= f * a[col]![k]!;
    }
  }
  const s = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    let v = a[r]![3]!;
    for (let k = r + 1; k < 3; k++) v -= a[r]![k]! * s[k]!;
    s[r] = v / a[r]![r]!;
  }
  return s;
}

/**
 * An independent Levenberg–Marquardt (Marquardt's diagonal scaling, μ ×/÷ 10) with the analytic
 * Jacobian, run until the step no longer changes the parameters.
 */
function referenceFit(data: Fields, start: number[]): number[] {
  const cost = ([a, b, c]: number[]) =>
    data.x!.reduce((s, x, e) => s + 0.5 * (a! * Math.exp(-b! * x) + c! - data.y![e]!) ** 2, 0);
  let theta = [...start];
  let mu = 1e-2;
  for (let iteration = 0; iteration < 500; iteration++) {
    const [a, b] = theta as [number, number, number];
    const jtj = [0, 1, 2].map(() => [0, 0, 0]);
    const jtr = [0, 0, 0];
    data.x!.forEach((x, e) => {
      const decayed = Math.exp(-b * x);
      const row = [decayed, -a * x * decayed, 1];
      const r = a * decayed + theta[2]! - data.y![e]!;
      for (let i = 0; i < 3; i++) {
        jtr[i]! += row[i]! * r;
        for (let j = 0; j < 3; j++) jtj[i]![j]! += row[i]! * row[j]!;
      }
    });
    const damped = jtj.map((row, i) => row.map((v, j) => (i === j ? v * (1 + mu) : v)));
    const step = solve3(
      damped,
      jtr.map((v) => -v),
    );
    const next = theta.map((v, i) => v + step[i]!);
    if (cost(next) <= cost(theta)) {
      const moved = next.some((v, i) => v !== theta[i]);
      theta = next;
      mu /= 10;
      if (!moved || Math.max(...step.map(Math.abs)) < 1e-15) break;
    } else mu *= 10;
  }
  return theta;
}

describe("levenberg-marquardt", () => {
  it("fits y = a·e^(−bx) + c to noisy data to the parameters of an independent solver", async () => {
    const data = decayData();
    const reference = referenceFit(data, [1, 0.5, 0]);
    // the data's own parameters, roughly (the noise moves them)
    expect(Math.abs(reference[0]! - 2.5)).toBeLessThan(0.1);
    expect(Math.abs(reference[1]! - 1.3)).toBeLessThan(0.1);
    const module = await loadGenerated(decay, n, { optimizer: levenbergMarquardt() });
    const trainer = module.createTrainer();
    const fitted = () => [trainer.params.a![0]!, trainer.params.b![0]!, trainer.params.c![0]!];
    const distance = () => Math.max(...fitted().map((v, i) => Math.abs(v - reference[i]!)));
    let steps = 0;
    while (steps < 30 && distance() >= 1e-8) {
      trainer.step(data);
      steps++;
    }
    for (let more = 0; more < 10; more++) trainer.step(data); // and it stays there
    console.log(
      `a·e^(−bx) + c: reference ${reference.join(", ")}; levenberg-marquardt ${fitted().join(", ")} (within 1e-8 after ${steps} steps)`,
    );
    // 1e-8 in under 30 steps; after 10 more, both sit on the same f64 minimiser
    expect(distance()).toBeLessThan(1e-12);
    expect(steps).toBeLessThan(30);
  });

  it("refuses a loss that is not nn.leastSquares, and more than 2,000 parameters", () => {
    const plain = model("plain", ({ input, param }) => {
      const x = input("x", []);
      const a = param("a", []);
      return { loss: a.mul(x).sub(1).square().mul(0.5) };
    });
    expect(() => compile(plain, { optimizer: "levenberg-marquardt" })).toThrow(/nn\.leastSquares\(r\).*newton/s);
    const big = model("bigLeastSquares", ({ input, param }) => {
      const x = input("x", [50]);
      const W = param("W", [50, 41]);
      return { loss: nn.leastSquares(x.reshape([1, 50]).matmul(W)) };
    });
    expect(() => compile(big, { optimizer: "levenberg-marquardt" })).toThrow(/at most 2000 scalar parameters.*2050/s);
  });
});

// r = tanh(x·W) − t per example, W [2, 2]: (J·V)_k = (1 − h_k²) Σ_i x_i V_ik, and
// (G·V)_ik = (1/n) Σ_e (1 − h_k²) x_i (J·V)_k with h = tanh(x·W).
const layer = model("tanhLayer", ({ input, param }) => {
  const x = input("x", [2]);
  const t = input("t", [2]);
  const W = param("W", [2, 2], { init: "xavier" });
  return { loss: nn.leastSquares(nn.tanh(x.reshape([1, 2]).matmul(W).reshape([2])).sub(t)) };
});

function layerData(): Fields {
  const random = mulberry32(23);
  return { x: new Float64Array(16 * 2).map(() => 2 * random() - 1), t: new Float64Array(16 * 2).map(() => random()) };
}

/** G·V by hand (row-major W and V). */
function gaussNewtonByHand(data: Fields, W: ArrayLike<number>, V: ArrayLike<number>): number[] {
  const count = data.x!.length / 2;
  const out = [0, 0, 0, 0];
  for (let e = 0; e < count; e++) {
    const x = [data.x![2 * e]!, data.x![2 * e + 1]!];
    for (let k = 0; k < 2; k++) {
      const h = Math.tanh(x[0]! * W[k]! + x[1]! * W[2 + k]!);
      const jv = (1 - h * h) * (x[0]! * V[k]! + x[1]! * V[2 + k]!);
      for (let i = 0; i < 2; i++) out[2 * i + k]! += ((1 - h * h) * x[i]! * jv) / count;
    }
  }
  return out;
}

describe("Gauss–Newton-vector products", () => {
  it("hessian-free on nn.leastSquares computes JᵀJv/n, not Hv", async () => {
    const data = layerData();
    const hf = (await loadGenerated(layer, 16, { optimizer: hessianFree() })).createTrainer({
      seed: 3,
    }) as SecondOrderTrainer;
    const exact = (await loadGenerated(layer, 16, { optimizer: newton() })).createTrainer({
      seed: 3,
    }) as SecondOrderTrainer;
    const V = [0.3, -0.7, 0.5, 0.2];
    for (const trainer of [hf, exact]) {
      trainer.state.buffers["W.direction"]!.set(V);
      trainer.hessianVector(data);
    }
    const expected = gaussNewtonByHand(data, hf.params.W!, V);
    const got = [...hf.state.buffers["W.product"]!];
    got.forEach((value, i) => expect(Math.abs(value - expected[i]!)).toBeLessThan(1e-14));
    // newton keeps the full Hessian, which differs by Σ r·∇²r (the residuals are not small here)
    const hessian = [...exact.state.buffers["W.product"]!];
    expect(Math.max(...hessian.map((value, i) => Math.abs(value - expected[i]!)))).toBeGreaterThan(1e-3);
  });

  it("levenberg-marquardt's products are the same Gauss–Newton products", async () => {
    const data = decayData();
    const trainer = (
      await loadGenerated(decay, n, { optimizer: levenbergMarquardt() })
    ).createTrainer() as SecondOrderTrainer;
    const v = { a: 0.4, b: -1.1, c: 0.7 };
    for (const [name, value] of Object.entries(v)) trainer.state.buffers[`${name}.direction`]![0] = value;
    trainer.hessianVector(data);
    // J·v per example with the analytic Jacobian at a = 1, b = 0.5, c = 0, then Jᵀ(J·v)/n
    const expected = [0, 0, 0];
    data.x!.forEach((x) => {
      const row = [Math.exp(-0.5 * x), -x * Math.exp(-0.5 * x), 1];
      const jv = row[0]! * v.a + row[1]! * v.b + row[2]! * v.c;
      row.forEach((entry, i) => (expected[i]! += (entry * jv) / n));
    });
    ["a", "b", "c"].forEach((name, i) =>
      expect(Math.abs(trainer.state.buffers[`${name}.product`]![0]! - expected[i]!)).toBeLessThan(1e-14),
    );
  });
});
