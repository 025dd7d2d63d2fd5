// The TypeScript trainer's entry functions: each entry point as one function, or, when its kernels
// print larger than src/schedule/split.ts's budget, as parts called in order from a short driver
// (each part small enough for V8 to optimise). This file measures each kernel's printed size and
// prints the plan split.ts makes from those sizes; it decides nothing itself.

import type { Access, EntryPoint, Extent, Kernel, Program, Value } from "../schedule/program.js";
import { planEntrySplit, type EntryPart } from "../schedule/split.js";
import { withIndexAccesses } from "../schedule/queries.js";
import { bufferName, typescriptFunction } from "../schedule/names.js";

export class Writer {
  readonly lines: string[] = [];
  constructor(private indent: number) {}
  line(text: string): void {
    this.lines.push("  ".repeat(this.indent) + text);
  }
  open(text: string): void {
    this.line(text);
    this.indent++;
  }
  close(text = "}"): void {
    this.indent--;
    this.line(text);
  }
  /** `} else {`: closes a block and opens the next at the same depth. */
  reopen(text: string): void {
    this.close(text);
    this.indent++;
  }
}

/** Whether kernels (and the scalar an entry returns) read the call's example count n and the learning rate. */
export function uses(kernels: readonly Kernel[], returns?: Access): { n: boolean; rate: boolean } {
  let [n, rate] = [false, false];
  const extent = (e: Extent | undefined) => void (n ||= e?.perExample === true);
  const scalar = (access: Access | undefined) => {
    if (access?.storage.kind !== "scalar") return;
    n ||= access.storage.code.kind === "batchSize";
    rate ||= access.storage.code.kind === "learningRate";
  };
  const values = (list: readonly Value[]) => list.forEach((v) => v.kind === "load" && scalar(v.access));
  for (const kernel of kernels) {
    switch (kernel.kind) {
      case "loop":
        kernel.dims.forEach(extent);
        kernel.touches?.dims.forEach(extent);
        values(kernel.values);
        break;
      case "gemm":
        [kernel.m, kernel.n, kernel.k, kernel.repeat?.count].forEach(extent);
        break;
      case "fill":
        extent(kernel.length);
        break;
      case "local":
        values(kernel.values);
        break;
      case "scan": {
        const inner = uses(kernel.kernels);
        n ||= inner.n;
        rate ||= inner.rate;
        break;
      }
    }
  }
  scalar(returns);
  return { n, rate };
}

/** Buffers a kernel names. */
function buffersOf(kernel: Kernel): string[] {
  const named = (access: Access) => (access.storage.kind === "buffer" ? [access.storage.name] : []);
  const loads = (values: readonly Value[]) => values.flatMap((v) => (v.kind === "load" ? named(v.access) : []));
  switch (kernel.kind) {
    case "loop":
      return [
        ...withIndexAccesses(kernel.target).flatMap(named),
        ...(kernel.extraStores ?? []).flatMap((s) => named(s.target)),
        ...kernel.values.flatMap((v) => (v.kind === "load" ? withIndexAccesses(v.access).flatMap(named) : [])),
        ...(kernel.touches ? named(kernel.touches.ids) : []),
      ];
    case "gemm":
      return [kernel.a.buffer, kernel.b.buffer, kernel.c.buffer];
    case "fill":
      return [kernel.buffer];
    case "local":
      return loads(kernel.values);
    case "scan":
      return kernel.kernels.flatMap(buffersOf);
  }
}

/**
 * A function's parameter list: the inputs it reads, then n where used. The learning rate is not a
 * parameter: a function that uses it reads trainer.learningRate itself (`readsRate`), because a double
 * passed to a call V8 does not inline is boxed as a heap number, an allocation on every step (runStep
 * of a 1,000-step unrolled RNN is too large to inline updateProgram: 16 B/step).
 */
function parameters(inputs: readonly string[], used: { n: boolean }, inputType: (name: string) => string): string[] {
  return [...inputs.map((name) => `${bufferName.input(name)}: ${inputType(name)}`), ...(used.n ? ["n: number"] : [])];
}

