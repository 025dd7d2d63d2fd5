// Buffer planning: temporaries that are never live at the same time share one preallocated work
// buffer. A temporary is live from the kernel that writes it to the last kernel that reads it;
// a kernel's output never shares with anything it reads (allocation happens before release).

import { unreachable } from "../errors.js";
import type { Access, Kernel, MatrixAccess, Storage, Value } from "./program.js";
import type { LoweredEntry } from "./lower.js";
import { bufferName } from "./names.js";

export interface WorkSlot {
  readonly name: string;
  /** Elements, with per-example temporaries counted at the compiled batch size. */
  size: number;
}

export interface PlannedEntry {
  readonly kernels: Kernel[];
  readonly returns?: Access;
}

function buffersOf(kernel: Kernel): { reads: string[]; writes: string[] } {
  const storageName = (s: Storage) => (s.kind === "buffer" ? [s.name] : []);
  switch (kernel.kind) {
    case "loop":
      return {
        reads: kernel.values.flatMap((v) => (v.kind === "load" ? storageName(v.access.storage) : [])).concat(kernel.mode === "add" ? storageName(kernel.target.storage) : []),
        writes: [kernel.target, ...(kernel.extraStores ?? []).map((store) => store.target)].flatMap((target) => storageName(target.storage)),
      };
    case "gemm":
      return { reads: [kernel.a.buffer, kernel.b.buffer], writes: [kernel.c.buffer] };
    case "fill":
      return { reads: [], writes: [kernel.buffer] };
    case "local":
      return { reads: kernel.values.flatMap((v) => (v.kind === "load" ? storageName(v.access.storage) : [])), writes: [] };
    default:
      return unreachable(kernel, "kernel kind");
  }
}

/** Assign every entry point's temporaries to shared work slots; returns the renamed kernels. */
export function planBuffers(entries: readonly LoweredEntry[], batch: number): { slots: WorkSlot[]; planned: PlannedEntry[] } {
  const slots: WorkSlot[] = [];
  const planned = entries.map((entry) => {
    const lastUse = new Map<string, number>();
    entry.kernels.forEach((kernel, i) => {
      const { reads, writes } = buffersOf(kernel);
      for (const name of [...reads, ...writes]) if (entry.temporaries.has(name)) lastUse.set(name, i);
    });
    const releasedAfter = new Map<number, string[]>();
    for (const [name, last] of lastUse) releasedAfter.set(last, [...(releasedAfter.get(last) ?? []), name]);
    const free = new Set(slots.map((_, i) => i));
    const assigned = new Map<string, number>();
    entry.kernels.forEach((kernel, i) => {
      for (const name of buffersOf(kernel).writes) {
        if (!entry.temporaries.has(name) || assigned.has(name)) continue;
        const temp = entry.temporaries.get(name)!;
        const need = temp.size * (temp.perExample ? batch : 1);
        const candidates = [...free].sort((a, b) => slots[a]!.size - slots[b]!.size || a - b);
        let slot = candidates.find((s) => slots[s]!.size >= need) ?? candidates[candidates.length - 1];
        if (slot === undefined) {
          slots.push({ name: bufferName.work(slots.length), size: 0 });
          slot = slots.length - 1;
        }
        free.delete(slot);
        slots[slot]!.size = Math.max(slots[slot]!.size, need);
        assigned.set(name, slot);
      }
      for (const name of releasedAfter.get(i) ?? []) {
        if (assigned.has(name)) free.add(assigned.get(name)!);
      }
    });
    const rename = (name: string) => (assigned.has(name) ? slots[assigned.get(name)!]!.name : name);
    return { kernels: entry.kernels.map((k) => renameKernel(k, rename)), returns: entry.returns && renameAccess(entry.returns, rename) };
  });
  return { slots, planned };
}

function renameAccess(access: Access, rename: (name: string) => string): Access {
  return access.storage.kind === "buffer" ? { ...access, storage: { kind: "buffer", name: rename(access.storage.name) } } : access;
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
        ...(kernel.extraStores ? { extraStores: kernel.extraStores.map((store) => ({ ...store, target: renameAccess(store.target, rename) })) } : {}),
      };
    case "gemm":
      return { ...kernel, a: renameMatrix(kernel.a, rename), b: renameMatrix(kernel.b, rename), c: renameMatrix(kernel.c, rename) };
    case "fill":
      return { ...kernel, buffer: rename(kernel.buffer) };
    case "local":
      return { ...kernel, values: kernel.values.map((v) => renameValue(v, rename)) };
    default:
      return unreachable(kernel, "kernel kind");
  }
}
