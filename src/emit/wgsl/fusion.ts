// Epilogue fusion: an elementwise loop that reads a matrix product's output element for element
// (bias + activation) runs in that product's epilogue when nothing later reads the product itself,
// decided element by element. Planning only: the task printer prints what this decides.

import type { Access, EntryPoint, Extent, GemmKernel, LoopKernel, Program } from "../../schedule/program.js";
import {
  bufferOf,
  forEachElement,
  injective,
  maxExtent,
  sameAccess,
  touches,
  type Touch,
} from "../../schedule/queries.js";

/** The planner's decision: the loop right after a gemm is computed in the gemm's epilogue. */
export interface EpilogueFusion {
  /** The gemm's index in the entry point's kernel list; the loop is the next kernel. */
  readonly gemm: number;
  readonly loop: LoopKernel;
  /** The loop's load of the gemm's output (every load of that buffer is this one). */
  readonly load: Access;
  /** The loop's dims of extent > 1 with their strides in that load, largest stride first: the loop's indices from an element's place in C. */
  readonly decode: readonly { readonly dim: number; readonly stride: number }[];
}

/** (extent, stride) pairs: their elements offset + Σ iₖ·strideₖ. */
type Dims = readonly (readonly [extent: Extent, stride: number])[];

const trivial = (e: Extent) => !e.perExample && e.factor === 1;

/** A canonical form of the elements of `dims`: extent-1 dims dropped, by stride, dense neighbours merged. */
function canonicalDims(dims: Dims): [Extent, number][] {
  const sorted = dims
    .filter(([e]) => !trivial(e))
    .map(([e, s]) => [e, s] as [Extent, number])
    .sort((x, y) => x[1] - y[1]);
  const merged: [Extent, number][] = [];
  for (const [extent, stride] of sorted) {
    const inner = merged[merged.length - 1];
    if (inner && !inner[0].perExample && stride === inner[1] * inner[0].factor) {
      merged[merged.length - 1] = [
        { factor: inner[0].factor * extent.factor, perExample: extent.perExample },
        inner[1],
      ];
    } else merged.push([extent, stride]);
  }
  return merged;
}

function sameDims(a: Dims, b: Dims): boolean {
  const [x, y] = [canonicalDims(a), canonicalDims(b)];
  return (
    x.length === y.length &&
    x.every(([e, s], i) => e.factor === y[i]![0].factor && e.perExample === y[i]![0].perExample && s === y[i]![1])
  );
}

/** The gemm's output elements as dims over (repetition, row, column). */
function gemmOutputDims(kernel: GemmKernel): Dims {
  const { c, repeat } = kernel;
  return [
    ...(repeat ? [[repeat.count, repeat.cStride] as const] : []),
    [kernel.m, c.rowStride],
    [kernel.n, c.colStride],
  ];
}

/**
 * Whether any kernel from `from` on (or the value the entry point returns) reads an element of
 * `buffer` that `written` wrote (and not `overwritten`) and no kernel in between overwrote, for n examples.
 */
function readLater(
  entry: EntryPoint,
  from: number,
  buffer: string,
  written: readonly Touch[],
  overwritten: readonly Touch[],
  n: number,
  bufferSize: number,
): boolean {
  const live = new Uint8Array(bufferSize);
  const mark = (touch: Touch, value: number) =>
    forEachElement(touch, (e) => {
      if (e >= 0 && e < bufferSize) live[e] = value;
    });
  written.forEach((t) => mark(t, 1));
  overwritten.forEach((t) => mark(t, 0));
  const anyLive = (touch: Touch) => {
    let found = false;
    forEachElement(touch, (e) => {
      found ||= live[e] === 1;
    });
    return found;
  };
  for (let k = from; k < entry.kernels.length; k++) {
    const { reads, writes } = touches(entry.kernels[k]!, n);
    if (reads.some((t) => t.buffer === buffer && anyLive(t))) return true;
    writes.filter((t) => t.buffer === buffer).forEach((t) => mark(t, 0));
  }
  const r = entry.returns;
  return r !== undefined && r.storage.kind === "buffer" && r.storage.name === buffer && live[r.offset] === 1;
}