/** The statement that gives a function using the learning rate its local `rate`. */
const readsRate = (used: { rate: boolean }) => (used.rate ? [`    const rate = trainer.learningRate;`] : []);

const argumentNames = (params: readonly string[]) => params.map((p) => p.slice(0, p.indexOf(":")));

export interface EntryFunctions {
  /** Each entry point's function(s), in the Program's order. */
  readonly functions: readonly string[];
  /** Slots the carry array needs (the most any entry point uses; 0: no array). */
  readonly carried: number;
  /** The largest function printed here (its declaration in the generated TypeScript). */
  readonly largest: { readonly name: string; readonly lines: number; readonly bytes: number };
}

/**
 * Prints every entry point. `printKernel` writes kernel `id` of an entry point; `returnLine` is the
 * statement that leaves the entry's result in lossSlot.
 */
export function printEntryFunctions(
  program: Program,
  printKernel: (out: Writer, kernel: Kernel, id: number) => void,
  returnLine: (returns: Access) => string,
  inputType: (name: string) => string = () => "Values",
): EntryFunctions {
  let carried = 0;
  let largest = { name: "", lines: 0, bytes: 0 };
  const declare = (name: string, params: readonly string[], body: readonly string[]) => {
    const text = [`  function ${name}(${params.join(", ")}): void {`, ...body, `  }`].join("\n");
    const size = { name, lines: body.length + 2, bytes: Buffer.byteLength(text) };
    if (size.bytes > largest.bytes) largest = size;
    return text;
  };
  const functions = program.entryPoints.map((ep: EntryPoint) => {
    const printed = ep.kernels.map((kernel, i) => {
      const out = new Writer(2);
      printKernel(out, kernel, i);
      return out.lines;
    });
    const split = planEntrySplit(
      ep,
      printed.map((lines) => lines.reduce((sum, line) => sum + line.length + 1, 0)),
    );
    carried = Math.max(carried, split.carried);
    const entryName = typescriptFunction.entry(ep.name);
    const entryParams = parameters(ep.inputs, uses(ep.kernels, ep.returns), inputType);
    const body = (part: EntryPart) => {
      const kernels = ep.kernels.slice(part.start, part.end);
      const lines = [
        ...readsRate(uses(kernels, part.returns ? ep.returns : undefined)),
        ...part.loads.map(({ name, slot }) => `    const ${name} = ${typescriptFunction.carry}[${slot}]!;`),
      ];
      for (let i = part.start; i < part.end; i++) {
        for (const line of printed[i]!) lines.push(line); // no spread: one long kernel overflows the stack
        const store = part.stores.get(i);
        if (store) lines.push(`    ${typescriptFunction.carry}[${store.slot}] = ${store.name};`);
      }
      // Into a Float64Array, not a return value: a double returned from a call that is not inlined
      // is boxed as a heap number, an allocation on every step.
      if (part.returns && ep.returns) lines.push(`    ${returnLine(ep.returns)}`);
      return lines;
    };
    if (split.parts.length === 1) return declare(entryName, entryParams, body(split.parts[0]!));
    const parts = split.parts.map((part, k) => {
      const kernels = ep.kernels.slice(part.start, part.end);
      const named = new Set(kernels.flatMap(buffersOf));
      const inputs = ep.inputs.filter((x) => named.has(bufferName.input(x)));
      const params = parameters(inputs, uses(kernels, part.returns ? ep.returns : undefined), inputType);
      const name = typescriptFunction.part(ep.name, k + 1);
      return { name, params, text: declare(name, params, body(part)) };
    });
    const driver = declare(entryName, entryParams, [
      `    // ${ep.kernels.length} kernels in ${parts.length} functions, each small enough for V8 to optimise`,
      ...parts.map(({ name, params }) => `    ${name}(${argumentNames(params).join(", ")});`),
    ]);
    return [...parts.map((p) => p.text), driver].join("\n");
  });
  return { functions, carried, largest };
}
