{{header}}
// This module imports nothing and evaluates no strings: it runs in Node, browsers under strict CSP and workers.

/** Storage of every parameter, gradient, optimizer state and output. */
export type Real = {{arrayType}};
/** A batch field: example-major values, n × (size of one example). */
export type Values = Float32Array | Float64Array;

export type InputName = {{inputNameUnion}};
export type ParamName = {{paramNameUnion}};
export type OutputName = {{outputNameUnion}};
export type StateName = {{stateNameUnion}};
export type Batch = { readonly [K in InputName]: Values };
export type PredictInputs = { readonly [K in {{predictInputUnion}}]: Values };

export const spec = {{spec}} as const;

/** "wasm": matrix products in WebAssembly SIMD; "js": plain JavaScript only; "auto": wasm where allowed. */
export type Backend = "auto" | "wasm" | "js";

export interface TrainerOptions {
  /** Seed of the initialisers and dropout masks; the same seed gives the same bytes everywhere. */
  readonly seed?: number;
  /** Where matrix products run (default "auto"). Results agree up to summation order. */
  readonly backend?: Backend;
  /** Initial values that replace the initialisers, row-major. */
  readonly params?: Partial<Record<ParamName, ArrayLike<number>>>;
}

export interface OptimizerState {
  /** Updates applied so far. */
  step: number;
  /** The optimizer's per-parameter buffers ("W1.m", …), updated in place. */
  readonly buffers: Record<StateName, Real>;
}

export interface Trainer {
  readonly spec: typeof spec;
  /** The backend in use ("wasm" or "js"). */
  readonly backend: "wasm" | "js";
  readonly params: Record<ParamName, Real>;
  readonly grads: Record<ParamName, Real>;
  readonly inputGrads: Record<{{inputGradUnion}}, Real>;
  readonly state: OptimizerState;
  /** ε of the next updates (a schedule may change it between steps). */
  learningRate: number;
  setLearningRate(learningRate: number): void;
  /**
   * Mean loss over n examples, without dropout. Without n, a call takes every example its inputs
   * hold (a whole number from 1 to the compiled batch, the same for every input); with n, the first
   * n. Inputs holding more examples than the compiled batch are refused, never cut short.
   */
  loss(batch: Batch, n?: number): number;
  /** Mean loss with the current dropout masks: the function gradient() differentiates. */
  trainingLoss(batch: Batch, n?: number): number;
  /** trainingLoss, filling `grads` (and `inputGrads`) with its gradient; the masks stay as they are. */
  gradient(batch: Batch, n?: number): number;
  /** Draws fresh dropout masks, then gradient() and the optimizer update; returns the loss before the update. */
  step(batch: Batch, n?: number): number;
  /**
   * step(), leaving the loss in losses[index] instead of returning it. A number returned from a call
   * that V8 does not inline is boxed (16 bytes per step); this returns nothing, so a training loop
   * over it allocates nothing.
   */
  stepInto(batch: Batch, losses: Float64Array, index: number, n?: number): void;
  /** Draws fresh dropout masks for the first n examples (step() does this itself). */
  resampleDropout(n?: number): void;
  /** The part of step() before the gradient: fresh dropout masks, and Nesterov's look-ahead. */
  beginStep(n?: number): void;
  /** The part of step() after the gradient: the optimizer update from `grads` (for data-parallel training). */
  applyUpdate(): void;
  /** The named outputs for n examples (as loss() counts them), without dropout, in buffers reused by every call. */
  predict(inputs: PredictInputs, n?: number): Record<OutputName, Real>;
  /** Copies parameters and optimizer state into buffers allocated once (for early stopping). */
  snapshot(): void;
  /** Copies the last snapshot back. */
  restore(): void;
}

/**
 * mulberry32: a small, fast 32-bit generator; integer arithmetic only, so every engine agrees. The
 * state lives in a Uint32Array: a closure variable holding a uint32 ≥ 2³¹ would be a heap number,
 * allocated afresh on every draw.
 */
