// Seeded shuffling, and selecting, splitting and counting the examples of a dataset.

import { GradgenError } from "../../errors.js";
import { createRandom } from "../../random.js";
import { ownField, setOwn, type Dataset } from "../trainer.js";

/** mulberry32, the generator of generated modules (shared with the compiler's own tools). */
export { createRandom };

/** Fisher–Yates shuffle of `order` in place: for i from the last down, swap with j = ⌊random()·(i+1)⌋. */
export function shuffleInPlace(order: Uint32Array | Int32Array | number[], random: () => number): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const kept = order[i]!;
    order[i] = order[j]!;
    order[j] = kept;
  }
}

/**
 * shuffleInPlace(order, createRandom(seed)) with the generator inlined, so that no number is boxed
 * (nothing allocated); `state` holds the generator's state (initially the seed) and advances.
 */
export function shuffleSeeded(order: Uint32Array, state: Uint32Array): void {
  let s = state[0]!;
  for (let i = order.length - 1; i > 0; i--) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const j = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (i + 1));
    const kept = order[i]!;
    order[i] = order[j]!;
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

/** The examples at `indices` of every field, in that order, as new arrays of the field's own type. */
export function selectExamples<D extends Dataset>(data: D, count: number, indices: ArrayLike<number>): D {
  const sizes = fieldSizes(data, count, undefined, "selectExamples");
  const out: Dataset = {};
  for (const [name, values] of Object.entries(data)) {
    const size = sizes[name]!;
    const picked = new (
      values.constructor as Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor
    )(indices.length * size);
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      if (!Number.isInteger(index) || index < 0 || index >= count) {
        throw new GradgenError(`selectExamples: index ${index} is outside the ${count} examples.`);
      }
      for (let j = 0; j < size; j++) picked[k * size + j] = values[index * size + j]!;
    }
    setOwn(out, name, picked);
  }
  return out as D; // every field of data, each a new array of the same type
}

/** Split into the first `at` examples and the rest, after a seeded shuffle when `seed` is given. */
export function splitExamples<D extends Dataset>(
  data: D,
  count: number,
  at: number,
  options: { seed?: number } = {},
): [D, D] {
  if (!Number.isInteger(at) || at < 0 || at > count)
    throw new GradgenError(`splitExamples: at = ${at} must be an integer from 0 to ${count}.`);
  const order =
    options.seed === undefined ? Uint32Array.from({ length: count }, (_, i) => i) : permutation(count, options.seed);
  return [selectExamples(data, count, order.subarray(0, at)), selectExamples(data, count, order.subarray(at))];
}

/** Values per example of each field: `sizes[name]` where given, else length / count. */
export function fieldSizes(
  data: Dataset,
  count: number,
  sizes: Readonly<Record<string, number>> | undefined,
  what: string,
): Record<string, number> {
  if (!Number.isInteger(count) || count < 0)
    throw new GradgenError(`${what}: count = ${count} must be a non-negative integer.`);
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
      throw new GradgenError(
        `${what}: field "${name}" holds ${values.length} values, not a whole number of examples of ${size} values.`,
      );
    }
    if (count !== undefined && n !== count) {
      throw new GradgenError(
        `${what}: field "${name}" holds ${n} examples but "${from}" holds ${count}; every field needs one row per example.`,
      );
    }
    count = n;
    from = name;
  }
  if (count === undefined)
    throw new GradgenError(`${what}: none of the fields ${Object.keys(sizes).join(", ")} is in the data.`);
  return count;
}
