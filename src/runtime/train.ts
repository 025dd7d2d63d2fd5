// gradgen/train: the loop around a generated trainer. fit() runs epochs of shuffled mini-batches,
// evaluates validation loss and metrics, stops early keeping the best parameters, and shows a
// progress bar on a terminal. Generated modules never import this.

import cliProgress from "cli-progress";
import { GradgenError } from "../errors.js";
import { argmaxRow, Batcher, countExamples } from "./data.js";
import {
  arrayTypeOf,
  ownField,
  setOwn,
  sizeOf,
  type Dataset,
  type Field,
  type Real,
  type TrainerLike,
} from "./trainer.js";

export type { Dataset, Field, OptimizerState, Real, TrainerLike, TrainerSpec } from "./trainer.js";
export {
  save,
  load,
  encodeCheckpoint,
  decodeCheckpoint,
  readCheckpointInfo,
  type CheckpointInfo,
  type CheckpointTensor,
} from "./checkpoint.js";
export { lineChart, lossChart, panelChart, palette, type ChartOptions, type Panel, type Series } from "./plot.js";

// ---------------------------------------------------------------------------------------------
// Metrics

/** Values per example of each output and each data field, given to Metric.reset. */
export interface MetricContext {
  readonly outputSizes: Readonly<Record<string, number>>;
  readonly fieldSizes: Readonly<Record<string, number>>;
}

/** A quantity accumulated batch by batch over a data set (no allocation per batch). */
export interface Metric {
  readonly name: string;
  /** Whether larger is better. */
  readonly higherIsBetter: boolean;
  /** Start a new pass over data whose per-example sizes are given. */
  reset(context: MetricContext): void;
  /** `outputs` from trainer.predict on `batch`; the first n examples of each are valid. */
  update(outputs: Readonly<Record<string, Real>>, batch: Readonly<Record<string, Field>>, n: number): void;
  /** The value over everything since reset(). */
  value(): number;
}

function metricSizes(context: MetricContext, output: string, target: string, metric: string): [number, number] {
  const outputSize = ownField(context.outputSizes, output);
  const targetSize = ownField(context.fieldSizes, target);
  if (outputSize === undefined) {
    throw new GradgenError(
      `${metric}: the trainer has no output "${output}" (it has ${Object.keys(context.outputSizes).join(", ") || "none"}).`,
    );
  }
  if (targetSize === undefined) {
    throw new GradgenError(
      `${metric}: the data has no field "${target}" (it has ${Object.keys(context.fieldSizes).join(", ") || "none"}).`,
    );
  }
  return [outputSize, targetSize];
}

/**
 * Fraction of examples classified correctly. With several output units: argmax of the output
 * against the argmax of a one-hot target (or against an integer label, for a target of one value
 * per example). With one output unit: output ≥ threshold (default 0.5) against target ≥ 0.5.
 */
export function accuracy(options: { output: string; target: string; name?: string; threshold?: number }): Metric {
  const { output, target } = options;
  const threshold = options.threshold ?? 0.5;
  let classes = 0;
  let labels = false;
  let correct = 0;
  let total = 0;
  return {
    name: options.name ?? "accuracy",
    higherIsBetter: true,
    reset(context) {
      const [outputSize, targetSize] = metricSizes(context, output, target, "accuracy");
      if (targetSize !== outputSize && targetSize !== 1) {
        throw new GradgenError(
          `accuracy: output "${output}" has ${outputSize} values per example but target "${target}" has ${targetSize}; ` +
            `the target must be one-hot (${outputSize} values) or a class index (1 value).`,
        );
      }
      classes = outputSize;
      labels = targetSize === 1 && outputSize > 1;
      correct = 0;
      total = 0;
    },
    update(outputs, batch, n) {
      const y = outputs[output]!;
      const t = batch[target]!;
      for (let i = 0; i < n; i++) {
        let hit: boolean;
        if (classes === 1) hit = y[i]! >= threshold === t[i]! >= 0.5;
        else if (labels) hit = argmaxRow(y, i * classes, classes) === t[i];
        else hit = argmaxRow(y, i * classes, classes) === argmaxRow(t, i * classes, classes);
        if (hit) correct++;
      }
      total += n;
    },
    value() {
      return total > 0 ? correct / total : NaN;
    },
  };
}

