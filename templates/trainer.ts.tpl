{{header}}
// This module imports nothing and evaluates no strings: it runs in Node, browsers under strict CSP and workers.

/** Storage of every parameter, gradient, optimizer state and output. */
export type Real = {{arrayType}};
/** A batch field: example-major values, n × (size of one example). */
export type Values = Float32Array | Float64Array;

{{nameTypes}}

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
  readonly inputGrads: Record<InputGradName, Real>;
  readonly state: OptimizerState;
  /** ε of the next updates (a schedule may change it between steps). */
  learningRate: number;
  setLearningRate(learningRate: number): void;
  /**
   * Mean loss over n examples, without dropout. Without n, a call takes every example its inputs
   * hold (a whole number from 1 to the compiled batch, the same for every input); with n, the first
   * n. Inputs holding more examples than the compiled batch are refused, never cut short.
   */
  loss(batch{{batchMark}}: Batch, n?: number): number;
  /** Mean loss with the current dropout masks: the function gradient() differentiates. */
  trainingLoss(batch{{batchMark}}: Batch, n?: number): number;
  /** trainingLoss, filling `grads` (and `inputGrads`) with its gradient; the masks stay as they are. */
  gradient(batch{{batchMark}}: Batch, n?: number): number;
  /** Draws fresh dropout masks, then gradient() and the optimizer update; returns the loss before the update. */
  step(batch{{batchMark}}: Batch, n?: number): number;
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
  /**
   * newton, levenberg-marquardt and hessian-free only: state.buffers["<param>.product"] = H·v for v in
   * state.buffers["<param>.direction"], H the Hessian of trainingLoss over all parameters at the current ones (a
   * generated reverse-over-reverse product); with levenberg-marquardt, and hessian-free on a loss nn.leastSquares(r),
   * H is the Gauss–Newton matrix JᵀJ/n of the residuals r instead.
   */
  hessianVector?(batch: Batch, n?: number): void;
  /** The named outputs for n examples (as loss() counts them), without dropout, in buffers reused by every call. */
  predict(inputs{{predictMark}}: PredictInputs, n?: number): Record<OutputName, Real>;
  /** Copies parameters and optimizer state into buffers allocated once (for early stopping). */
  snapshot(): void;
  /** Copies the last snapshot back. */
  restore(): void;
}

{{random}}

{{initialisers}}

{{drawMaskFunction}}
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
{{unusedInputHelpers}}
{{checks}}
{{kernelFunctions}}
export function createTrainer(options: TrainerOptions = {}): Trainer {
{{setup}}
{{arena}}
{{allocations}}
  const lossSlot = new Float64Array(1); // where entry points leave the loss
{{initialisation}}
{{entryFunctions}}
  const outputs: Record<OutputName, Real> = {{outputsObject}};
  let hasSnapshot = false;
  let snapshotStep = 0;
{{resampleFunction}}  /** step() without its result (a number returned through a call that is not inlined is boxed). */
  function runStep(batch: Batch{{batchOrUndefined}}, n: number | undefined): void {
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
    loss(batch{{batchMark}}: Batch, n?: number): number {
{{lossCall}}
    },
    trainingLoss(batch{{batchMark}}: Batch, n?: number): number {
{{trainingLossCall}}
    },
    gradient(batch{{batchMark}}: Batch, n?: number): number {
{{gradientCall}}
    },
    step(batch{{batchMark}}: Batch, n?: number): number {
      runStep(batch, n);
      return lossSlot[0]!;
    },
    stepInto(batch: Batch, losses: Float64Array, index: number, n?: number): void {
      checkIndex(losses, index);
      runStep(batch, n);
      losses[index] = lossSlot[0]!;
    },
    resampleDropout(n: number = spec.batch): void {
{{resampleCall}}
    },
    beginStep(n: number = spec.batch): void {
{{resampleCall}}
{{beginStepCall}}
    },
    applyUpdate(): void {
{{applyUpdateCall}}
      trainer.state.step += 1;
    },
{{secondOrderMembers}}    predict(inputs{{predictMark}}: PredictInputs, n?: number): Record<OutputName, Real> {
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
