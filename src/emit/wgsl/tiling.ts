// How products and reductions use a workgroup (data, decided per shape at the compiled batch):
// a product's tile of C per workgroup of 8×8 invocations (32×32, 16×16 … 8×8, each invocation a
// 4×4 … 1×1 block), staged through workgroup memory k-step by k-step, and the split of its k range
// across workgroups (split-K) when the tiles alone are too few to fill a large GPU; a loop whose
// serial iterations are a sum (bias gradients, the mean loss) reduced as a tree in workgroup memory.

import type { Extent, GemmKernel, LoopKernel } from "../../schedule/program.js";
import { maxExtent, sameAccess } from "../../schedule/queries.js";

/** Invocations per workgroup (WebGPU's default limit is 256): 8×8 for a product's tile. */
export const WORKGROUP_SIZE = 64;
/** Invocations along each side of a product's workgroup. */
export const TILE_SIDE = 8;
/** Elements of k staged per tile (both operand tiles together at most 2·32·32 f32 = 8 KiB of workgroup memory). */
export const K_STEP = 32;
/** Workgroups every product should launch: about twice the SMs of a large GPU (H100: 132). */
const WORKGROUP_TARGET = 264;
/** Products with fewer multiply-adds (at the compiled batch) keep their largest tile and all of k: more workgroups would cost more in launches and partial sums than they gain. */
const SMALL_PRODUCT = 1 << 20;
/** Fewest elements of k a split-K part adds (four k-steps: the partial sums' traffic stays small against the product's). */
const MIN_K_CHUNK = 4 * K_STEP;
/** Tile sides, largest first: the largest whose tiles reach the target is taken. */
const SIDES = [32, 16, 8] as const;

export interface Tiling {
  /** Rows and columns of C per workgroup (multiples of 8: each invocation a (rows/8)×(columns/8) block). */
  readonly rows: number;
  readonly columns: number;
  /** Workgroups along k: each adds `kChunk` elements of k (a multiple of K_STEP) into its partial sums. */
  readonly split: number;
  readonly kChunk: number;
  /** With split > 1, the work region holding the partial sums [split][repeat][m][n] (at the compiled batch). */
  readonly scratch?: string;
  /** m, n and repeat at the compiled batch (the scratch's strides). */
  readonly shape: { readonly m: number; readonly n: number; readonly repeat: number; readonly k: number };
  /** Workgroups at the compiled batch. */
  readonly workgroups: number;
  /** Why the product launches fewer than WORKGROUP_TARGET workgroups at the compiled batch, if it does. */
  readonly short?: string;
  /**
   * Whether each operand's tile can be staged with vec4 loads (alignedForVec4); a shader uses them
   * where it also only reads the operand's chunk (vec4Loads in shaders.ts).
   */
  readonly vec4: { readonly a: boolean; readonly b: boolean };
}

/**
 * Whether an operand tile loads as vec4<f32>: its elements are consecutive (stride +1) along the
 * direction the tile is loaded in (k, or the rows/columns of C), four at a time land on 16-byte
 * boundaries (its offset, its other stride and its stride between repeats multiples of 4: regions
 * start on 16 bytes, layout.ts), and that direction's extent is a fixed multiple of 4, so a tile's
 * edge never cuts a vec4 (tiles and k-steps are multiples of 8 and 32). Else scalar loads.
 */
export function alignedForVec4(
  contiguous: number,
  other: number,
  offset: number,
  repeatStride: number,
  extent: Extent,
): boolean {
  const four = (x: number) => x % 4 === 0;
  return (
    contiguous === 1 && four(other) && four(offset) && four(repeatStride) && !extent.perExample && four(extent.factor)
  );
}

/** The direction each operand's tile is loaded in (consecutive invocations on consecutive addresses) and alignedForVec4 along it. */
export function operandVec4(kernel: GemmKernel): { readonly a: boolean; readonly b: boolean } {
  const { a, b, repeat } = kernel;
  // A is m×k: along k where it is row-major (|colStride| ≤ |rowStride|), else along its rows.
  const aAlongK = Math.abs(a.colStride) <= Math.abs(a.rowStride);
  // B is k×n: along k where |rowStride| < |colStride|, else along its columns.
  const bAlongK = Math.abs(b.rowStride) < Math.abs(b.colStride);
  return {
    a: aAlongK
      ? alignedForVec4(a.colStride, a.rowStride, a.offset, repeat?.aStride ?? 0, kernel.k)
      : alignedForVec4(a.rowStride, a.colStride, a.offset, repeat?.aStride ?? 0, kernel.m),
    b: bAlongK
      ? alignedForVec4(b.rowStride, b.colStride, b.offset, repeat?.bStride ?? 0, kernel.k)
      : alignedForVec4(b.colStride, b.rowStride, b.offset, repeat?.bStride ?? 0, kernel.n),
  };
}

const ceil = (a: number, b: number) => Math.ceil(a / b);