/**
 * Which gemm → loop pairs of an entry point run as one task (the loop in the gemm's epilogue). A pair
 * fuses when:
 *   - the loop directly follows the gemm, assigns (no reduction, no accumulation, one target) and
 *     reads the gemm's output buffer C through one access whose elements are exactly the elements the
 *     gemm writes, each once (so each of its iterations belongs to one element of C);
 *   - the loop's target is written once per iteration, is not an operand of the gemm, and is read by
 *     the loop only at the element it stores (in place);
 *   - C is a work buffer and no later kernel of the entry point (nor its returned value) reads an
 *     element of C the gemm wrote before something else overwrites it (checked element by element
 *     for n = 1, 2 and the compiled batch), so not storing C changes nothing else.
 */
export function planEpilogueFusions(program: Program, entry: EntryPoint): Map<number, EpilogueFusion> {
  const fusions = new Map<number, EpilogueFusion>();
  const kernels = entry.kernels;
  for (let i = 0; i + 1 < kernels.length; i++) {
    const gemm = kernels[i]!;
    const loop = kernels[i + 1]!;
    if (gemm.kind !== "gemm" || loop.kind !== "loop") continue;
    const fusion = epilogueFusion(program, entry, i, gemm, loop);
    if (fusion) {
      fusions.set(i, fusion);
      i++;
    }
  }
  return fusions;
}

function epilogueFusion(
  program: Program,
  entry: EntryPoint,
  index: number,
  gemm: GemmKernel,
  loop: LoopKernel,
): EpilogueFusion | undefined {
  const { c } = gemm;
  const declared = program.buffers.find((b) => b.name === c.buffer);
  if (!declared || declared.role !== "work") return undefined;
  if (loop.mode !== "assign" || loop.reduction || loop.extraStores?.length) return undefined;
  const loads = loop.values.flatMap((v) => (v.kind === "load" && v.access.storage.kind === "buffer" ? [v.access] : []));
  const ofC = loads.filter((a) => bufferOf(a) === c.buffer);
  const load = ofC[0];
  // a gather or scatter reads or stores through ids: not element for element with C
  if (loop.target.indirect || loop.values.some((v) => v.kind === "load" && v.access.indirect)) return undefined;
  if (!load || ofC.some((a) => !sameAccess(a, load)) || load.offset !== c.offset) return undefined;
  if ([...gemmOutputDims(gemm), ...load.strides.map((s) => [undefined, s] as const)].some(([, s]) => s < 0))
    return undefined;
  const loopDims = (strides: readonly number[]): Dims => loop.dims.map((e, d) => [e, strides[d]!] as const);
  const batch = program.batch;
  const oneToOne = (strides: readonly number[]) =>
    loop.dims.every((e, d) => trivial(e) || strides[d] !== 0) &&
    injective(loop.dims.map((e, d) => [maxExtent(e, batch), Math.abs(strides[d]!)] as const));
  // Each iteration reads one element of C, each element of C once: the same elements as the gemm writes.
  if (!oneToOne(load.strides) || !sameDims(loopDims(load.strides), gemmOutputDims(gemm))) return undefined;
  // The target: one element per iteration, not an operand of the gemm, read only in place.
  const target = loop.target;
  const targetName = bufferOf(target);
  if (!oneToOne(target.strides) || targetName === gemm.a.buffer || targetName === gemm.b.buffer) return undefined;
  if (loads.some((a) => bufferOf(a) === targetName && !sameAccess(a, target))) return undefined;
  // C's values are dead after the loop (where the loop stores in place, C holds the loop's values, which the epilogue stores too).
  const size = declared.size * (declared.perExample ? batch : 1);
  for (const n of new Set([1, Math.min(2, batch), batch])) {
    const overwritten = touches(loop, n).writes.filter((t) => t.buffer === c.buffer);
    if (readLater(entry, index + 2, c.buffer, touches(gemm, n).writes, overwritten, n, size)) return undefined;
  }
  const decode = loop.dims
    .map((e, dim) => ({ dim, stride: load.strides[dim]!, trivial: trivial(e) }))
    .filter((d) => !d.trivial)
    .sort((x, y) => y.stride - x.stride)
    .map(({ dim, stride }) => ({ dim, stride }));
  return { gemm: index, loop, load, decode };
}
