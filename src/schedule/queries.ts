// Questions about a Program's kernels that both emitters and buffer planning ask: which buffer an
// access names, whether two accesses are the same, whether an index map is one-to-one, and which
// buffers (or which elements of them) a kernel reads and writes.

import type { Access, Extent, Kernel, Storage } from "./program.js";

/** The buffer an access names (stores always name one). */
export function bufferOf(access: Access): string {
  if (access.storage.kind !== "buffer") throw new Error("internal: a store to a scalar");
  return access.storage.name;
}

/** The same buffer, offset and strides: the same element at every iteration. */
export function sameAccess(a: Access, b: Access): boolean {
  return (
    bufferOf(a) === bufferOf(b) &&
    a.offset === b.offset &&
    a.strides.length === b.strides.length &&
    a.strides.every((s, i) => s === b.strides[i]) &&
    sameIndirect(a, b)
  );
}

function sameIndirect(a: Access, b: Access): boolean {
  if (!a.indirect || !b.indirect) return a.indirect === b.indirect;
  return a.indirect.stride === b.indirect.stride && sameAccess(a.indirect.access, b.indirect.access);
}

/** An access, then the accesses its indirect index reads (in that order). */
export function withIndexAccesses(access: Access): Access[] {
  return access.indirect ? [access, ...withIndexAccesses(access.indirect.access)] : [access];
}

/** The buffers an access reads to find its element: the ids of an indirect one. */
export function indexReads(access: Access): string[] {
  return access.indirect ? [bufferOf(access.indirect.access), ...indexReads(access.indirect.access)] : [];
}

/** The largest value of an extent: at the compiled batch when it counts examples. */
export const maxExtent = (e: Extent, batch: number) => e.factor * (e.perExample ? batch : 1);

/** Whether Σ iₖ·sₖ (0 ≤ iₖ < eₖ) takes distinct values for distinct index tuples: each stride exceeds the span of the smaller ones. */
export function injective(dims: readonly (readonly [extent: number, stride: number])[]): boolean {
  let span = 0;
  for (const [extent, stride] of [...dims].filter(([e]) => e > 1).sort((x, y) => x[1] - y[1])) {
    if (stride <= span) return false;
    span += stride * (extent - 1);
  }
  return true;
}

/** The buffers a kernel reads and writes (by name, in the order they appear). */
export function buffersOf(kernel: Kernel): { reads: string[]; writes: string[] } {
  const storageName = (s: Storage) => (s.kind === "buffer" ? [s.name] : []);
  switch (kernel.kind) {
    case "loop":
      return {
        reads: kernel.values
          .flatMap((v) => (v.kind === "load" ? [...storageName(v.access.storage), ...indexReads(v.access)] : []))
          .concat(kernel.mode === "add" ? storageName(kernel.target.storage) : [])
          .concat(indexReads(kernel.target)),
        writes: [kernel.target, ...(kernel.extraStores ?? []).map((store) => store.target)].flatMap((target) =>
          storageName(target.storage),
        ),
      };
    case "gemm":
      return { reads: [kernel.a.buffer, kernel.b.buffer], writes: [kernel.c.buffer] };
    case "fill":
      return { reads: [], writes: [kernel.buffer] };
    case "local":
      return {
        reads: kernel.values.flatMap((v) => (v.kind === "load" ? storageName(v.access.storage) : [])),
        writes: [],
      };
    case "scan": {
      const nested = kernel.kernels.map(buffersOf);
      return { reads: nested.flatMap((k) => k.reads), writes: nested.flatMap((k) => k.writes) };
    }
  }
}

/** Elements of one buffer a kernel touches: offset + Σ iₖ·strideₖ over (extent, stride) dims, for n examples. */
export interface Touch {
  readonly buffer: string;
  readonly offset: number;
  readonly dims: readonly (readonly [extent: number, stride: number])[];
}

/** The elements a kernel reads and writes, for n examples. */
export function touches(kernel: Kernel, n: number): { reads: Touch[]; writes: Touch[] } {
  const size = (e: Extent) => e.factor * (e.perExample ? n : 1);
  const reads: Touch[] = [];
  const writes: Touch[] = [];
  const access = (a: Access, dims: readonly Extent[]): Touch | undefined =>
    a.storage.kind === "buffer"
      ? { buffer: a.storage.name, offset: a.offset, dims: a.strides.map((s, d) => [size(dims[d]!), s] as const) }
      : undefined;
  switch (kernel.kind) {
    case "loop":
      for (const v of kernel.values)
        if (v.kind === "load") reads.push(...[access(v.access, kernel.dims)].filter((t) => t !== undefined));
      if (kernel.mode === "add") reads.push(access(kernel.target, kernel.dims)!);
      for (const t of [kernel.target, ...(kernel.extraStores ?? []).map((e) => e.target)])
        writes.push(access(t, kernel.dims)!);
      break;
    case "local":
      for (const v of kernel.values)
        if (v.kind === "load") reads.push(...[access(v.access, [])].filter((t) => t !== undefined));
      break;
    case "fill":
      writes.push({ buffer: kernel.buffer, offset: 0, dims: [[size(kernel.length), 1]] });
      break;
    case "gemm": {
      const { a, b, c, repeat } = kernel;
      const r = [size(repeat?.count ?? { factor: 1, perExample: false }), 0] as const;
      reads.push({
        buffer: a.buffer,
        offset: a.offset,
        dims: [
          [r[0], repeat?.aStride ?? 0],
          [size(kernel.m), a.rowStride],
          [size(kernel.k), a.colStride],
        ],
      });
      reads.push({
        buffer: b.buffer,
        offset: b.offset,
        dims: [
          [r[0], repeat?.bStride ?? 0],
          [size(kernel.k), b.rowStride],
          [size(kernel.n), b.colStride],
        ],
      });
      writes.push({
        buffer: c.buffer,
        offset: c.offset,
        dims: [
          [r[0], repeat?.cStride ?? 0],
          [size(kernel.m), c.rowStride],
          [size(kernel.n), c.colStride],
        ],
      });
      break;
    }
    case "scan": {
      // Every step's elements: an access that moves with t gets the step as one more dimension
      const stepped = (touch: Touch, stride: number | undefined): Touch =>
        stride ? { ...touch, dims: [...touch.dims, [kernel.length, stride] as const] } : touch;
      for (const nested of kernel.kernels) {
        const inner = touches(nested, n);
        const strides = nested.kind === "loop" ? nested : undefined;
        const loadStride = strides?.values.find((v) => v.kind === "load" && v.access.stepStride);
        reads.push(
          ...inner.reads.map((t) => stepped(t, loadStride?.kind === "load" ? loadStride.access.stepStride : undefined)),
        );
        writes.push(...inner.writes.map((t) => stepped(t, strides?.target.stepStride)));
      }
      break;
    }
  }
  return { reads, writes };
}

/** Visits every element of a touch (with repeats, in index order). */
export function forEachElement(touch: Touch, visit: (element: number) => void): void {
  const walk = (d: number, at: number) => {
    if (d === touch.dims.length) return visit(at);
    const [extent, stride] = touch.dims[d]!;
    for (let i = 0; i < extent; i++) walk(d + 1, at + i * stride);
  };
  walk(0, touch.offset);
}
