// gradgen/data: data preparation on example-major Float32Array/Float64Array (n × features).
// Fitted transforms (centring, standardisation, min-max, PCA, ZCA) are fitted once on training data,
// re-applied to any data and saved as JSON; batches are copied into reused buffers.

import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { GradgenError } from "../errors.js";
import { ownField, setOwn, type Dataset, type Real } from "./trainer.js";
import { createRandom } from "../random.js";

export type { Dataset, Real } from "./trainer.js";

// ---------------------------------------------------------------------------------------------
// Shapes

function checkFeatures(features: number, what: string): void {
  if (!Number.isInteger(features) || features < 1) {
    throw new GradgenError(`${what}: features = ${features} must be a positive integer (values per example).`);
  }
}

/** Examples in `x`, which must hold a whole number of examples of `features` values. */
function rowsOf(x: Real, features: number, what: string): number {
  checkFeatures(features, what);
  const n = x.length / features;
  if (!Number.isInteger(n)) {
    throw new GradgenError(
      `${what}: ${x.length} values is not a whole number of examples of ${features} features; ` +
        `data must be example-major, n × ${features}.`,
    );
  }
  return n;
}

function outputArray<T extends Real>(x: T, length: number, into: Real | undefined, what: string): Real {
  if (into === undefined) return new (x.constructor as { new (length: number): T })(length);
  if (into.length < length) {
    throw new GradgenError(`${what}: the output array holds ${into.length} values, ${length} are needed.`);
  }
  return into;
}

/** Per-feature means, in float64. */
function featureMeans(x: Real, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  return mean;
}

// ---------------------------------------------------------------------------------------------
// Fitted transforms

export type TransformJSON =
  | { readonly kind: "center"; readonly features: number; readonly mean: readonly number[] }
  | { readonly kind: "standardize"; readonly features: number; readonly mean: readonly number[]; readonly std: readonly number[] }
  | {
      readonly kind: "minmax";
      readonly features: number;
      readonly min: readonly number[];
      readonly max: readonly number[];
      readonly range: readonly [number, number];
    }
  | {
      readonly kind: "pca";
      readonly features: number;
      readonly mean: readonly number[];
      /** components × features, row-major: row j is the j-th principal direction. */
      readonly basis: readonly number[];
      /** Variance along each kept direction (descending eigenvalues of the covariance). */
      readonly variances: readonly number[];
      readonly totalVariance: number;
      readonly whiten: boolean;
      readonly epsilon: number;
    }
  | { readonly kind: "zca"; readonly features: number; readonly mean: readonly number[]; readonly matrix: readonly number[]; readonly epsilon: number };

export interface FittedTransform {
  readonly kind: TransformJSON["kind"];
  /** Values per input example. */
  readonly features: number;
  /** Values per output example. */
  readonly outputFeatures: number;
  /** Transform every example of x into `into` (may be x itself) or a new array of x's type. */
  apply<T extends Real>(x: Real, into: T): T;
  apply<T extends Real>(x: T): T;
  toJSON(): TransformJSON;
}

/** y = (x − shift) · scale + offset, per feature: centring, standardisation, min-max scaling. */
abstract class AffineTransform implements FittedTransform {
  abstract readonly kind: "center" | "standardize" | "minmax";
  readonly outputFeatures: number;

  protected constructor(
    readonly features: number,
    protected readonly shift: Float64Array,
    protected readonly scale: Float64Array,
    protected readonly offset: number,
  ) {
    this.outputFeatures = features;
  }

  apply<T extends Real>(x: Real, into: T): T;
  apply<T extends Real>(x: T): T;
  apply(x: Real, into?: Real): Real {
    const d = this.features;
    const n = rowsOf(x, d, `${this.kind}.apply`);
    const y = outputArray(x, n * d, into, `${this.kind}.apply`);
    const { shift, scale, offset } = this;
    for (let i = 0; i < n; i++) {
      const row = i * d;
      for (let j = 0; j < d; j++) y[row + j] = (x[row + j] - shift[j]) * scale[j] + offset;
    }
    return y;
  }

  abstract toJSON(): TransformJSON;
}

/** x − μ. */
export class MeanCentering extends AffineTransform {
  readonly kind = "center" as const;

  private constructor(readonly mean: Float64Array) {
    super(mean.length, mean, new Float64Array(mean.length).fill(1), 0);
  }

