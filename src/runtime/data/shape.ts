// Checks and helpers for example-major data: n examples × `features` values, one row per example.

import { GradgenError } from "../../errors.js";
import type { Real } from "../trainer.js";

export function checkFeatures(features: number, what: string): void {
  if (!Number.isInteger(features) || features < 1) {
    throw new GradgenError(`${what}: features = ${features} must be a positive integer (values per example).`);
  }
}

/** Examples in `x`, which must hold a whole number of examples of `features` values. */
export function rowsOf(x: Real, features: number, what: string): number {
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

export function outputArray<T extends Real>(x: T, length: number, into: Real | undefined, what: string): Real {
  if (into === undefined) return new (x.constructor as { new (length: number): T })(length);
  if (into.length < length) {
    throw new GradgenError(`${what}: the output array holds ${into.length} values, ${length} are needed.`);
  }
  return into;
}

/** Per-feature means, in float64. */
export function featureMeans(x: Real, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  return mean;
}
