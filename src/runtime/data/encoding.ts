// Class labels as one-hot rows and back.

import { GradgenError } from "../../errors.js";
import type { Real } from "../trainer.js";
import { checkFeatures, rowsOf } from "./shape.js";

/** One row of `classes` values per label: 1 at the label's index, 0 elsewhere (Float32Array by default). */
export function oneHot<T extends Real = Float32Array>(labels: ArrayLike<number>, classes: number, into?: T): T {
  checkFeatures(classes, "oneHot");
  const n = labels.length;
  const out = (into ?? new Float32Array(n * classes)) as T;
  if (out.length < n * classes)
    throw new GradgenError(`oneHot: the output array holds ${out.length} values, ${n * classes} are needed.`);
  out.fill(0, 0, n * classes);
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new GradgenError(`oneHot: label ${label} at index ${i} is not an integer from 0 to ${classes - 1}.`);
    }
    out[i * classes + label] = 1;
  }
  return out;
}

/** Index of the largest value in each row of `features` values (the inverse of oneHot). */
export function argmaxRows(
  x: Real,
  features: number,
  into: Int32Array = new Int32Array(rowsOf(x, features, "argmaxRows")),
): Int32Array {
  const n = rowsOf(x, features, "argmaxRows");
  for (let i = 0; i < n; i++) into[i] = argmaxRow(x, i * features, features);
  return into;
}

/** Index (0-based, relative to start) of the largest of x[start … start+size). */
export function argmaxRow(x: ArrayLike<number>, start: number, size: number): number {
  let best = 0;
  for (let j = 1; j < size; j++) if (x[start + j]! > x[start + best]!) best = j;
  return best;
}