  static fit(x: Real, features: number): MeanCentering {
    const n = rowsOf(x, features, "fitCentering");
    requireExamples(n, 1, "fitCentering");
    return new MeanCentering(featureMeans(x, n, features));
  }

  static fromJSON(json: TransformJSON): MeanCentering {
    const j = expectKind(json, "center");
    return new MeanCentering(vector(j.mean, j.features, "mean"));
  }

  toJSON(): TransformJSON {
    return { kind: "center", features: this.features, mean: Array.from(this.mean) };
  }
}

/** (x − μ) / σ with the population σ; a constant feature (σ = 0) is only centred. */
export class Standardization extends AffineTransform {
  readonly kind = "standardize" as const;

  private constructor(
    readonly mean: Float64Array,
    readonly std: Float64Array,
  ) {
    super(mean.length, mean, std.map((s) => (s > 0 ? 1 / s : 1)), 0);
  }

  static fit(x: Real, features: number): Standardization {
    const n = rowsOf(x, features, "fitStandardization");
    requireExamples(n, 1, "fitStandardization");
    const d = features;
    const mean = featureMeans(x, n, d);
    const variance = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const centred = x[i * d + j] - mean[j];
        variance[j] += centred * centred;
      }
    }
    return new Standardization(mean, variance.map((v) => Math.sqrt(v / n)));
  }

  static fromJSON(json: TransformJSON): Standardization {
    const j = expectKind(json, "standardize");
    return new Standardization(vector(j.mean, j.features, "mean"), vector(j.std, j.features, "std"));
  }

  toJSON(): TransformJSON {
    return { kind: "standardize", features: this.features, mean: Array.from(this.mean), std: Array.from(this.std) };
  }
}

/** Maps each feature's fitted [min, max] onto `range` (default [0, 1]); a constant feature maps to range[0]. */
export class MinMaxScaling extends AffineTransform {
  readonly kind = "minmax" as const;

  private constructor(
    readonly min: Float64Array,
    readonly max: Float64Array,
    readonly range: readonly [number, number],
  ) {
    const width = range[1] - range[0];
    super(min.length, min, min.map((lo, j) => (max[j] > lo ? width / (max[j] - lo) : 1)), range[0]);
  }

  static fit(x: Real, features: number, options: { range?: readonly [number, number] } = {}): MinMaxScaling {
    const n = rowsOf(x, features, "fitMinMax");
    requireExamples(n, 1, "fitMinMax");
    const range = options.range ?? [0, 1];
    if (!(range[1] > range[0])) throw new GradgenError(`fitMinMax: range [${range[0]}, ${range[1]}] must be increasing.`);
    const d = features;
    const min = new Float64Array(d).fill(Infinity);
    const max = new Float64Array(d).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const v = x[i * d + j];
        if (v < min[j]) min[j] = v;
        if (v > max[j]) max[j] = v;
      }
    }
    return new MinMaxScaling(min, max, [range[0], range[1]]);
  }

  static fromJSON(json: TransformJSON): MinMaxScaling {
    const j = expectKind(json, "minmax");
    return new MinMaxScaling(vector(j.min, j.features, "min"), vector(j.max, j.features, "max"), [j.range[0], j.range[1]]);
  }

  toJSON(): TransformJSON {
    return { kind: "minmax", features: this.features, min: Array.from(this.min), max: Array.from(this.max), range: this.range };
  }
}

/** y = M (x − μ) with M of outputFeatures × features: PCA projection and whitening, ZCA whitening. */
abstract class LinearProjection implements FittedTransform {
  abstract readonly kind: "pca" | "zca";
  /** One input row, so that apply(x, x) works in place. */
  private readonly row: Float64Array;

  protected constructor(
    readonly features: number,
    readonly outputFeatures: number,
    readonly mean: Float64Array,
    /** outputFeatures × features, row-major. */
    protected readonly matrix: Float64Array,
  ) {
    this.row = new Float64Array(features);
  }

