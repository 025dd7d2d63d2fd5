{{header}}
// This module imports nothing and evaluates no strings: it runs in Node, browsers under strict CSP and workers.

/** Storage of every parameter, gradient and output. */
export type Real = {{arrayType}};
/** A batch field: example-major values, n × (size of one example). */
export type Values = Float32Array | Float64Array;

export type InputName = {{inputNameUnion}};
export type ParamName = {{paramNameUnion}};
export type OutputName = {{outputNameUnion}};
export type Batch = { readonly [K in InputName]: Values };
export type PredictInputs = { readonly [K in {{predictInputUnion}}]: Values };

export const spec = {{spec}} as const;

export interface TrainerOptions {
  /** Seed of the parameter initialisers; the same seed gives the same parameters everywhere. */
  readonly seed?: number;
  /** Initial values that replace the initialisers, row-major. */
  readonly params?: Partial<Record<ParamName, ArrayLike<number>>>;
}

export interface Trainer {
  readonly spec: typeof spec;
  readonly params: Record<ParamName, Real>;
  readonly grads: Record<ParamName, Real>;
  readonly inputGrads: Record<{{inputGradUnion}}, Real>;
  learningRate: number;
  /** Mean loss over the first n examples (default: the compiled batch). */
  loss(batch: Batch, n?: number): number;
  /** Mean loss; fills `grads` (and `inputGrads`) with its gradient. */
  gradient(batch: Batch, n?: number): number;
  /** gradient() followed by the optimizer update; returns the loss before the update. */
  step(batch: Batch, n?: number): number;
  /** The named outputs for the first n examples, in buffers reused by every call. */
  predict(inputs: PredictInputs, n?: number): Record<OutputName, Real>;
}

/** mulberry32: a small, fast 32-bit generator; integer arithmetic only, so every engine agrees. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal by Box–Muller from two uniforms. */
function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

type Init = "zeros" | "ones" | "uniform" | "normal" | "xavier" | "he" | number;

function initialise(target: Real, init: Init, fanIn: number, fanOut: number, random: () => number): void {
  if (typeof init === "number") { target.fill(init); return; }
  switch (init) {
    case "zeros": target.fill(0); return;
    case "ones": target.fill(1); return;
    case "uniform": for (let i = 0; i < target.length; i++) target[i] = (random() * 2 - 1) * 0.05; return;
    case "normal": for (let i = 0; i < target.length; i++) target[i] = normal(random) * 0.05; return;
    case "xavier": {
      // Glorot & Bengio: U(−a, a) with a = √(6 / (fan_in + fan_out))
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < target.length; i++) target[i] = (random() * 2 - 1) * limit;
      return;
    }
    case "he": {
      // He et al.: N(0, 2 / fan_in)
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < target.length; i++) target[i] = normal(random) * std;
      return;
    }
  }
}

function checkCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > spec.batch) {
    throw new RangeError(`${spec.model}: n = ${n} must be an integer from 1 to the compiled batch size ${spec.batch}`);
  }
  return n;
}

function checkInput(values: Values | undefined, name: string, size: number, n: number): Values {
  if (values === undefined || values.length < n * size) {
    throw new RangeError(`${spec.model}: input "${name}" needs ${n} × ${size} values, got ${values === undefined ? "none" : values.length}`);
  }
  return values;
}

{{kernelFunctions}}
export function createTrainer(options: TrainerOptions = {}): Trainer {
  const random = createRandom(options.seed ?? 0);
{{allocations}}
{{initialisation}}
{{entryFunctions}}
  const outputs: Record<OutputName, Real> = {{outputsObject}};
  const trainer: Trainer = {
    spec,
    params: {{paramsObject}},
    grads: {{gradsObject}},
    inputGrads: {{inputGradsObject}},
    learningRate: spec.optimizer.learningRate,
    loss(batch: Batch, n: number = spec.batch): number {
      checkCount(n);
{{lossCall}}
    },
    gradient(batch: Batch, n: number = spec.batch): number {
      checkCount(n);
{{gradientCall}}
    },
    step(batch: Batch, n: number = spec.batch): number {
      const loss = trainer.gradient(batch, n);
      const rate = trainer.learningRate;
{{optimizerUpdate}}
      return loss;
    },
    predict(inputs: PredictInputs, n: number = spec.batch): Record<OutputName, Real> {
      checkCount(n);
{{predictCall}}
      return outputs;
    },
  };
  return trainer;
}