/** Mean of |output − target| over every value of every example. */
export function meanAbsoluteError(options: { output: string; target: string; name?: string }): Metric {
  const { output, target } = options;
  let size = 0;
  let sum = 0;
  let count = 0;
  return {
    name: options.name ?? "meanAbsoluteError",
    higherIsBetter: false,
    reset(context) {
      const [outputSize, targetSize] = metricSizes(context, output, target, "meanAbsoluteError");
      if (outputSize !== targetSize) {
        throw new GradgenError(
          `meanAbsoluteError: output "${output}" has ${outputSize} values per example, target "${target}" ${targetSize}.`,
        );
      }
      size = outputSize;
      sum = 0;
      count = 0;
    },
    update(outputs, batch, n) {
      const y = outputs[output]!;
      const t = batch[target]!;
      for (let i = 0; i < n * size; i++) sum += Math.abs(y[i]! - t[i]!);
      count += n * size;
    },
    value() {
      return count > 0 ? sum / count : NaN;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Learning-rate schedule

/**
 * Linear decay of the learning rate: εk = (1 − k/τ)·ε0 + (k/τ)·ετ for k < τ, then ετ
 * (Goodfellow et al., §8.3.1). Use it as fit's `learningRate`, or from onStep / onEpoch.
 */
export function linearDecay(options: { initial: number; final: number; steps: number }): (k: number) => number {
  const { initial, final, steps } = options;
  if (!(steps > 0)) throw new GradgenError(`linearDecay: steps (τ) = ${steps} must be positive.`);
  return (k) => {
    if (k >= steps) return final;
    const alpha = Math.max(k, 0) / steps;
    return (1 - alpha) * initial + alpha * final;
  };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export interface Evaluation {
  /** Mean loss over every example (no dropout). */
  readonly loss: number;
  readonly metrics: Record<string, number>;
}

/** Mean loss and metrics of the trainer's current parameters over all of `data`. */
export function evaluate(
  trainer: TrainerLike,
  data: Dataset,
  options: { batchSize?: number; metrics?: readonly Metric[] } = {},
): Evaluation {
  const batcher = datasetBatcher(trainer, data, options.batchSize ?? trainer.spec.batch, false, 0, "evaluate");
  return evaluateBatches(trainer, batcher, options.metrics ?? []);
}

function evaluateBatches(trainer: TrainerLike, batcher: Batcher, metrics: readonly Metric[]): Evaluation {
  const context: MetricContext = { outputSizes: outputSizes(trainer), fieldSizes: batcher.sizes };
  for (const metric of metrics) metric.reset(context);
  let sum = 0;
  batcher.startEpoch();
  for (let n = batcher.nextBatch(); n > 0; n = batcher.nextBatch()) {
    sum += trainer.loss(batcher.batch, n) * n;
    if (metrics.length > 0) {
      const outputs = trainer.predict(batcher.batch, n);
      for (const metric of metrics) metric.update(outputs, batcher.batch, n);
    }
  }
  const values: Record<string, number> = {};
  for (const metric of metrics) setOwn(values, metric.name, metric.value());
  return { loss: sum / batcher.count, metrics: values };
}

function outputSizes(trainer: TrainerLike): Record<string, number> {
  return Object.fromEntries(Object.entries(trainer.spec.outputs).map(([name, shape]) => [name, sizeOf(shape)]));
}

/** A batcher over `data` for this trainer: every model input present, sizes from the spec. */
function datasetBatcher(
  trainer: TrainerLike,
  data: Dataset,
  batchSize: number,
  shuffle: boolean,
  seed: number,
  what: string,
): Batcher {
  const spec = trainer.spec;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > spec.batch) {
    throw new GradgenError(
      `${what}: batchSize = ${batchSize} must be an integer from 1 to the compiled batch size ${spec.batch} of model "${spec.model}".`,
    );
  }
  const sizes: Record<string, number> = {};
  for (const [name, shape] of Object.entries(spec.inputs)) {
    if (ownField(data, name) === undefined) {
      throw new GradgenError(
        `${what}: the data has no field "${name}", an input of model "${spec.model}" (the data has ${Object.keys(data).join(", ") || "no fields"}).`,
      );
    }
    setOwn(sizes, name, sizeOf(shape));
  }
  const count = countExamples(data, sizes, what);
  if (count === 0) throw new GradgenError(`${what}: the data holds no examples.`);
  return new Batcher(data, { batchSize, count, sizes, shuffle, seed, dtype: spec.dtype });
}

// ---------------------------------------------------------------------------------------------
// fit

export interface EarlyStopping {
  /** Epochs without an improvement of the validation loss before stopping. */
  readonly patience: number;
  /** Smallest decrease that counts as an improvement. Default 0. */
  readonly minDelta?: number;
}

export interface EpochRecord {
  /** From 1. */
  readonly epoch: number;
  /** Mean training loss of the epoch's steps (each before its update, with dropout). */
  readonly loss: number;
  /** Mean loss on the validation data after the epoch; undefined without validation data. */
  readonly validationLoss: number | undefined;
  /** Metrics on the training data after the epoch (when evaluateTraining). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Metrics on the validation data after the epoch. */
  readonly validationMetrics: Readonly<Record<string, number>>;
  /** Learning rate at the end of the epoch. */
  readonly learningRate: number;
  /** Optimizer updates applied so far (trainer.state.step). */
  readonly step: number;
  readonly seconds: number;
}

export interface History {
  readonly epochs: EpochRecord[];
  /** Per epoch, as in the records. */
  readonly loss: number[];
  readonly validationLoss: number[];
  readonly metrics: Record<string, number[]>;
  readonly validationMetrics: Record<string, number[]>;
  /** Epoch of the lowest validation loss (whose parameters early stopping kept). */
  bestEpoch: number | undefined;
  /** Whether early stopping (or onEpoch returning false) ended training before `epochs`. */
  stoppedEarly: boolean;
}

export interface FitOptions {
  readonly epochs: number;
  /** Examples per step, at most the compiled batch (the default). */
  readonly batchSize?: number;
  /** A new seeded order of the training examples every epoch. Default true. */
  readonly shuffle?: boolean;
  /** Seed of the shuffling. Default 0. */
  readonly seed?: number;
  /** Held-out data with the same fields as the training data. */
  readonly validation?: Dataset;
  /** Evaluated after every epoch, e.g. [accuracy({ output: "y", target: "t" })]. */
  readonly metrics?: readonly Metric[];
  /** Also evaluate metrics on the training data after every epoch (one predict pass). Default true. */
  readonly evaluateTraining?: boolean;
  /** Stop when the validation loss stops improving and keep the best parameters (needs validation). */
  readonly earlyStopping?: EarlyStopping;
  /** Learning rate before each step as a function of k = trainer.state.step, e.g. linearDecay(…). */
  readonly learningRate?: (k: number) => number;
  /** After each step, with the step's loss. */
  readonly onStep?: (step: number, loss: number, trainer: TrainerLike) => void;
  /** After each epoch's evaluation; return false to stop training. */
  readonly onEpoch?: (record: EpochRecord, trainer: TrainerLike) => void | boolean;
  /** Progress bar: default on when stdout is a terminal; true forces it on stdout; or a stream. */
  readonly progress?: boolean | NodeJS.WritableStream;
}

/**
 * Thrown by fit() at the first non-finite loss (training or validation) or non-finite parameter.
 * The trainer already holds the last good parameters again: fit restored its last snapshot.
 */
export class TrainingDivergedError extends GradgenError {
  constructor(
    message: string,
    /** Epoch (from 1) in which training diverged. */
    readonly epoch: number,
    /** Optimizer steps applied when it was noticed (trainer.state.step then; restore() set it back). */
    readonly step: number,
    /** The non-finite value: the step's loss, the validation loss, or the parameter value. */
    readonly loss: number,
    /** The epoch whose parameters the trainer holds again (0: those fit started from). */
    readonly restoredEpoch: number,
    /** The epochs completed before it. */
    readonly history: History,
  ) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}

/**
 * Train for `epochs` passes over `data` (fields named as the model's inputs, example-major) and
 * return the history. Batches are copied into buffers allocated once, so the loop allocates
 * nothing per step; early stopping keeps the best parameters with trainer.snapshot()/restore().
 *
 * fit owns the trainer's one snapshot slot: it snapshots the starting parameters, then the
 * parameters after every epoch that stayed finite (with earlyStopping: after every improvement
 * only). At the first non-finite training loss, validation loss or parameter it restores that
 * snapshot and throws a TrainingDivergedError naming the epoch, the step and the value.
 */
export function fit(trainer: TrainerLike, data: Dataset, options: FitOptions): History {
  const { epochs, earlyStopping } = options;
  if (!Number.isInteger(epochs) || epochs < 0)
    throw new GradgenError(`fit: epochs = ${epochs} must be a non-negative integer.`);
  if (earlyStopping) {
    if (options.validation === undefined) {
      throw new GradgenError(
        "fit: earlyStopping watches the validation loss; pass validation data (fit(trainer, data, { validation, earlyStopping })).",
      );
    }
    if (!Number.isInteger(earlyStopping.patience) || earlyStopping.patience < 1) {
      throw new GradgenError(
        `fit: earlyStopping.patience = ${earlyStopping.patience} must be a positive integer (epochs).`,
      );
    }
  }
  const batchSize = options.batchSize ?? trainer.spec.batch;
  const training = datasetBatcher(trainer, data, batchSize, options.shuffle ?? true, options.seed ?? 0, "fit");
  const metrics = options.metrics ?? [];
  const trainingEvaluation =
    metrics.length > 0 && (options.evaluateTraining ?? true)
      ? datasetBatcher(trainer, data, batchSize, false, 0, "fit")
      : undefined;
  const validation =
    options.validation && datasetBatcher(trainer, options.validation, batchSize, false, 0, "fit (validation data)");

  const history: History = {
    epochs: [],
    loss: [],
    validationLoss: [],
    metrics: {},
    validationMetrics: {},
    bestEpoch: undefined,
    stoppedEarly: false,
  };
  for (const metric of metrics) {
    setOwn(history.metrics, metric.name, []);
    setOwn(history.validationMetrics, metric.name, []);
  }
  const bar = createProgressBar(options.progress, trainer.spec.model, epochs, training.batchesPerEpoch);
  let best = Infinity;
  let epochsWithoutImprovement = 0;
  // The epoch whose parameters the snapshot holds: restored if training diverges.
  let snapshotEpoch = 0;
  const divergence: Divergence = { batch: 0, loss: 0 };
  const diverged = (epoch: number, what: string, value: number): never => {
    const step = trainer.state.step;
    trainer.restore();
    const restored =
      snapshotEpoch === 0 ? "the parameters fit started from" : `the parameters of the end of epoch ${snapshotEpoch}`;
    throw new TrainingDivergedError(
      `fit: training diverged at epoch ${epoch}, step ${step}: ${what} is ${value}. The trainer holds ${restored} again ` +
        `(fit restored its last finite snapshot). Lower the learning rate (it was ${trainer.learningRate}), ` +
        `or check the data for NaN or infinite values, and fit again.`,
      epoch,
      step,
      value,
      snapshotEpoch,
      history,
    );
  };
  if (epochs > 0) trainer.snapshot();
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      if (bar) bar.payload.epoch = epoch;
      const trainingLoss = trainEpoch(trainer, training, options.learningRate, options.onStep, bar, divergence);
      if (divergence.batch > 0) {
        diverged(
          epoch,
          `the loss of batch ${divergence.batch} of ${training.batchesPerEpoch} (before its update)`,
          divergence.loss,
        );
      }
      const badParameter = firstNonFinite(trainer.params);
      if (badParameter)
        diverged(epoch, `parameter "${badParameter.name}" after the epoch's last update`, badParameter.value);
      const trainingMetrics = trainingEvaluation ? evaluateBatches(trainer, trainingEvaluation, metrics).metrics : {};
      const validated = validation ? evaluateBatches(trainer, validation, metrics) : undefined;
      if (validated && !Number.isFinite(validated.loss)) diverged(epoch, "the validation loss", validated.loss);
      const record: EpochRecord = {
        epoch,
        loss: trainingLoss,
        validationLoss: validated?.loss,
        metrics: trainingMetrics,
        validationMetrics: validated?.metrics ?? {},
        learningRate: trainer.learningRate,
        step: trainer.state.step,
        seconds: (performance.now() - started) / 1000,
      };
      history.epochs.push(record);
      history.loss.push(record.loss);
      if (validated) history.validationLoss.push(validated.loss);
      for (const [name, value] of Object.entries(record.metrics)) history.metrics[name]!.push(value);
      for (const [name, value] of Object.entries(record.validationMetrics))
        history.validationMetrics[name]!.push(value);
      if (bar) bar.endEpoch(record);

      let stop = false;
      if (validated && validated.loss < best - (earlyStopping?.minDelta ?? 0)) {
        best = validated.loss;
        history.bestEpoch = epoch;
        epochsWithoutImprovement = 0;
        if (earlyStopping) {
          trainer.snapshot();
          snapshotEpoch = epoch;
        }
      } else if (earlyStopping && ++epochsWithoutImprovement >= earlyStopping.patience) {
        stop = true;
      }
      if (!earlyStopping) {
        trainer.snapshot();
        snapshotEpoch = epoch;
      }
      if (options.onEpoch?.(record, trainer) === false) stop = true;
      if (stop && epoch < epochs) {
        history.stoppedEarly = true;
        break;
      }
    }
    if (earlyStopping && history.bestEpoch !== undefined && history.bestEpoch !== history.epochs.length)
      trainer.restore();
  } finally {
    bar?.stop();
  }
  return history;
}

/** Where an epoch met a non-finite loss: batch (from 1; 0 while none) and the loss. */
interface Divergence {
  batch: number;
  loss: number;
}

/** The first parameter holding NaN or ±∞, with that value. */
function firstNonFinite(params: Readonly<Record<string, Real>>): { name: string; value: number } | undefined {
  for (const [name, values] of Object.entries(params)) {
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return { name, value: values[i]! };
  }
  return undefined;
}

/**
 * One pass of optimizer steps over the batches; the mean loss. It stops at the first non-finite
 * loss and notes it in `divergence`. A small function, so it is optimized early.
 */
function trainEpoch(
  trainer: TrainerLike,
  batches: Batcher,
  schedule: FitOptions["learningRate"],
  onStep: FitOptions["onStep"],
  bar: ProgressBar | undefined,
  divergence: Divergence,
): number {
  let lossSum = 0;
  let seen = 0;
  let index = 0;
  divergence.batch = 0;
  batches.startEpoch();
  for (let n = batches.nextBatch(); n > 0; n = batches.nextBatch()) {
    if (schedule) trainer.setLearningRate(schedule(trainer.state.step));
    const loss = trainer.step(batches.batch, n);
    index++;
    if (!Number.isFinite(loss)) {
      divergence.batch = index;
      divergence.loss = loss;
      return NaN;
    }
    lossSum += loss * n;
    seen += n;
    if (onStep) onStep(trainer.state.step, loss, trainer);
    if (bar) bar.advance(lossSum / seen);
  }
  return lossSum / seen;
}

// ---------------------------------------------------------------------------------------------
// Progress bar

interface ProgressPayload {
  model: string;
  epoch: number;
  epochs: number;
  loss: number;
  validationLoss: number | undefined;
  metric: string;
}

interface ProgressBar {
  readonly payload: ProgressPayload;
  advance(runningLoss: number): void;
  endEpoch(record: EpochRecord): void;
  stop(): void;
}

const NO_PAYLOAD = {};

function createProgressBar(
  setting: FitOptions["progress"],
  model: string,
  epochs: number,
  batchesPerEpoch: number,
): ProgressBar | undefined {
  const stream =
    setting === undefined
      ? process.stdout.isTTY
        ? process.stdout
        : undefined
      : setting === true
        ? process.stdout
        : setting || undefined;
  const total = epochs * batchesPerEpoch;
  if (!stream || total === 0) return undefined;
  // cli-progress allocates on every update (its ETA buffer), so it hears of at most ~100 steps an epoch.
  const stride = Math.max(1, Math.floor(batchesPerEpoch / 100));
  let sinceUpdate = 0;
  const payload: ProgressPayload = { model, epoch: 1, epochs, loss: NaN, validationLoss: undefined, metric: "" };
  const bar = new cliProgress.SingleBar({
    stream,
    noTTYOutput: true,
    hideCursor: null,
    barsize: 24,
    // Formatting happens at render time only (a few times a second), never per step.
    format: (options, params, p: ProgressPayload) => {
      const bar = cliProgress.Format.BarFormat(params.progress, options);
      const eta =
        params.eta > 0 && Number.isFinite(params.eta)
          ? ` | eta ${cliProgress.Format.TimeFormat(params.eta, options, 1)}`
          : "";
      const validation = p.validationLoss === undefined ? "" : ` | val ${p.validationLoss.toPrecision(4)}`;
      return `${p.model} epoch ${p.epoch}/${p.epochs} ${bar} | loss ${Number.isNaN(p.loss) ? "…" : p.loss.toPrecision(4)}${validation}${p.metric}${eta}`;
    },
  });
  let value = 0;
  bar.start(total, 0, payload);
  return {
    payload,
    advance(runningLoss) {
      payload.loss = runningLoss;
      value++;
      if (++sinceUpdate >= stride) {
        sinceUpdate = 0;
        bar.update(value, NO_PAYLOAD);
      }
    },
    endEpoch(record) {
      payload.loss = record.loss;
      payload.validationLoss = record.validationLoss;
      const shown = Object.keys(record.validationMetrics).length > 0 ? record.validationMetrics : record.metrics;
      payload.metric = Object.entries(shown)
        .map(([name, v]) => ` | ${name} ${v.toPrecision(4)}`)
        .join("");
      bar.update(value, NO_PAYLOAD);
    },
    stop() {
      bar.update(value, NO_PAYLOAD);
      bar.stop();
    },
  };
}

/** Buffers of the trainer's dtype for `count` examples of each input (e.g. to assemble data sets). */
export function allocateInputs(trainer: TrainerLike, count: number): Dataset {
  const ArrayType = arrayTypeOf(trainer.spec.dtype);
  return Object.fromEntries(
    Object.entries(trainer.spec.inputs).map(([name, shape]) => [name, new ArrayType(count * sizeOf(shape))]),
  );
}