  apply<T extends Real>(x: Real, into: T): T;
  apply<T extends Real>(x: T): T;
  apply(x: Real, into?: Real): Real {
    const d = this.features;
    const k = this.outputFeatures;
    const n = rowsOf(x, d, `${this.kind}.apply`);
    const y = outputArray(x, n * k, into, `${this.kind}.apply`);
    const { row, mean, matrix } = this;
    // Output row i ends at (i+1)·k ≤ (i+1)·d, so writing it never clobbers an unread input row.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) row[j] = x[i * d + j] - mean[j];
      for (let c = 0; c < k; c++) {
        let sum = 0;
        const m = c * d;
        for (let j = 0; j < d; j++) sum += matrix[m + j] * row[j];
        y[i * k + c] = sum;
      }
    }
    return y;
  }

  abstract toJSON(): TransformJSON;
}

export interface PCAOptions {
  /** Directions kept (default: all features, or as set by retainVariance). */
  readonly components?: number;
  /** Keep the fewest leading directions explaining at least this fraction (0, 1] of the variance. */
  readonly retainVariance?: number;
  /** Divide each projection by √(variance + epsilon): PCA whitening. Default false. */
  readonly whiten?: boolean;
  /** Added to variances before whitening. Default 1e-5. */
  readonly epsilon?: number;
}

/** Projection onto the leading principal directions, optionally whitened; `inverse` reconstructs. */
export class PCAProjection extends LinearProjection {
  readonly kind = "pca" as const;

  private constructor(
    features: number,
    mean: Float64Array,
    /** components × features: the principal directions, orthonormal rows. */
    readonly basis: Float64Array,
    /** Variance along each kept direction, descending. */
    readonly variances: Float64Array,
    /** Total variance of the fitted data (trace of its covariance). */
    readonly totalVariance: number,
    readonly whiten: boolean,
    readonly epsilon: number,
  ) {
    const k = variances.length;
    const matrix = Float64Array.from(basis);
    if (whiten) {
      for (let c = 0; c < k; c++) {
        const factor = 1 / Math.sqrt(variances[c] + epsilon);
        for (let j = 0; j < features; j++) matrix[c * features + j] *= factor;
      }
    }
    super(features, k, mean, matrix);
    this.reconstructed = new Float64Array(features);
  }

  private readonly reconstructed: Float64Array;

  /** Fraction of the fitted data's variance explained by the kept directions. */
  get explainedVarianceRatio(): number {
    let kept = 0;
    for (const v of this.variances) kept += v;
    return this.totalVariance > 0 ? kept / this.totalVariance : 1;
  }

  static fit(x: Real, features: number, options: PCAOptions = {}): PCAProjection {
    const d = features;
    const n = rowsOf(x, d, "fitPCA");
    requireExamples(n, 2, "fitPCA");
    const epsilon = options.epsilon ?? 1e-5;
    const { mean, values, vectors } = principalAxes(x, n, d);
    let total = 0;
    for (const v of values) total += v;
    let k = options.components ?? d;
    if (!Number.isInteger(k) || k < 1 || k > d) {
      throw new GradgenError(`fitPCA: components = ${k} must be an integer from 1 to the ${d} features.`);
    }
    if (options.retainVariance !== undefined) {
      const fraction = options.retainVariance;
      if (!(fraction > 0 && fraction <= 1)) throw new GradgenError(`fitPCA: retainVariance = ${fraction} must lie in (0, 1].`);
      let kept = 0;
      let needed = 0;
      while (needed < k && kept < fraction * total * (1 - 1e-12)) kept += values[needed++];
      k = Math.max(needed, 1);
    }
    return new PCAProjection(d, mean, vectors.slice(0, k * d), values.slice(0, k), total, options.whiten ?? false, epsilon);
  }

  static fromJSON(json: TransformJSON): PCAProjection {
    const j = expectKind(json, "pca");
    const k = j.variances.length;
    return new PCAProjection(
      j.features,
      vector(j.mean, j.features, "mean"),
      vector(j.basis, k * j.features, "basis"),
      vector(j.variances, k, "variances"),
      j.totalVariance,
      j.whiten,
      j.epsilon,
    );
  }

