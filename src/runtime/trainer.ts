// The structural interface of a generated trainer, as the optional runtime (gradgen/train,
// gradgen/data) sees it. Generated modules never import this: any object of this shape works.

/** Example-major values: n × (size of one example), row-major within an example. */
export type Real = Float32Array | Float64Array;

/** One field of a data set: real values, or the integer ids of an `int32` input (token ids, labels). */
export type Field = Real | Int32Array;

/** Named fields of examples, e.g. `{ x, t }`, each n × size. */
export type Dataset = Record<string, Field>;

export interface TrainerSpec {
  readonly model: string;
  /** The largest n a call accepts. */
  readonly batch: number;
  readonly dtype: "f32" | "f64";
  /** Per-example shapes. */
  readonly inputs: Readonly<Record<string, readonly number[]>>;
  readonly params: Readonly<Record<string, readonly number[]>>;
  readonly outputs: Readonly<Record<string, readonly number[]>>;
  readonly optimizer: { readonly kind: string; readonly learningRate: number; readonly [k: string]: unknown };
  /** Hex hash of the model's structure (graph, shapes, dtype): checkpoints must match it. */
  readonly structureHash: string;
}

export interface OptimizerState {
  /** Updates applied so far. */
  step: number;
  /** Optimizer buffers by name, e.g. "W1.m", "W1.v". */
  readonly buffers: Readonly<Record<string, Real>>;
}

export interface TrainerLike {
  readonly spec: TrainerSpec;
  /** Row-major parameter storage, updated in place. */
  readonly params: Readonly<Record<string, Real>>;
  readonly state: OptimizerState;
  learningRate: number;
  setLearningRate(lr: number): void;
  /** Mean loss over the first n ≤ spec.batch examples; no dropout. */
  loss(batch: Dataset, n?: number): number;
  /** Gradient and optimizer update; returns the loss before the update. */
  step(batch: Dataset, n?: number): number;
  /** Outputs for the first n examples, in buffers reused by every call. */
  predict(inputs: Dataset, n?: number): Readonly<Record<string, Real>>;
  /** Copy params and optimizer state into preallocated buffers. */
  snapshot(): void;
  /** Copy them back from the last snapshot. */
  restore(): void;
}

/** Number of values in one example of the given shape. */
export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

export function arrayTypeOf(dtype: "f32" | "f64"): Float32ArrayConstructor | Float64ArrayConstructor {
  return dtype === "f64" ? Float64Array : Float32Array;
}

export function dtypeOf(values: Real): "f32" | "f64" {
  return values instanceof Float64Array ? "f64" : "f32";
}

/** A typed array of `dtype` over shared memory. */
export function sharedView(dtype: "f32" | "f64", buffer: SharedArrayBuffer): Real {
  return dtype === "f32" ? new Float32Array(buffer) : new Float64Array(buffer);
}

// User names (inputs, parameters, outputs, fields, metrics) may be any identifier: "__proto__",
// "constructor" and "toString" included. A plain object answers to those through its prototype and
// `record["__proto__"] = v` sets the prototype instead of a field, so the runtime reads user records
// with ownField and writes the records it builds with setOwn (or Object.fromEntries).

/** record[name] when it is the record's own property; undefined otherwise (never Object.prototype's). */
export function ownField<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

/** Defines record[name] = value as an ordinary own property, whatever the name. */
export function setOwn<T>(record: Record<string, T>, name: string, value: NoInfer<T>): void {
  Object.defineProperty(record, name, { value, writable: true, enumerable: true, configurable: true });
}
