// Buffer planning: temporaries that are never live at the same time share one preallocated work
// buffer. A temporary is live from the kernel that writes it to the last kernel that reads it;
// a kernel's output never shares with anything it reads (allocation happens before release).

import { unreachable } from "../errors.js";
import type { Access, Kernel, MatrixAccess, Value } from "./program.js";
import type { LoweredEntry } from "./lower.js";
import { bufferName } from "./names.js";
import { buffersOf } from "./queries.js";

export interface WorkSlot {
  readonly name: string;
  /** Elements, with per-example temporaries counted at the compiled batch size. */
  size: number;
}

export interface PlannedEntry {
  readonly kernels: Kernel[];
  readonly returns?: Access;
}

/** Assign every entry point's temporaries to shared work slots; returns the renamed kernels. */
export function planBuffers(
  entries: readonly LoweredEntry[],
  batch: number,
): { slots: WorkSlot[]; planned: PlannedEntry[] } {
  const slots: WorkSlot[] = [];
  const planned = entries.map((entry) => {
    const lastUse = new Map<string, number>();
    entry.kernels.forEach((kernel, i) => {
      const { reads, writes } = buffersOf(kernel);
      for (const name of [...reads, ...writes]) if (entry.temporaries.has(name)) lastUse.set(name, i);
    });
    const releasedAfter = new Map<number, string[]>();
    for (const [name, last] of lastUse) {
      const released = releasedAfter.get(last);
      if (released) released.push(name);
      else releasedAfter.set(last, [name]);
    }
    const free = new FreeSlots(slots);
    slots.forEach((_, i) => free.add(i));
    const assigned = new Map<string, number>();
    entry.kernels.forEach((kernel, i) => {
      for (const name of buffersOf(kernel).writes) {
        if (!entry.temporaries.has(name) || assigned.has(name)) continue;
        const temp = entry.temporaries.get(name)!;
        const need = temp.size * (temp.perExample ? batch : 1);
        let slot = free.take(need);
        if (slot === undefined) {
          slots.push({ name: bufferName.work(slots.length), size: 0 });
          slot = slots.length - 1;
        }
        slots[slot]!.size = Math.max(slots[slot]!.size, need);
        assigned.set(name, slot);
      }
      for (const name of releasedAfter.get(i) ?? []) {
        if (assigned.has(name)) free.add(assigned.get(name)!);
      }
    });
    const rename = (name: string) => (assigned.has(name) ? slots[assigned.get(name)!]!.name : name);
    return {
      kernels: entry.kernels.map((k) => renameKernel(k, rename)),
      returns: entry.returns && renameAccess(entry.returns, rename),
    };
  });
  return { slots, planned };
}

/**
 * The free work slots in (size, index) order: `take(need)` removes the first that holds `need`
 * elements, else the largest (which then grows). Buckets by size with heaps of indices, so each
 * operation is logarithmic: planning a program with tens of thousands of kernels stays fast.
 */
class FreeSlots {
  /** Distinct sizes with at least one free slot, ascending. */
  private readonly sizes: number[] = [];
  private readonly buckets = new Map<number, { readonly lowest: MinHeap; readonly highest: MinHeap; count: number }>();
  /** The size each free slot was freed at; undefined while a slot is in use. Heap entries that disagree are stale. */
  private readonly freedAtSize: (number | undefined)[] = [];

  constructor(private readonly slots: readonly WorkSlot[]) {}

  add(slot: number): void {
    const size = this.slots[slot]!.size;
    this.freedAtSize[slot] = size;
    let bucket = this.buckets.get(size);
    if (!bucket) {
      bucket = { lowest: new MinHeap(), highest: new MinHeap(), count: 0 };
      this.buckets.set(size, bucket);
      this.sizes.splice(this.firstSizeAtLeast(size), 0, size);
    }
    bucket.lowest.push(slot);
    bucket.highest.push(-slot);
    bucket.count++;
  }

  take(need: number): number | undefined {
    if (this.sizes.length === 0) return undefined;
    const position = this.firstSizeAtLeast(need);
    const fits = position < this.sizes.length;
    const size = this.sizes[fits ? position : this.sizes.length - 1]!;
    const bucket = this.buckets.get(size)!;
    let slot: number;
    do slot = fits ? bucket.lowest.pop()! : -bucket.highest.pop()!;
    while (this.freedAtSize[slot] !== size);
    this.freedAtSize[slot] = undefined;
    if (--bucket.count === 0) {
      this.buckets.delete(size);
      this.sizes.splice(this.sizes.indexOf(size), 1);
    }
    return slot;
  }

  private firstSizeAtLeast(need: number): number {
    let low = 0;
    let high = this.sizes.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.sizes[middle]! < need) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** A binary min-heap of numbers. */
class MinHeap {
  private readonly items: number[] = [];

  push(item: number): void {
    const items = this.items;
    let i = items.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (items[parent]! <= item) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= items.length) break;
      if (child + 1 < items.length && items[child + 1]! < items[child]!) child++;
      if (items[child]! >= last) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

function renameAccess(access: Access, rename: (name: string) => string): Access {
  const renamed: Access =
    access.storage.kind === "buffer"
      ? { ...access, storage: { kind: "buffer", name: rename(access.storage.name) } }
      : access;
  return access.indirect
    ? { ...renamed, indirect: { ...access.indirect, access: renameAccess(access.indirect.access, rename) } }
    : renamed;
}

function renameMatrix(matrix: MatrixAccess, rename: (name: string) => string): MatrixAccess {
  return { ...matrix, buffer: rename(matrix.buffer) };
}

function renameValue(value: Value, rename: (name: string) => string): Value {
  return value.kind === "load" ? { kind: "load", access: renameAccess(value.access, rename) } : value;
}

function renameKernel(kernel: Kernel, rename: (name: string) => string): Kernel {
  switch (kernel.kind) {
    case "loop":
      return {
        ...kernel,
        values: kernel.values.map((v) => renameValue(v, rename)),
        target: renameAccess(kernel.target, rename),
        ...(kernel.extraStores
          ? {
              extraStores: kernel.extraStores.map((store) => ({
                ...store,
                target: renameAccess(store.target, rename),
              })),
            }
          : {}),
      };
    case "gemm":
      return {
        ...kernel,
        a: renameMatrix(kernel.a, rename),
        b: renameMatrix(kernel.b, rename),
        c: renameMatrix(kernel.c, rename),
      };
    case "fill":
      return { ...kernel, buffer: rename(kernel.buffer) };
    case "local":
      return { ...kernel, values: kernel.values.map((v) => renameValue(v, rename)) };
    case "scan":
      return { ...kernel, kernels: kernel.kernels.map((k) => renameKernel(k, rename)) };
    default:
      return unreachable(kernel, "kernel kind");
  }
}