  /** Back to feature space: μ + Σ_c y_c · w_c (undoing whitening): the reconstruction of x. */
  inverse<T extends Real>(y: Real, into: T): T;
  inverse<T extends Real>(y: T): T;
  inverse(y: Real, into?: Real): Real {
    const d = this.features;
    const k = this.outputFeatures;
    const n = rowsOf(y, k, "pca.inverse");
    const x = outputArray(y, n * d, into, "pca.inverse");
    const { basis, variances, mean, whiten, epsilon, reconstructed } = this;
    // Rows go from the last: with k ≤ d, in-place use reads each row before anything overwrites it.
    for (let i = n - 1; i >= 0; i--) {
      for (let j = 0; j < d; j++) reconstructed[j] = mean[j];
      for (let c = 0; c < k; c++) {
        const coordinate = whiten ? y[i * k + c] * Math.sqrt(variances[c] + epsilon) : y[i * k + c];
        for (let j = 0; j < d; j++) reconstructed[j] += coordinate * basis[c * d + j];
      }
      for (let j = 0; j < d; j++) x[i * d + j] = reconstructed[j];
    }
    return x;
  }

  toJSON(): TransformJSON {
    return {
      kind: "pca",
      features: this.features,
      mean: Array.from(this.mean),
      basis: Array.from(this.basis),
      variances: Array.from(this.variances),
      totalVariance: this.totalVariance,
      whiten: this.whiten,
      epsilon: this.epsilon,
    };
  }
}

/** ZCA whitening: U diag(1/√(λ + ε)) Uᵀ (x − μ): identity covariance, staying close to the data. */
export class ZCAWhitening extends LinearProjection {
  readonly kind = "zca" as const;

  private constructor(
    features: number,
    mean: Float64Array,
    matrix: Float64Array,
    readonly epsilon: number,
  ) {
    super(features, features, mean, matrix);
  }

  static fit(x: Real, features: number, options: { epsilon?: number } = {}): ZCAWhitening {
    const d = features;
    const n = rowsOf(x, d, "fitZCA");
    requireExamples(n, 2, "fitZCA");
    const epsilon = options.epsilon ?? 1e-5;
    const { mean, values, vectors } = principalAxes(x, n, d);
    const matrix = new Float64Array(d * d);
    for (let c = 0; c < d; c++) {
      const factor = 1 / Math.sqrt(values[c] + epsilon);
      for (let a = 0; a < d; a++) {
        const ua = vectors[c * d + a] * factor;
        for (let b = 0; b < d; b++) matrix[a * d + b] += ua * vectors[c * d + b];
      }
    }
    return new ZCAWhitening(d, mean, matrix, epsilon);
  }

  static fromJSON(json: TransformJSON): ZCAWhitening {
    const j = expectKind(json, "zca");
    return new ZCAWhitening(j.features, vector(j.mean, j.features, "mean"), vector(j.matrix, j.features * j.features, "matrix"), j.epsilon);
  }

  toJSON(): TransformJSON {
    return { kind: "zca", features: this.features, mean: Array.from(this.mean), matrix: Array.from(this.matrix), epsilon: this.epsilon };
  }
}

/**
 * Mean, and eigenvalues (descending, ≥ 0) and unit eigenvectors (rows, largest |component|
 * positive, for reproducible signs) of the population covariance (1/n) Σ (x − μ)(x − μ)ᵀ.
 */
function principalAxes(x: Real, n: number, d: number): { mean: Float64Array; values: Float64Array; vectors: Float64Array } {
  const mean = featureMeans(x, n, d);
  const covariance = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      const base = a * d;
      for (let b = a; b < d; b++) covariance[base + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      covariance[a * d + b] /= n;
      covariance[b * d + a] = covariance[a * d + b];
    }
  }
  const evd = new EigenvalueDecomposition(Matrix.from1DArray(d, d, covariance), { assumeSymmetric: true });
  const eigenvalues = evd.realEigenvalues;
  const eigenvectors = evd.eigenvectorMatrix;
  const order = Array.from({ length: d }, (_, i) => i).sort((p, q) => eigenvalues[q] - eigenvalues[p]);
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  order.forEach((source, c) => {
    values[c] = Math.max(eigenvalues[source], 0);
    let largest = 0;
    for (let j = 0; j < d; j++) {
      const v = eigenvectors.get(j, source);
      if (Math.abs(v) > Math.abs(largest)) largest = v;
    }
    const sign = largest < 0 ? -1 : 1;
    for (let j = 0; j < d; j++) vectors[c * d + j] = sign * eigenvectors.get(j, source);
  });
  return { mean, values, vectors };
}

function requireExamples(n: number, least: number, what: string): void {
  if (n < least) throw new GradgenError(`${what}: fitting needs at least ${least} example${least > 1 ? "s" : ""}, got ${n}.`);
}

