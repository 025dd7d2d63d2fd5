// Linear projections fitted from the covariance: PCA (optionally whitened) and ZCA whitening.

import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { GradgenError } from "../../errors.js";
import type { Real } from "../trainer.js";
import { featureMeans, outputArray, rowsOf } from "./shape.js";
import { expectKind, requireExamples, vector, type FittedTransform, type TransformJSON } from "./transform.js";

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
      for (let j = 0; j < d; j++) row[j] = x[i * d + j]! - mean[j]!;
      for (let c = 0; c < k; c++) {
        let sum = 0;
        const m = c * d;
        for (let j = 0; j < d; j++) sum += matrix[m + j]! * row[j]!;
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
        const factor = 1 / Math.sqrt(variances[c]! + epsilon);
        for (let j = 0; j < features; j++) matrix[c * features + j]! *= factor;
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
      if (!(fraction > 0 && fraction <= 1))
        throw new GradgenError(`fitPCA: retainVariance = ${fraction} must lie in (0, 1].`);
      let kept = 0;
      let needed = 0;
      while (needed < k && kept < fraction * total * (1 - 1e-12)) kept += values[needed++]!;
      k = Math.max(needed, 1);
    }
    return new PCAProjection(
      d,
      mean,
      vectors.slice(0, k * d),
      values.slice(0, k),
      total,
      options.whiten ?? false,
      epsilon,
    );
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
      for (let j = 0; j < d; j++) reconstructed[j] = mean[j]!;
      for (let c = 0; c < k; c++) {
        const coordinate = whiten ? y[i * k + c]! * Math.sqrt(variances[c]! + epsilon) : y[i * k + c]!;
        for (let j = 0; j < d; j++) reconstructed[j]! += coordinate * basis[c * d + j]!;
      }
      for (let j = 0; j < d; j++) x[i * d + j] = reconstructed[j]!;
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
      const factor = 1 / Math.sqrt(values[c]! + epsilon);
      for (let a = 0; a < d; a++) {
        const ua = vectors[c * d + a]! * factor;
        for (let b = 0; b < d; b++) matrix[a * d + b]! += ua * vectors[c * d + b]!;
      }
    }
    return new ZCAWhitening(d, mean, matrix, epsilon);
  }

  static fromJSON(json: TransformJSON): ZCAWhitening {
    const j = expectKind(json, "zca");
    return new ZCAWhitening(
      j.features,
      vector(j.mean, j.features, "mean"),
      vector(j.matrix, j.features * j.features, "matrix"),
      j.epsilon,
    );
  }

  toJSON(): TransformJSON {
    return {
      kind: "zca",
      features: this.features,
      mean: Array.from(this.mean),
      matrix: Array.from(this.matrix),
      epsilon: this.epsilon,
    };
  }
}

/**
 * Mean, and eigenvalues (descending, ≥ 0) and unit eigenvectors (rows, largest |component|
 * positive, for reproducible signs) of the population covariance (1/n) Σ (x − μ)(x − μ)ᵀ.
 */
function principalAxes(
  x: Real,
  n: number,
  d: number,
): { mean: Float64Array; values: Float64Array; vectors: Float64Array } {
  const mean = featureMeans(x, n, d);
  const covariance = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      const base = a * d;
      for (let b = a; b < d; b++) covariance[base + b]! += ra * row[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      covariance[a * d + b]! /= n;
      covariance[b * d + a] = covariance[a * d + b]!;
    }
  }
  const evd = new EigenvalueDecomposition(Matrix.from1DArray(d, d, covariance), { assumeSymmetric: true });
  const eigenvalues = evd.realEigenvalues;
  const eigenvectors = evd.eigenvectorMatrix;
  const order = Array.from({ length: d }, (_, i) => i).sort((p, q) => eigenvalues[q]! - eigenvalues[p]!);
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  order.forEach((source, c) => {
    values[c] = Math.max(eigenvalues[source]!, 0);
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
