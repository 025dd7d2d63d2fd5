// Per-feature affine transforms: centring, standardisation, min-max scaling.

import { GradgenError } from "../../errors.js";
import type { Real } from "../trainer.js";
import { featureMeans, outputArray, rowsOf } from "./shape.js";
import { expectKind, requireExamples, vector, type FittedTransform, type TransformJSON } from "./transform.js";

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
      for (let j = 0; j < d; j++) y[row + j] = (x[row + j]! - shift[j]!) * scale[j]! + offset;
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
    super(
      mean.length,
      mean,
      std.map((s) => (s > 0 ? 1 / s : 1)),
      0,
    );
  }

  static fit(x: Real, features: number): Standardization {
    const n = rowsOf(x, features, "fitStandardization");
    requireExamples(n, 1, "fitStandardization");
    const d = features;
    const mean = featureMeans(x, n, d);
    const variance = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const centred = x[i * d + j]! - mean[j]!;
        variance[j]! += centred * centred;
      }
    }
    return new Standardization(
      mean,
      variance.map((v) => Math.sqrt(v / n)),
    );
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
    super(
      min.length,
      min,
      min.map((lo, j) => (max[j]! > lo ? width / (max[j]! - lo) : 1)),
      range[0],
    );
  }

  static fit(x: Real, features: number, options: { range?: readonly [number, number] } = {}): MinMaxScaling {
    const n = rowsOf(x, features, "fitMinMax");
    requireExamples(n, 1, "fitMinMax");
    const range = options.range ?? [0, 1];
    if (!(range[1] > range[0]))
      throw new GradgenError(`fitMinMax: range [${range[0]}, ${range[1]}] must be increasing.`);
    const d = features;
    const min = new Float64Array(d).fill(Infinity);
    const max = new Float64Array(d).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const v = x[i * d + j]!;
        if (v < min[j]!) min[j] = v;
        if (v > max[j]!) max[j] = v;
      }
    }
    return new MinMaxScaling(min, max, [range[0], range[1]]);
  }

  static fromJSON(json: TransformJSON): MinMaxScaling {
    const j = expectKind(json, "minmax");
    return new MinMaxScaling(vector(j.min, j.features, "min"), vector(j.max, j.features, "max"), [
      j.range[0],
      j.range[1],
    ]);
  }

  toJSON(): TransformJSON {
    return {
      kind: "minmax",
      features: this.features,
      min: Array.from(this.min),
      max: Array.from(this.max),
      range: this.range,
    };
  }
}