function createRandom(seed: number): () => number {
  const state = new Uint32Array([seed >>> 0]);
  return () => {
    state[0] = state[0]! + 0x6d2b79f5;
    let t = state[0]!;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ln x for x > 0 with + − × ÷ only (Math.log may differ between engines in the last bit). */
function portableLog(x: number): number {
  let exponent = 0;
  while (x >= 2) { x /= 2; exponent++; }
  while (x < 1) { x *= 2; exponent--; }
  // ln x = 2·atanh(z) with z = (x − 1)/(x + 1) ≤ 1/3 for x in [1, 2)
  const z = (x - 1) / (x + 1);
  const z2 = z * z;
  let term = z;
  let sum = 0;
  for (let k = 1; k < 42; k += 2) { sum += term / k; term *= z2; }
  return 2 * sum + exponent * 0.6931471805599453;
}

/** cos x for |x| ≤ π by its Taylor series, for the same reason. */
function portableCos(x: number): number {
  const x2 = x * x;
  let term = 1;
  let sum = 1;
  for (let k = 1; k <= 17; k++) { term *= -x2 / ((2 * k - 1) * (2 * k)); sum += term; }
  return sum;
}

/** Standard normal by Box–Muller from two uniforms. */
function normal(random: () => number): number {
  const radius = Math.sqrt(-2 * portableLog(1 - random()));
  return -radius * portableCos(2 * Math.PI * random() - Math.PI); // cos(2πv) = −cos(2πv − π)
}

type Init =
  | string
  | number
  | { readonly kind: "uniform"; readonly min: number; readonly max: number }
  | { readonly kind: "normal"; readonly mean: number; readonly std: number }
  | { readonly kind: "sparse"; readonly k: number; readonly std: number };

function fillUniform(target: Real, min: number, max: number, random: () => number): void {
  for (let i = 0; i < target.length; i++) target[i] = min + (max - min) * random();
}

function fillNormal(target: Real, mean: number, std: number, random: () => number): void {
  for (let i = 0; i < target.length; i++) target[i] = mean + std * normal(random);
}

function initialise(target: Real, init: Init, fanIn: number, fanOut: number, random: () => number): void {
  if (typeof init === "number") return void target.fill(init);
  if (typeof init === "object") {
    if (init.kind === "uniform") return fillUniform(target, init.min, init.max, random);
    if (init.kind === "normal") return fillNormal(target, init.mean, init.std, random);
    // sparse: each unit (column) gets exactly k non-zero incoming weights, at rows chosen by a partial shuffle
    target.fill(0);
    const rows = new Int32Array(fanIn);
    for (let unit = 0; unit < fanOut; unit++) {
      for (let i = 0; i < fanIn; i++) rows[i] = i;
      for (let chosen = 0; chosen < init.k; chosen++) {
        const pick = chosen + Math.floor(random() * (fanIn - chosen));
        const row = rows[pick]!;
        rows[pick] = rows[chosen]!;
        rows[chosen] = row;
        target[row * fanOut + unit] = init.std * normal(random);
      }
    }
    return;
  }
  switch (init) {
    case "zeros": return void target.fill(0);
    case "ones": return void target.fill(1);
    case "uniform": return fillUniform(target, -0.05, 0.05, random);
    case "normal": return fillNormal(target, 0, 0.05, random);
    case "lecun": return fillNormal(target, 0, Math.sqrt(1 / fanIn), random); // LeCun: N(0, 1/fan_in)
    case "xavier":
    case "glorot": { // Glorot & Bengio: U(±√(6/(fan_in + fan_out)))
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return fillUniform(target, -limit, limit, random);
    }
    case "xavierNormal":
    case "glorotNormal": return fillNormal(target, 0, Math.sqrt(2 / (fanIn + fanOut)), random);
    case "he": return fillNormal(target, 0, Math.sqrt(2 / fanIn), random); // He et al.: N(0, 2/fan_in)
    case "heUniform": {
      const limit = Math.sqrt(6 / fanIn);
      return fillUniform(target, -limit, limit, random);
    }
  }
}

/** Inverted dropout: keep with probability `keep`, scaled by 1/keep so the expected activation is unchanged. */
function drawMask(mask: Real, count: number, keep: number, random: () => number): void {
  const scale = 1 / keep;
  for (let i = 0; i < count; i++) mask[i] = random() < keep ? scale : 0;
}

function checkCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > spec.batch) {
    throw new RangeError(`${spec.model}: n = ${n} must be an integer from 1 to the compiled batch size ${spec.batch}`);
  }
  return n;
}

/**
 * The batch field `name`, a Float32Array or Float64Array. The type check is also what refuses a
 * missing field named like an Object.prototype member ("constructor", "__proto__"): what it finds
 * there is no typed array. (No Object.hasOwn here: this runs on every call.)
 */
function inputField(fields: object, name: string): Values {
  if (typeof fields !== "object" || fields === null) throw new TypeError(`${spec.model}: the inputs must be an object of Float32Array or Float64Array fields, got ${fields}`);
  const values: unknown = (fields as Record<string, unknown>)[name];
  if (values instanceof Float32Array || values instanceof Float64Array) return values;
  const got = values === undefined || !Object.hasOwn(fields, name) ? "none" : Object.prototype.toString.call(values);
  throw new TypeError(`${spec.model}: input ${JSON.stringify(name)} needs a Float32Array or Float64Array, got ${got}`);
}

/** Without n, the examples a call takes: all that `values` holds, a whole number from 1 to the compiled batch. */
function examplesIn(values: Values, name: string, size: number): number {
  const count = values.length / size;
  if (Number.isInteger(count) && count >= 1 && count <= spec.batch) return count;
  const held = Number.isInteger(count) ? `${count} example(s)` : `${values.length} values, not a whole number of examples of ${size}`;
  const limit = count > spec.batch ? `, more than the ${spec.batch} per call it was compiled for (gradgen compile --batch N)` : "";
  throw new RangeError(`${spec.model}: input ${JSON.stringify(name)} holds ${held}${limit}; pass n to use the first n examples`);
}

