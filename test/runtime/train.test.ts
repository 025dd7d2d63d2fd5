// gradgen/train: fit's loop, history, metrics, early stopping, schedules and progress output.
import { PassThrough } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import {
  accuracy,
  evaluate,
  fit,
  linearDecay,
  meanAbsoluteError,
  TrainingDivergedError,
  type EpochRecord,
} from "../../src/runtime/train.ts";
import { model, nn } from "gradgen";
import { loadGenerated } from "../support/load-generated.js";
import { createRandom, oneHot } from "../../src/runtime/data.ts";
import { GradgenError } from "../../src/errors.ts";
import { createLinearTrainer, linearData } from "./linear-trainer.ts";

describe("linearDecay", () => {
  it("interpolates εk = (1 − k/τ)·ε0 + (k/τ)·ετ and stays at ετ after τ", () => {
    const rate = linearDecay({ initial: 0.1, final: 0.001, steps: 100 });
    expect(rate(0)).toBe(0.1);
    expect(rate(25)).toBeCloseTo(0.75 * 0.1 + 0.25 * 0.001, 15);
    expect(rate(50)).toBeCloseTo(0.0505, 15);
    expect(rate(100)).toBe(0.001);
    expect(rate(1e6)).toBe(0.001);
    expect(() => linearDecay({ initial: 1, final: 0, steps: 0 })).toThrow(/steps \(τ\) = 0 must be positive/);
  });
});