function expectKind<K extends TransformJSON["kind"]>(json: TransformJSON, kind: K): Extract<TransformJSON, { kind: K }> {
  if (json?.kind !== kind) throw new GradgenError(`Expected a saved "${kind}" transform, got kind ${JSON.stringify(json?.kind)}.`);
  checkFeatures(json.features, `${kind}.fromJSON`);
  return json as Extract<TransformJSON, { kind: K }>;
}

function vector(values: readonly number[] | undefined, length: number, name: string): Float64Array {
  if (!Array.isArray(values) || values.length !== length || values.some((v) => typeof v !== "number")) {
    throw new GradgenError(`Saved transform: "${name}" must be an array of ${length} numbers.`);
  }
  return Float64Array.from(values);
}

export const fitCentering = (x: Real, features: number): MeanCentering => MeanCentering.fit(x, features);
export const fitStandardization = (x: Real, features: number): Standardization => Standardization.fit(x, features);
export const fitMinMax = (x: Real, features: number, options?: { range?: readonly [number, number] }): MinMaxScaling =>
  MinMaxScaling.fit(x, features, options);
export const fitPCA = (x: Real, features: number, options?: PCAOptions): PCAProjection => PCAProjection.fit(x, features, options);
export const fitZCA = (x: Real, features: number, options?: { epsilon?: number }): ZCAWhitening => ZCAWhitening.fit(x, features, options);

/** A saved transform (its toJSON(), or that as a JSON string) back as a transform. */
export function transformFromJSON(json: TransformJSON | string): MeanCentering | Standardization | MinMaxScaling | PCAProjection | ZCAWhitening {
  const parsed: TransformJSON = typeof json === "string" ? JSON.parse(json) : json;
  switch (parsed?.kind) {
    case "center": return MeanCentering.fromJSON(parsed);
    case "standardize": return Standardization.fromJSON(parsed);
    case "minmax": return MinMaxScaling.fromJSON(parsed);
    case "pca": return PCAProjection.fromJSON(parsed);
    case "zca": return ZCAWhitening.fromJSON(parsed);
    default:
      throw new GradgenError(
        `Unknown saved transform kind ${JSON.stringify((parsed as { kind?: unknown })?.kind)}; expected center, standardize, minmax, pca or zca.`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** One row of `classes` values per label: 1 at the label's index, 0 elsewhere (Float32Array by default). */
export function oneHot<T extends Real = Float32Array>(labels: ArrayLike<number>, classes: number, into?: T): T {
  checkFeatures(classes, "oneHot");
  const n = labels.length;
  const out = (into ?? new Float32Array(n * classes)) as T;
  if (out.length < n * classes) throw new GradgenError(`oneHot: the output array holds ${out.length} values, ${n * classes} are needed.`);
  out.fill(0, 0, n * classes);
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new GradgenError(`oneHot: label ${label} at index ${i} is not an integer from 0 to ${classes - 1}.`);
    }
    out[i * classes + label] = 1;
  }
  return out;
}

/** Index of the largest value in each row of `features` values (the inverse of oneHot). */
export function argmaxRows(x: Real, features: number, into: Int32Array = new Int32Array(rowsOf(x, features, "argmaxRows"))): Int32Array {
  const n = rowsOf(x, features, "argmaxRows");
  for (let i = 0; i < n; i++) into[i] = argmaxRow(x, i * features, features);
  return into;
}

/** Index (0-based, relative to start) of the largest of x[start … start+size). */
export function argmaxRow(x: ArrayLike<number>, start: number, size: number): number {
  let best = 0;
  for (let j = 1; j < size; j++) if (x[start + j] > x[start + best]) best = j;
  return best;
}

// ---------------------------------------------------------------------------------------------
// Seeded shuffling

/** mulberry32, the generator of generated modules (shared with the compiler's own tools). */
export { createRandom };

/** Fisher–Yates shuffle of `order` in place: for i from the last down, swap with j = ⌊random()·(i+1)⌋. */
export function shuffleInPlace(order: Uint32Array | Int32Array | number[], random: () => number): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const kept = order[i];
    order[i] = order[j];
    order[j] = kept;
  }
}

/**
 * shuffleInPlace(order, createRandom(seed)) with the generator inlined, so that no number is boxed
 * (nothing allocated); `state` holds the generator's state (initially the seed) and advances.
 */
