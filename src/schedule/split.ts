// How an entry point is packaged into functions (issue 12: never past V8's optimisation cliff).
// V8's TurboFan refuses a function over 61,440 bytes of bytecode (docs/v8-function-limits.md);
// past it the function stays unoptimised, boxes every double and runs 6–13× slower on Node 20.
// So an entry point whose printed kernels exceed a budget is cut, at kernel boundaries, into
// parts: functions printed one after another and called in order from a short driver.
//
// The emitter measures (it prints each kernel and reports the size); this file decides. The plan
// is data: which kernels each part holds, and which shared scalar locals (`const s3 = …`, a
// LocalKernel) cross a cut. Those are carried through a preallocated Float64Array: the part that
// computes one stores it (`carry[k] = s3;`), each later part that reads it loads it once at its
// top (`const s3 = carry[k]!;`). Carried rather than recomputed: a local reads buffers that later
// kernels may overwrite (work buffers are shared), and a store and a load per part cost nothing.
// Float64Array so an f32 program's locals (JavaScript doubles) cross unchanged.

import type { Access, EntryPoint, Kernel, Value } from "./program.js";

/**
 * Printed size (characters of generated TypeScript, comments and indentation included) that one
 * function's kernels may reach before the entry point is cut. TurboFan refuses functions over
 * 61,440 B of bytecode, reached at about 82 KB of JavaScript (esbuild's output) ≈ 2,500 lines of
 * generated TypeScript; docs/v8-function-limits.md recommends half: 30,000 B of bytecode ≈ 40 KB
 * of JavaScript. JavaScript is 0.7–1.0× the TypeScript it comes from (types, `!` and comments
 * dropped; straight-line code at the high end), so 40,000 characters of TypeScript keep a part
 * at or under 40 KB of JavaScript, and a typical part near 28 KB.
 */
export const functionBudget = 40_000;

/** One function of an entry point: kernels [start, end), and the carried locals it loads and stores. */
export interface EntryPart {
  readonly start: number;
  readonly end: number;
  /** Locals computed by an earlier part that this part reads: loaded from `carry` at its top. */
  readonly loads: readonly { readonly name: string; readonly slot: number }[];
  /** Locals this part computes that a later part reads: stored into `carry` after their kernel. */
  readonly stores: ReadonlyMap<number, { readonly name: string; readonly slot: number }>;
  /** Whether the entry's `returns` is written here (the last part). */
  readonly returns: boolean;
}

export interface EntrySplit {
  /** One part: the entry point is printed as one function, as before. Several: parts and a driver. */
  readonly parts: readonly EntryPart[];
  /** Slots of the carry array this entry point uses (0 when unsplit). */
  readonly carried: number;
}

const localRead = (access: Access | undefined): string | undefined =>
  access?.storage.kind === "scalar" && access.storage.code.kind === "local" ? access.storage.code.name : undefined;

const valuesRead = (values: readonly Value[]): string[] =>
  values.flatMap((v) => (v.kind === "load" ? [localRead(v.access)] : [])).filter((n): n is string => n !== undefined);

/** The shared scalar locals a kernel reads. */
function localsRead(kernel: Kernel): string[] {
  switch (kernel.kind) {
    case "loop":
    case "local":
      return valuesRead(kernel.values);
    case "gemm":
    case "fill":
      return [];
    case "scan":
      return kernel.kernels.flatMap(localsRead);
  }
}

/**
 * Cuts `entry` into parts of at most `budget` printed characters each (`sizes[i]` is kernel i's),
 * greedily in kernel order; a kernel larger than the budget gets a part of its own.
 */
export function planEntrySplit(entry: EntryPoint, sizes: readonly number[], budget = functionBudget): EntrySplit {
  const count = entry.kernels.length;
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total <= budget || count <= 1)
    return { parts: [{ start: 0, end: count, loads: [], stores: new Map(), returns: true }], carried: 0 };
  const bounds: [number, number][] = [];
  let start = 0;
  let size = 0;
  for (let i = 0; i < count; i++) {
    if (i > start && size + sizes[i]! > budget) {
      bounds.push([start, i]);
      [start, size] = [i, 0];
    }
    size += sizes[i]!;
  }
  bounds.push([start, count]);

  // Where each local is computed (part index), and which parts read it.
  const partOf = (kernel: number) => bounds.findIndex(([s, e]) => kernel >= s && kernel < e);
  const definedIn = new Map<string, { part: number; kernel: number }>();
  entry.kernels.forEach((k, i) => k.kind === "local" && definedIn.set(k.name, { part: partOf(i), kernel: i }));
  const readsOf = bounds.map(([s, e]) => new Set(entry.kernels.slice(s, e).flatMap(localsRead)));
  const returned = localRead(entry.returns);
  if (returned !== undefined) readsOf[bounds.length - 1]!.add(returned);

  const slots = new Map<string, number>();
  const slotOf = (name: string) => {
    if (!slots.has(name)) slots.set(name, slots.size);
    return slots.get(name)!;
  };
  const loads = bounds.map((_, p) =>
    [...readsOf[p]!]
      .filter((name) => definedIn.has(name) && definedIn.get(name)!.part < p)
      .sort((a, b) => definedIn.get(a)!.kernel - definedIn.get(b)!.kernel)
      .map((name) => ({ name, slot: slotOf(name) })),
  );
  const stores = bounds.map(() => new Map<number, { name: string; slot: number }>());
  for (const [name, slot] of slots) {
    const { part, kernel } = definedIn.get(name)!;
    stores[part]!.set(kernel, { name, slot });
  }
  return {
    parts: bounds.map(([s, e], p) => ({
      start: s,
      end: e,
      loads: loads[p]!,
      stores: stores[p]!,
      returns: p === bounds.length - 1,
    })),
    carried: slots.size,
  };
}