/** With n given, every input holds at least n examples; without, exactly as many as the first input. */
function checkInput(values: Values, name: string, size: number, count: number, exact: boolean): void {
  if (exact ? values.length === count * size : values.length >= count * size) return;
  const which = exact ? " (as many examples as the call's first input; pass n to use fewer)" : "";
  throw new RangeError(`${spec.model}: input ${JSON.stringify(name)} needs ${count} × ${size} values${which}, got ${values.length}`);
}

/** options.params, checked: every key names a parameter (a typo is an error, not ignored). */
function givenParams(params: object | undefined): object {
  if (params === undefined) return {};
  const prototype: unknown = typeof params === "object" && params !== null ? Object.getPrototypeOf(params) : undefined;
  if (prototype !== Object.prototype && prototype !== null) {
    throw new TypeError(`${spec.model}: params must be a plain object keyed by parameter name (in an object literal, \`__proto__: …\` sets the prototype; write ["__proto__"]: … for a parameter of that name)`);
  }
  for (const name of Object.keys(params)) {
    if (!Object.hasOwn(spec.params, name)) {
      throw new RangeError(`${spec.model}: params has no parameter ${JSON.stringify(name)}; the parameters are ${Object.keys(spec.params).map((p) => JSON.stringify(p)).join(", ") || "none"}`);
    }
  }
  return params;
}

/** The initial values options.params gives parameter `name`, if any. */
function givenParam(params: object, name: string, size: number): ArrayLike<number> | undefined {
  const given = Object.hasOwn(params, name) ? (params as Record<string, ArrayLike<number> | undefined>)[name] : undefined;
  if (given !== undefined && given.length !== size) throw new RangeError(`${spec.model}: params[${JSON.stringify(name)}] needs ${size} values, got ${given.length}`);
  return given;
}

/** losses[index] must exist: a typed array ignores writes past its end. */
function checkIndex(losses: Float64Array, index: number): void {
  if (!(losses instanceof Float64Array) || !Number.isInteger(index) || index < 0 || index >= losses.length) {
    throw new RangeError(`${spec.model}: stepInto(batch, losses, index) needs a Float64Array losses and an integer index from 0 to losses.length − 1, got index ${index}`);
  }
}
{{kernelFunctions}}
export function createTrainer(options: TrainerOptions = {}): Trainer {
  const seed = options.seed ?? 0;
  const random = createRandom(seed);
  const dropoutRandom = createRandom(seed ^ 0x5bd1e995);
  const params = givenParams(options.params);
{{arena}}
{{allocations}}
  const lossSlot = new Float64Array(1); // where entry points leave the loss
{{initialisation}}
{{entryFunctions}}
  const outputs: Record<OutputName, Real> = {{outputsObject}};
  let hasSnapshot = false;
  let snapshotStep = 0;
  function resampleDropout(n: number): void {
{{drawMasks}}
  }
  /** step() without its result (a number returned through a call that is not inlined is boxed). */
  function runStep(batch: Batch, n: number | undefined): void {
{{stepCall}}
    trainer.state.step += 1;
  }
  const trainer: Trainer = {
    spec,
    backend: {{backendExpression}},
    params: {{paramsObject}},
    grads: {{gradsObject}},
    inputGrads: {{inputGradsObject}},
    state: { step: 0, buffers: {{stateObject}} },
    learningRate: spec.optimizer.learningRate,
    setLearningRate(learningRate: number): void {
      if (!(learningRate >= 0) || !Number.isFinite(learningRate)) throw new RangeError(`${spec.model}: learning rate ${learningRate} must be a finite number ≥ 0`);
      trainer.learningRate = learningRate;
    },
    loss(batch: Batch, n?: number): number {
{{lossCall}}
    },
    trainingLoss(batch: Batch, n?: number): number {
{{trainingLossCall}}
    },
    gradient(batch: Batch, n?: number): number {
{{gradientCall}}
    },
    step(batch: Batch, n?: number): number {
      runStep(batch, n);
      return lossSlot[0]!;
    },
    stepInto(batch: Batch, losses: Float64Array, index: number, n?: number): void {
      checkIndex(losses, index);
      runStep(batch, n);
      losses[index] = lossSlot[0]!;
    },
    resampleDropout(n: number = spec.batch): void {
      resampleDropout(checkCount(n));
    },
    beginStep(n: number = spec.batch): void {
      resampleDropout(checkCount(n));
{{beginStepCall}}
    },
    applyUpdate(): void {
      updateProgram(0, trainer.learningRate);
      trainer.state.step += 1;
    },
    predict(inputs: PredictInputs, n?: number): Record<OutputName, Real> {
{{predictCall}}
      return outputs;
    },
    snapshot(): void {
{{snapshotCopies}}
      snapshotStep = trainer.state.step;
      hasSnapshot = true;
    },
    restore(): void {
      if (!hasSnapshot) throw new Error(`${spec.model}: restore() before any snapshot()`);
{{restoreCopies}}
      trainer.state.step = snapshotStep;
    },
  };
  return trainer;
}
