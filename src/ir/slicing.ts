// Shape rules of slicing and joining (slice, pad, concat), with the messages a model's author reads:
// each names the op, the shapes involved, the axis at fault and how to fix it. The DSL resolves its
// conveniences (size −1, negative axes) with these same functions, so every refusal reads alike.

import { GradgenError } from "../errors.js";
import { formatShape, type Shape } from "./shape.js";

function fail(message: string): never {
  throw new GradgenError(message);
}

const written = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v))).join(", ")}]`
    : typeof value === "string"
      ? JSON.stringify(value)
      : String(value);

const isIndexList = (value: unknown, rank: number): value is number[] =>
  Array.isArray(value) && value.length === rank && value.every((v) => typeof v === "number" && Number.isInteger(v));

/**
 * The window of `x.slice(begin, size)` (TF.js's convention: size −1 runs to the end of its axis; a
 * number stands for a one-entry list on a vector). Refuses a window that leaves the tensor.
 */
export function resolveSlice(shape: Shape, begin: unknown, size: unknown): { begin: number[]; size: number[] } {
  const rank = shape.length;
  const list = (value: unknown) => (typeof value === "number" && rank === 1 ? [value] : value);
  const b = list(begin);
  const s = size === undefined ? shape.map(() => -1) : list(size);
  if (rank === 0) fail(`slice: cannot slice a scalar; slice a tensor with at least one axis.`);
  if (!isIndexList(b, rank) || !isIndexList(s, rank)) {
    fail(
      `slice: begin ${written(begin)} and size ${written(size)} must each be a list of ${rank} integer${rank === 1 ? "" : "s"}, one per axis of ${formatShape(shape)}. Write x.slice([${shape.map(() => 0).join(", ")}], [${shape.join(", ")}]) for the whole tensor; a size of −1 runs to the end of its axis.`,
    );
  }
  const resolved = s.map((n, i) => (n === -1 ? shape[i]! - b[i]! : n));
  sliceShape(shape, b, resolved);
  return { begin: b, size: resolved };
}

/** The shape of a slice: `size`, once every axis's window [begin, begin + size) lies inside `shape`. */
export function sliceShape(shape: Shape, begin: readonly number[], size: Shape): Shape {
  if (begin.length !== shape.length || size.length !== shape.length)
    fail(`slice: begin ${written(begin)} and size ${written(size)} need one entry per axis of ${formatShape(shape)}.`);
  shape.forEach((dim, i) => {
    const [b, n] = [begin[i]!, size[i]!];
    if (!Number.isInteger(b) || !Number.isInteger(n) || b < 0 || n < 0 || b + n > dim) {
      fail(
        `slice: the window on axis ${i}, from ${b} for ${n} element${n === 1 ? "" : "s"} (begin ${written(begin)}, size ${written(size)}), runs past the ends of that axis, which has ${dim} (shape ${formatShape(shape)}). Choose 0 ≤ begin and begin + size ≤ ${dim} on every axis, or a size of −1 for "to the end".`,
      );
    }
  });
  return size;
}

/** `nn.pad`'s paddings, [before, after] per axis, as two lists; refused unless non-negative integers, one pair per axis. */
export function resolvePaddings(shape: Shape, paddings: unknown): { before: number[]; after: number[] } {
  const valid =
    Array.isArray(paddings) &&
    paddings.length === shape.length &&
    paddings.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        pair.every((v) => typeof v === "number" && Number.isInteger(v) && v >= 0),
    );
  if (!valid) {
    fail(
      `nn.pad: paddings ${Array.isArray(paddings) ? `[${paddings.map(written).join(", ")}]` : written(paddings)} must be one [before, after] pair of non-negative integers per axis of ${formatShape(shape)} (${shape.length} pair${shape.length === 1 ? "" : "s"}), for example [${shape.map(() => "[1, 1]").join(", ")}].`,
    );
  }
  const pairs = paddings as [number, number][];
  return { before: pairs.map((p) => p[0]), after: pairs.map((p) => p[1]) };
}

export function padShape(shape: Shape, before: readonly number[], after: readonly number[]): Shape {
  if (before.length !== shape.length || after.length !== shape.length || [...before, ...after].some((p) => p < 0))
    fail(`nn.pad: needs a non-negative [before, after] pair per axis of ${formatShape(shape)}.`);
  return shape.map((dim, i) => before[i]! + dim + after[i]!);
}

/** An axis of a rank-`rank` tensor, −rank … rank − 1, as 0 … rank − 1. */
export function resolveAxis(fn: string, axis: unknown, rank: number, what: string): number {
  const a = typeof axis === "number" && axis < 0 ? axis + rank : axis;
  if (typeof a !== "number" || !Number.isInteger(a) || a < 0 || a >= rank) {
    fail(
      `${fn}: axis ${written(axis)} is out of range for ${what}; an axis is an integer from −${rank} to ${rank - 1}.`,
    );
  }
  return a;
}

/** The shape of operands joined along `axis`: every other axis must agree. */
export function concatShape(shapes: readonly Shape[], axis: number): Shape {
  if (shapes.length === 0) fail(`nn.concat: needs at least one tensor to join.`);
  const first = shapes[0]!;
  const all = shapes.map(formatShape).join(", ");
  for (const shape of shapes) {
    if (shape.length !== first.length)
      fail(
        `nn.concat: cannot join tensors of different ranks (${all}); every tensor needs the same number of axes. Reshape them to one rank first.`,
      );
  }
  if (axis < 0 || axis >= first.length) fail(`nn.concat: axis ${axis} is out of range for ${all}.`);
  shapes.forEach((shape, k) => {
    const i = shape.findIndex((dim, j) => j !== axis && dim !== first[j]);
    if (i >= 0)
      fail(
        `nn.concat: cannot join ${all} along axis ${axis}: every other axis must agree, but axis ${i} has ${first[i]} in the first tensor and ${shape[i]} in tensor ${k} (counting from 0). Slice, pad or transpose so they match, or join along another axis.`,
      );
  });
  return first.map((dim, i) => (i === axis ? shapes.reduce((total, shape) => total + shape[i]!, 0) : dim));
}

/** For each element of a block of shape `inner` (row-major), its flat index inside `outer` when the block starts at `begin`. */
export function placementMap(inner: Shape, outer: Shape, begin: readonly number[]): Int32Array {
  const size = inner.reduce((a, b) => a * b, 1);
  const strides = outer.map((_, i) => outer.slice(i + 1).reduce((a, b) => a * b, 1));
  const map = new Int32Array(size);
  for (let flat = 0; flat < size; flat++) {
    let rest = flat;
    let target = 0;
    for (let i = inner.length - 1; i >= 0; i--) {
      target += ((rest % inner[i]!) + begin[i]!) * strides[i]!;
      rest = Math.floor(rest / inner[i]!);
    }
    map[flat] = target;
  }
  return map;
}

/** Where each operand of a concat starts inside the result: 0 on every axis but `axis`, the running total on it. */
export function concatOffsets(shapes: readonly Shape[], axis: number): number[][] {
  let start = 0;
  return shapes.map((shape) => {
    const begin = shape.map((_, i) => (i === axis ? start : 0));
    start += shape[axis]!;
    return begin;
  });
}