describe("fit", () => {
  const d = 3;
  const k = 2;
  const train = linearData(50, d, k, 7);
  const held = linearData(20, d, k, 7);

  it("trains: the loss falls, batches cover the data with a short last batch, history is per epoch", () => {
    const trainer = createLinearTrainer({ features: d, outputs: k, batch: 16, learningRate: 0.2 });
    const history = fit(trainer, train, { epochs: 30, validation: held, progress: false });
    expect(trainer.stepCounts.slice(0, 4)).toEqual([16, 16, 16, 2]);
    expect(trainer.state.step).toBe(120);
    expect(history.epochs.length).toBe(30);
    expect(history.loss.length).toBe(30);
    expect(history.validationLoss.length).toBe(30);
    expect(history.loss[29]).toBeLessThan(history.loss[0]! / 20);
    expect(history.validationLoss[29]).toBeLessThan(1e-3);
    expect(history.stoppedEarly).toBe(false);
    expect(history.epochs[29]).toMatchObject({ epoch: 30, step: 120, learningRate: 0.2 });
    // The validation loss reported is evaluate()'s on the final parameters.
    expect(evaluate(trainer, held).loss).toBeCloseTo(history.validationLoss[29]!, 12);
  });

  it("is deterministic for a seed and shuffles differently for another", () => {
    const run = (seed: number) =>
      fit(createLinearTrainer({ features: d, outputs: k, batch: 8 }), train, { epochs: 3, seed, progress: false }).loss;
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
  });

  it("computes metrics on training and validation data: accuracy from a one-hot target", () => {
    // Three well-separated clusters, targets one-hot: a linear least-squares classifier gets them all.
    const random = createRandom(4);
    const make = (n: number) => {
      const labels = Array.from({ length: n }, (_, i) => i % 3);
      const x = new Float64Array(n * 2);
      labels.forEach((label, i) => {
        x[2 * i] = [0, 4, 0][label]! + random() - 0.5;
        x[2 * i + 1] = [0, 0, 4][label]! + random() - 0.5;
      });
      return { x, t: oneHot(labels, 3, new Float64Array(n * 3)), label: Float64Array.from(labels) };
    };
    const trainer = createLinearTrainer({ features: 2, outputs: 3, batch: 10, learningRate: 0.05 });
    const history = fit(trainer, make(60), {
      epochs: 40,
      validation: make(30),
      metrics: [
        accuracy({ output: "y", target: "t" }),
        accuracy({ output: "y", target: "label", name: "labelAccuracy" }),
        meanAbsoluteError({ output: "y", target: "t" }),
      ],
      progress: false,
    });
    expect(history.metrics.accuracy![39]).toBe(1);
    expect(history.validationMetrics.accuracy![39]).toBe(1);
    expect(history.validationMetrics.labelAccuracy).toEqual(history.validationMetrics.accuracy);
    expect(history.validationMetrics.meanAbsoluteError![39]).toBeLessThan(
      history.validationMetrics.meanAbsoluteError![0]!,
    );
    expect(history.metrics.accuracy![0]).toBeLessThanOrEqual(1);
    expect(() => evaluate(trainer, make(5), { metrics: [accuracy({ output: "z", target: "t" })] })).toThrow(
      /no output "z" \(it has y\)/,
    );
  });

  it("early stopping stops after `patience` epochs without improvement and restores the best parameters", () => {
    // Validation targets are 0.3 × the true ones: the validation loss falls while the outputs grow
    // from ≈0 towards them, then rises as training overshoots towards the training targets.
    const trainer = createLinearTrainer({ features: d, outputs: k, batch: 10, learningRate: 0.02, seed: 2 });
    const shrunk = { x: held.x, t: held.t.map((v) => 0.3 * v) };
    const parameters: number[][] = [];
    const history = fit(trainer, train, {
      epochs: 50,
      validation: shrunk,
      earlyStopping: { patience: 3 },
      onEpoch: () => void parameters.push([...trainer.params.W!, ...trainer.params.b!]),
      progress: false,
    });
    const best = history.bestEpoch!;
    expect(best).toBeGreaterThan(2);
    expect(history.stoppedEarly).toBe(true);
    expect(history.epochs.length).toBe(best + 3);
    const minimum = Math.min(...history.validationLoss);
    expect(history.validationLoss[best - 1]).toBe(minimum);
    expect([...trainer.params.W!, ...trainer.params.b!]).toEqual(parameters[best - 1]);
    expect(trainer.restores).toBe(1);
    // One snapshot of the starting parameters (restored should training diverge), then one per improvement.
    expect(trainer.snapshots).toBe(best + 1);
    expect(trainer.state.step).toBe(best * 5);
  });

  it("minDelta: smaller improvements do not count", () => {
    const trainer = createLinearTrainer({ features: d, outputs: k, batch: 10, learningRate: 0.2 });
    const history = fit(trainer, train, {
      epochs: 40,
      validation: held,
      earlyStopping: { patience: 2, minDelta: 1e-2 },
      progress: false,
    });
    expect(history.stoppedEarly).toBe(true);
    expect(history.epochs.length).toBe(history.bestEpoch! + 2);
  });

  it("applies a learning-rate schedule per step and calls onStep / onEpoch; onEpoch returning false stops", () => {
    const trainer = createLinearTrainer({ features: d, outputs: k, batch: 25 });
    const schedule = linearDecay({ initial: 0.1, final: 0.01, steps: 4 });
    const seen: [number, number][] = [];
    const records: EpochRecord[] = [];
    const history = fit(trainer, train, {
      epochs: 10,
      learningRate: schedule,
      onStep: (step, _loss, t) => void seen.push([step, t.learningRate]),
      onEpoch: (record) => (records.push(record), record.epoch < 3),
      progress: false,
    });
    expect(seen).toEqual([
      [1, 0.1],
      [2, schedule(1)],
      [3, schedule(2)],
      [4, schedule(3)],
      [5, 0.01],
      [6, 0.01],
    ]);
    expect(records.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(history.stoppedEarly).toBe(true);
  });

  it("draws a progress bar on a given stream, and nothing on a non-terminal stdout by default", () => {
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (chunk) => (text += chunk));
    const trainer = createLinearTrainer({ features: d, outputs: k, batch: 10 });
    fit(trainer, train, {
      epochs: 2,
      validation: held,
      metrics: [meanAbsoluteError({ output: "y", target: "t", name: "mae" })],
      progress: stream,
    });
    expect(text).toMatch(/linear epoch 2\/2 .*\| loss \d\.\d+ \| val \d\.\d+ \| mae \d\.\d+/);

    const write = vi.spyOn(process.stdout, "write");
    const tty = process.stdout.isTTY;
    process.stdout.isTTY = false;
    try {
      fit(createLinearTrainer({ features: d, outputs: k, batch: 10 }), train, { epochs: 2 });
      expect(write.mock.calls.filter(([chunk]) => String(chunk).includes("epoch"))).toEqual([]);
    } finally {
      process.stdout.isTTY = tty;
      write.mockRestore();
    }
  });

  it("refuses data and options that do not fit the trainer, in one clear sentence", () => {
    const trainer = createLinearTrainer({ features: d, outputs: k, batch: 10 });
    const run = (data: Record<string, Float64Array>, options: Parameters<typeof fit>[2]) => () =>
      fit(trainer, data, { progress: false, ...options });
    expect(run({ x: train.x }, { epochs: 1 })).toThrow(
      /the data has no field "t", an input of model "linear" \(the data has x\)/,
    );
    expect(run({ x: train.x, t: train.t.subarray(0, 10) }, { epochs: 1 })).toThrow(
      /field "t" holds 5 examples but "x" holds 50/,
    );
    expect(run(train, { epochs: 1, batchSize: 11 })).toThrow(
      /batchSize = 11 must be an integer from 1 to the compiled batch size 10/,
    );
    expect(run(train, { epochs: 1, earlyStopping: { patience: 2 } })).toThrow(GradgenError);
    expect(run(train, { epochs: 1, earlyStopping: { patience: 2 } })).toThrow(/pass validation data/);
    expect(run(train, { epochs: 1, validation: { x: held.x } })).toThrow(
      /fit \(validation data\): the data has no field "t"/,
    );
  });
});