/** The tile and split of one product at the compiled batch; `scratch` names its partial sums if split. */
export function planTiling(kernel: GemmKernel, batch: number, scratch: string): Tiling {
  const at = (e: Extent) => maxExtent(e, batch);
  const [m, n, k] = [at(kernel.m), at(kernel.n), at(kernel.k)];
  const repeat = kernel.repeat ? at(kernel.repeat.count) : 1;
  const tilesOf = (rows: number, columns: number) => repeat * ceil(m, rows) * ceil(n, columns);
  // Largest tiles first (rows = columns, then one side halved); a side no longer than C's.
  const candidates: [number, number][] = [];
  for (const side of SIDES) {
    candidates.push([side, side]);
    if (side > 8) candidates.push([side, side / 2], [side / 2, side]);
  }
  const fitting = candidates.filter(
    ([r, c]) => (r === 8 || r / 2 < m) && (c === 8 || c / 2 < n), // no tile twice as tall (wide) as C
  );
  const shape = { m, n, repeat, k };
  const vec4 = operandVec4(kernel);
  const work = repeat * m * n * k;
  if (work < SMALL_PRODUCT) {
    const [rows, columns] = fitting[0]!;
    const workgroups = tilesOf(rows, columns);
    const short = `a small product (${work} multiply-adds at batch ${batch}, under ${SMALL_PRODUCT}): one ${rows}×${columns} tile per workgroup, k not split`;
    return {
      rows,
      columns,
      split: 1,
      kChunk: k,
      shape,
      workgroups,
      vec4,
      ...(workgroups < WORKGROUP_TARGET ? { short } : {}),
    };
  }
  const steps = Math.max(1, Math.floor(k / MIN_K_CHUNK)); // the most parts k splits into
  // The largest tile whose workgroups reach the target, without split-K if it can, else with it.
  const whole = fitting.find(([r, c]) => tilesOf(r, c) >= WORKGROUP_TARGET);
  if (whole)
    return { rows: whole[0], columns: whole[1], split: 1, kChunk: k, shape, workgroups: tilesOf(...whole), vec4 };
  const [rows, columns] = fitting.find(([r, c]) => tilesOf(r, c) * steps >= WORKGROUP_TARGET) ?? [8, 8];
  const tiles = tilesOf(rows, columns);
  // Split k: each part a whole number of k-steps; as many parts as reach the target.
  const wanted = ceil(WORKGROUP_TARGET, tiles);
  const kChunk = Math.max(MIN_K_CHUNK, Math.floor(k / wanted / K_STEP) * K_STEP);
  const split = ceil(k, kChunk);
  const workgroups = tiles * split;
  const short =
    workgroups >= WORKGROUP_TARGET
      ? undefined
      : `C is ${repeat > 1 ? `${repeat} × ` : ""}${m}×${n}: ${tiles} tile(s) of ${rows}×${columns}, and k = ${k} splits into at most ${split} part(s) of at least ${MIN_K_CHUNK}`;
  if (split === 1) return { rows, columns, split, kChunk: k, shape, workgroups, vec4, ...(short ? { short } : {}) };
  return { rows, columns, split, kChunk, scratch, shape, workgroups, vec4, ...(short ? { short } : {}) };
}

/**
 * Whether a loop's serial iterations (outer dims not run in parallel, then reduced dims) are one sum
 * per stored element that a workgroup reduces as a tree: a sum reduction, or an accumulation ("add")
 * into an element every serial iteration shares; long enough to matter (more than 64 iterations, or
 * a count of examples). One workgroup per stored element.
 */
export function treeReduction(
  kernel: LoopKernel,
  parallel: readonly number[],
  batch: number,
  absorbs: boolean,
): boolean {
  if (kernel.extraStores?.length || kernel.target.indirect) return false;
  const reduced = kernel.reduction?.dims ?? 0;
  const outer = kernel.dims.length - reduced;
  const serialOuter = Array.from({ length: outer }, (_, d) => d).filter((d) => !parallel.includes(d));
  if (serialOuter.some((d) => kernel.target.strides[d] !== 0)) return false;
  if (kernel.reduction) {
    if (kernel.reduction.op !== "sum" || serialOuter.length > 0) return false;
  } else if (kernel.mode !== "add" && !absorbs) return false;
  if (kernel.mode === "assign" && serialOuter.length > 0) return false;
  // A load of the target at another element: the Program's order matters.
  const target = kernel.target;
  const crossed = kernel.values.some(
    (v) =>
      v.kind === "load" &&
      v.access.storage.kind === "buffer" &&
      target.storage.kind === "buffer" &&
      v.access.storage.name === target.storage.name &&
      !sameAccess(v.access, target),
  );
  if (crossed) return false;
  const serial = [...serialOuter, ...Array.from({ length: reduced }, (_, k) => outer + k)].map((d) => kernel.dims[d]!);
  if (serial.length === 0) return false;
  return serial.some((e) => e.perExample) || serial.reduce((p, e) => p * maxExtent(e, batch), 1) > WORKGROUP_SIZE;
}
