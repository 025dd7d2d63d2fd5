// A hand-written trainer implementing TrainerLike: y = x·W + b, loss ½‖y − t‖² averaged over n,
// SGD with momentum (state "W.v", "b.v"), so the runtime can be tested without generated code.
import type { TrainerLike, Real } from "../../src/runtime/trainer.ts";
import { createRandom } from "../../src/runtime/data.ts";

export interface LinearOptions {
  features: number;
  outputs: number;
  batch: number;
  dtype?: "f32" | "f64";
  learningRate?: number;
  momentum?: number;
  seed?: number;
  model?: string;
  structureHash?: string;
}

export interface LinearTrainer extends TrainerLike {
  /** n of every step() call, for tests. */
  readonly stepCounts: number[];
  snapshots: number;
  restores: number;
}

export function createLinearTrainer(options: LinearOptions): LinearTrainer {
  const { features: d, outputs: k, batch } = options;
  const dtype = options.dtype ?? "f64";
  const ArrayType = dtype === "f64" ? Float64Array : Float32Array;
  const alpha = options.momentum ?? 0.5;
  const random = createRandom(options.seed ?? 1);
  const W = new ArrayType(d * k).map(() => (random() * 2 - 1) * 0.1);
  const b = new ArrayType(k);
  const gW = new Float64Array(d * k);
  const gb = new Float64Array(k);
  const buffers = { "W.v": new ArrayType(d * k), "b.v": new ArrayType(k) };
  const saved = {
    W: new ArrayType(d * k),
    b: new ArrayType(k),
    Wv: new ArrayType(d * k),
    bv: new ArrayType(k),
    step: 0,
  };
  const y = new ArrayType(batch * k);
  const stepCounts: number[] = [];

  const forward = (x: Real, n: number) => {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        let sum = b[c]!;
        for (let j = 0; j < d; j++) sum += x[i * d + j]! * W[j * k + c]!;
        y[i * k + c] = sum;
      }
    }
  };
  const lossOf = (t: Real, n: number) => {
    let sum = 0;
    for (let i = 0; i < n * k; i++) sum += 0.5 * (y[i]! - t[i]!) ** 2;
    return sum / n;
  };
  const check = (n: number) => {
    if (!Number.isInteger(n) || n < 1 || n > batch) throw new RangeError(`n = ${n} out of range`);
  };

  const trainer: LinearTrainer = {
    spec: {
      model: options.model ?? "linear",
      batch,
      dtype,
      inputs: { x: [d], t: [k] },
      params: { W: [d, k], b: [k] },
      outputs: { y: [k] },
      optimizer: { kind: "momentum", learningRate: options.learningRate ?? 0.1, alpha },
      structureHash: options.structureHash ?? `linear-${d}-${k}-${dtype}`,
    },
    params: { W, b },
    state: { step: 0, buffers },
    learningRate: options.learningRate ?? 0.1,
    stepCounts,
    snapshots: 0,
    restores: 0,
    setLearningRate(lr) {
      trainer.learningRate = lr;
    },
    loss(data, n = batch) {
      check(n);
      forward(data.x as Real, n);
      return lossOf(data.t as Real, n);
    },
    step(data, n = batch) {
      check(n);
      stepCounts.push(n);
      const x = data.x as Real;
      forward(x, n);
      const loss = lossOf(data.t as Real, n);
      gW.fill(0);
      gb.fill(0);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < k; c++) {
          const delta = (y[i * k + c]! - data.t![i * k + c]!) / n;
          gb[c]! += delta;
          for (let j = 0; j < d; j++) gW[j * k + c]! += x[i * d + j]! * delta;
        }
      }
      const lr = trainer.learningRate;
      for (let i = 0; i < W.length; i++) W[i]! += buffers["W.v"][i] = alpha * buffers["W.v"][i]! - lr * gW[i]!;
      for (let i = 0; i < b.length; i++) b[i]! += buffers["b.v"][i] = alpha * buffers["b.v"][i]! - lr * gb[i]!;
      trainer.state.step++;
      return loss;
    },
    predict(inputs, n = batch) {
      check(n);
      forward(inputs.x as Real, n);
      return { y };
    },
    snapshot() {
      trainer.snapshots++;
      saved.W.set(W);
      saved.b.set(b);
      saved.Wv.set(buffers["W.v"]);
      saved.bv.set(buffers["b.v"]);
      saved.step = trainer.state.step;
    },
    restore() {
      trainer.restores++;
      W.set(saved.W);
      b.set(saved.b);
      buffers["W.v"].set(saved.Wv);
      buffers["b.v"].set(saved.bv);
      trainer.state.step = saved.step;
    },
  };
  return trainer;
}

/** n examples of x ~ U(−1, 1)^d with t = x·A + c + noise (A, c fixed by the seed). */
export function linearData(
  n: number,
  d: number,
  k: number,
  seed = 7,
  noise = 0.01,
): { x: Float64Array; t: Float64Array } {
  const random = createRandom(seed);
  const A = Float64Array.from({ length: d * k }, () => random() * 2 - 1);
  const c = Float64Array.from({ length: k }, () => random() - 0.5);
  const x = Float64Array.from({ length: n * d }, () => random() * 2 - 1);
  const t = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < k; o++) {
      let sum = c[o]! + (random() - 0.5) * 2 * noise;
      for (let j = 0; j < d; j++) sum += x[i * d + j]! * A[j * k + o]!;
      t[i * k + o] = sum;
    }
  }
  return { x, t };
}