describe("fit on a diverging run", () => {
  const d = 3;
  const k = 2;
  const train = linearData(50, d, k, 7);
  const held = linearData(20, d, k, 7);
  const parametersOf = (trainer: { params: Readonly<Record<string, Float32Array | Float64Array>> }) =>
    Object.values(trainer.params).flatMap((p) => [...p]);

  /** fit, expecting a TrainingDivergedError; with every finite step loss and the parameters after each epoch. */
  function fitUntilDiverged(
    trainer: ReturnType<typeof createLinearTrainer>,
    data: Record<string, Float64Array>,
    options: Partial<Parameters<typeof fit>[2]> = {},
  ) {
    const losses: number[] = [];
    const afterEpoch: number[][] = [];
    const initial = parametersOf(trainer);
    let error: unknown;
    try {
      fit(trainer, data, {
        epochs: 1000,
        shuffle: false,
        progress: false,
        onStep: (_step, loss) => void losses.push(loss),
        onEpoch: () => void afterEpoch.push(parametersOf(trainer)),
        ...options,
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect(error).toBeInstanceOf(GradgenError);
    return { error: error as TrainingDivergedError, losses, afterEpoch, initial };
  }

  it("stops at the first non-finite loss, names epoch, step and loss, and restores the last finite epoch", () => {
    // Gradient descent on a quadratic diverges once the step exceeds 2/λmax of its Hessian: with
    // inputs in (−1, 1)³ λmax is below 4, so ε = 3 with momentum 0.5 grows the error every step,
    // geometrically, until it overflows f64.
    const trainer = createLinearTrainer({ features: d, outputs: k, batch: 10, learningRate: 3 });
    const { error, losses, afterEpoch, initial } = fitUntilDiverged(trainer, train);
    // The step with the non-finite loss comes right after the last one onStep saw, all finite.
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.length).toBeGreaterThan(10);
    expect(error.step).toBe(losses.length + 1);
    expect(error.epoch).toBe(Math.floor(losses.length / 5) + 1); // 5 batches an epoch
    expect(Number.isFinite(error.loss)).toBe(false);
    expect(error.message).toContain(`epoch ${error.epoch}, step ${error.step}`);
    expect(error.message).toContain(`is ${error.loss}`);
    expect(error.message).toMatch(/Lower the learning rate \(it was 3\)/);
    // The error ends fit before the epoch is recorded: the history holds the finite epochs.
    expect(error.history.epochs.length).toBe(error.epoch - 1);
    expect(error.history.loss.every(Number.isFinite)).toBe(true);
    // The trainer holds the parameters of the end of the last finite epoch, and the snapshot stays restorable.
    expect(error.restoredEpoch).toBe(error.epoch - 1);
    expect(error.message).toContain(`the end of epoch ${error.restoredEpoch}`);
    const expected = error.restoredEpoch === 0 ? initial : afterEpoch[error.restoredEpoch - 1]!;
    expect(parametersOf(trainer)).toEqual(expected);
    expect(parametersOf(trainer).every(Number.isFinite)).toBe(true);
    expect(trainer.state.step).toBe(5 * error.restoredEpoch);
    trainer.step({ x: train.x.subarray(0, 10 * d), t: train.t.subarray(0, 10 * k) });
    trainer.restore();
    expect(parametersOf(trainer)).toEqual(expected);
  });

  it("a NaN in the data stops the first epoch and brings back the starting parameters", () => {
    const trainer = createLinearTrainer({ features: d, outputs: k, batch: 10, learningRate: 0.1 });
    const x = Float64Array.from(train.x);
    x[23 * d + 1] = Number.NaN; // example 23: batch 3
    const { error, losses, initial } = fitUntilDiverged(trainer, { x, t: train.t });
    expect(losses.length).toBe(2);
    expect(error).toMatchObject({ epoch: 1, step: 3, restoredEpoch: 0 });
    expect(error.loss).toBeNaN();
    expect(error.message).toMatch(/batch 3 of 5 .* is NaN/);
    expect(error.message).toContain("the parameters fit started from");
    expect(parametersOf(trainer)).toEqual(initial);
    expect(trainer.state.step).toBe(0);
  });

  it("with early stopping it restores the best epoch's parameters", () => {
    // Ten steps (two epochs) at a stable rate, then one far beyond 2/λmax.
    const trainer = createLinearTrainer({ features: d, outputs: k, batch: 10, learningRate: 0.05 });
    const { error, afterEpoch } = fitUntilDiverged(trainer, train, {
      validation: held,
      earlyStopping: { patience: 1000 },
      learningRate: (step) => (step < 10 ? 0.05 : 5),
    });
    const best = error.history.bestEpoch!;
    expect(best).toBeGreaterThanOrEqual(2);
    expect(error.restoredEpoch).toBe(best);
    expect(parametersOf(trainer)).toEqual(afterEpoch[best - 1]);
  });

  it("a generated trainer with a learning rate far too large (f64, sgd)", async () => {
    const net = model("diverging", ({ input, param }) => {
      const x = input("x", [3]);
      const t = input("t", [2]);
      const W = param("W", [3, 2], { init: 0.1 });
      const b = param("b", [2]);
      return { loss: nn.halfSquaredError(x.matmul(W).add(b), t) };
    });
    const { createTrainer } = await loadGenerated(net, 10, { optimizer: "sgd", learningRate: 100 });
    const trainer = createTrainer();
    const initial = parametersOf(trainer);
    let error: unknown;
    try {
      fit(trainer as never, train, { epochs: 1000, progress: false });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TrainingDivergedError);
    const { epoch, restoredEpoch } = error as TrainingDivergedError;
    expect(restoredEpoch).toBe(epoch - 1);
    expect(parametersOf(trainer).every(Number.isFinite)).toBe(true);
    if (restoredEpoch === 0) expect(parametersOf(trainer)).toEqual(initial);
    else expect(trainer.state.step).toBe(5 * restoredEpoch);
  });
});
