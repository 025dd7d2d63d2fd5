// The contract of fitted transforms: their saved JSON form and the interface every transform implements.

import { GradgenError } from "../../errors.js";
import type { Real } from "../trainer.js";
import { checkFeatures } from "./shape.js";

export type TransformJSON =
  | { readonly kind: "center"; readonly features: number; readonly mean: readonly number[] }
  | {
      readonly kind: "standardize";
      readonly features: number;
      readonly mean: readonly number[];
      readonly std: readonly number[];
    }
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
  | {
      readonly kind: "zca";
      readonly features: number;
      readonly mean: readonly number[];
      readonly matrix: readonly number[];
      readonly epsilon: number;
    };

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

export function requireExamples(n: number, least: number, what: string): void {
  if (n < least)
    throw new GradgenError(`${what}: fitting needs at least ${least} example${least > 1 ? "s" : ""}, got ${n}.`);
}

export function expectKind<K extends TransformJSON["kind"]>(
  json: TransformJSON,
  kind: K,
): Extract<TransformJSON, { kind: K }> {
  if (json?.kind !== kind)
    throw new GradgenError(`Expected a saved "${kind}" transform, got kind ${JSON.stringify(json?.kind)}.`);
  checkFeatures(json.features, `${kind}.fromJSON`);
  return json as Extract<TransformJSON, { kind: K }>;
}

export function vector(values: readonly number[] | undefined, length: number, name: string): Float64Array {
  if (!Array.isArray(values) || values.length !== length || values.some((v) => typeof v !== "number")) {
    throw new GradgenError(`Saved transform: "${name}" must be an array of ${length} numbers.`);
  }
  return Float64Array.from(values);
}