function shuffleSeeded(order: Uint32Array, state: Uint32Array): void {
  let s = state[0];
  for (let i = order.length - 1; i > 0; i--) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const j = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (i + 1));
    const kept = order[i];
    order[i] = order[j];
    order[j] = kept;
  }
  state[0] = s;
}

/** A seeded permutation of 0 … n−1 (the order of shuffleInPlace with createRandom(seed)). */
export function permutation(n: number, seed = 0): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  shuffleSeeded(order, Uint32Array.of(seed >>> 0));
  return order;
}

/** The examples at `indices` of every field, in that order, as new arrays. */
export function selectExamples(data: Dataset, count: number, indices: ArrayLike<number>): Dataset {
  const sizes = fieldSizes(data, count, undefined, "selectExamples");
  const out: Dataset = {};
  for (const [name, values] of Object.entries(data)) {
    const size = sizes[name];
    const picked = new (values.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(indices.length * size);
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k];
      if (!Number.isInteger(index) || index < 0 || index >= count) {
        throw new GradgenError(`selectExamples: index ${index} is outside the ${count} examples.`);
      }
      for (let j = 0; j < size; j++) picked[k * size + j] = values[index * size + j];
    }
    setOwn(out, name, picked);
  }
  return out;
}

/** Split into the first `at` examples and the rest, after a seeded shuffle when `seed` is given. */
export function splitExamples(data: Dataset, count: number, at: number, options: { seed?: number } = {}): [Dataset, Dataset] {
  if (!Number.isInteger(at) || at < 0 || at > count) throw new GradgenError(`splitExamples: at = ${at} must be an integer from 0 to ${count}.`);
  const order = options.seed === undefined ? Uint32Array.from({ length: count }, (_, i) => i) : permutation(count, options.seed);
  return [selectExamples(data, count, order.subarray(0, at)), selectExamples(data, count, order.subarray(at))];
}

/** Values per example of each field: `sizes[name]` where given, else length / count. */
function fieldSizes(data: Dataset, count: number, sizes: Readonly<Record<string, number>> | undefined, what: string): Record<string, number> {
  if (!Number.isInteger(count) || count < 0) throw new GradgenError(`${what}: count = ${count} must be a non-negative integer.`);
  const result: Record<string, number> = {};
  for (const [name, values] of Object.entries(data)) {
    const given = sizes && ownField(sizes, name);
    const size = given ?? (count > 0 ? values.length / count : 0);
    if (!Number.isInteger(size) || values.length !== size * count || (count > 0 && size < 1)) {
      throw new GradgenError(
        `${what}: field "${name}" holds ${values.length} values, which is not ${count} examples` +
          (given !== undefined ? ` of ${given} values each.` : " of a whole number of values each.") +
          " Fields are example-major, n × (values per example).",
      );
    }
    setOwn(result, name, size);
  }
  return result;
}

/** Examples in `data` given the per-example sizes of some fields (every field must agree). */
export function countExamples(data: Dataset, sizes: Readonly<Record<string, number>>, what = "countExamples"): number {
  let count: number | undefined;
  let from = "";
  for (const [name, size] of Object.entries(sizes)) {
    const values = ownField(data, name);
    if (values === undefined) continue;
    const n = values.length / size;
    if (!Number.isInteger(n)) {
      throw new GradgenError(`${what}: field "${name}" holds ${values.length} values, not a whole number of examples of ${size} values.`);
    }
    if (count !== undefined && n !== count) {
      throw new GradgenError(`${what}: field "${name}" holds ${n} examples but "${from}" holds ${count}; every field needs one row per example.`);
    }
    count = n;
    from = name;
  }
  if (count === undefined) throw new GradgenError(`${what}: none of the fields ${Object.keys(sizes).join(", ")} is in the data.`);
  return count;
}

// ---------------------------------------------------------------------------------------------
// Batches

export interface BatchOptions {
  /** Examples per batch; the last batch of an epoch may be shorter. */
  readonly batchSize: number;
  /** Examples in the data; default: from `sizes`. */
  readonly count?: number;
  /** Values per example of some fields; the others get length / count. */
  readonly sizes?: Readonly<Record<string, number>>;
  /** A fresh seeded order every epoch. Default false. */
  readonly shuffle?: boolean;
  readonly seed?: number;
  /** Type of the batch buffers; default each field's own. */
  readonly dtype?: "f32" | "f64";
  /** Only these fields (default all). */
  readonly fields?: readonly string[];
}

export interface BatchView {
  /** The reused batch buffers; the first n examples are valid. */
  readonly batch: Dataset;
  /** Examples in this batch (batchSize, or fewer for the last). */
  n: number;
  /** Batch number within the epoch, from 0. */
  index: number;
}

/**
 * Copies batches of examples into buffers allocated once. `for (const { batch, n } of batcher)`
 * runs one epoch (reshuffled when `shuffle`); `startEpoch()` + `nextBatch()` do the same without an
 * iterator. Nothing is allocated per batch or per epoch.
 */
export class Batcher implements IterableIterator<BatchView, undefined> {
  readonly count: number;
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  /** The batch buffers, batchSize × size per field, reused by every batch. */
  readonly batch: Dataset;
  /** Example order of the current epoch. */
  readonly order: Uint32Array;
  readonly sizes: Readonly<Record<string, number>>;
  private readonly fields: { source: Real; target: Real; size: number }[];
  /** mulberry32 state of the shuffling; undefined without shuffle. */
  private readonly randomState: Uint32Array | undefined;
  private position = 0;
  private readonly view: BatchView;
  private readonly yielded: IteratorYieldResult<BatchView>;
  private readonly finished: IteratorReturnResult<undefined> = { done: true, value: undefined };

  constructor(data: Dataset, options: BatchOptions) {
    const names = options.fields ?? Object.keys(data);
    const selected: Dataset = {};
    for (const name of names) {
      const values = ownField(data, name);
      if (values === undefined) throw new GradgenError(`Batcher: the data has no field "${name}" (it has ${Object.keys(data).join(", ") || "none"}).`);
      setOwn(selected, name, values);
    }
    const count = options.count ?? countExamples(selected, options.sizes ?? {}, "Batcher");
    const sizes = fieldSizes(selected, count, options.sizes, "Batcher");
    const batchSize = options.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new GradgenError(`Batcher: batchSize = ${batchSize} must be a positive integer.`);
    this.count = count;
    this.batchSize = batchSize;
    this.batchesPerEpoch = Math.ceil(count / batchSize);
    this.sizes = sizes;
    this.batch = {};
    this.fields = [];
    for (const name of names) {
      const source = selected[name];
      const ArrayType = options.dtype === "f64" ? Float64Array : options.dtype === "f32" ? Float32Array : (source.constructor as Float32ArrayConstructor | Float64ArrayConstructor);
      const target = new ArrayType(batchSize * sizes[name]);
      setOwn(this.batch, name, target);
      this.fields.push({ source, target, size: sizes[name] });
    }
    this.order = new Uint32Array(count);
    for (let i = 0; i < count; i++) this.order[i] = i;
    this.randomState = options.shuffle ? Uint32Array.of((options.seed ?? 0) >>> 0) : undefined;
    this.view = { batch: this.batch, n: 0, index: -1 };
    this.yielded = { done: false, value: this.view };
    this.position = count;
  }

  /** Rewind to the first batch, reshuffling first when shuffle is on. */
  startEpoch(): void {
    if (this.randomState) shuffleSeeded(this.order, this.randomState);
    this.position = 0;
    this.view.index = -1;
    this.view.n = 0;
  }

  /** Fill `batch` with the next examples; returns their number, 0 when the epoch is over. */
  nextBatch(): number {
    const start = this.position;
    const n = Math.min(this.batchSize, this.count - start);
    if (n <= 0) return 0;
    const order = this.order;
    for (const { source, target, size } of this.fields) {
      for (let k = 0; k < n; k++) {
        const from = order[start + k] * size;
        const to = k * size;
        for (let j = 0; j < size; j++) target[to + j] = source[from + j];
      }
    }
    this.position = start + n;
    this.view.n = n;
    this.view.index++;
    return n;
  }

  next(): IteratorResult<BatchView, undefined> {
    return this.nextBatch() > 0 ? this.yielded : this.finished;
  }

  /** Starts a new epoch: each for…of over the batcher is one epoch. */
  [Symbol.iterator](): this {
    this.startEpoch();
    return this;
  }
}

export function batches(data: Dataset, options: BatchOptions): Batcher {
  return new Batcher(data, options);
}
