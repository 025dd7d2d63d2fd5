// Prints a Program as one self-contained, allocation-free TypeScript module by filling
// templates/trainer.ts.tpl. It decides nothing: loop nests, fusion and buffers come from the Program.

import {
  moduleHeader,
  type ModuleHeaderText,
  numberLiteral as literal,
  objectLiteral,
  sharedHoles,
  snapshottedBuffers,
} from "./module-spec.js";
import type { ElementwiseOp as ElementwiseOpName } from "../ir/scalar.js";
import type {
  Access,
  EntryPoint,
  EntryPointName,
  Extent,
  FillKernel,
  GemmKernel,
  Kernel,
  LocalKernel,
  ScanKernel,
  LoopKernel,
  Program,
  ScalarCode,
  Value,
} from "../schedule/program.js";
import { fillTemplate, readTemplate } from "./template.js";
import { elementwiseCode, maximumCode } from "./typescript-ops.js";
import { withContiguousReads } from "./loop-order.js";
import { secondOrderParts } from "./second-order.js";
import { inputReading } from "./typescript-inputs.js";
import { functionBudget } from "../schedule/split.js";
import { printEntryFunctions, uses as usesOf, Writer } from "./typescript-functions.js";
import { runtimeSource } from "./runtime-source.js";
import { printRowsFill, printRowsLoop, printTouches, rowSetAllocations, rowSetsAnyRow } from "./typescript-rows.js";
import { fans } from "../initializers.js";
import { gemmModuleBytes } from "./wasm/gemm.js";
import { sizeOf } from "../ir/shape.js";
import { bufferOf, withIndexAccesses } from "../schedule/queries.js";
import {
  bufferName,
  propertyKey,
  stringLiteral,
  typescriptFunction,
  typescriptLocal as local,
} from "../schedule/names.js";

export type TypeScriptModuleOptions = ModuleHeaderText & {
  /** The header's words for the target after the model's name (", JavaScript target"); default none. */
  readonly target?: string;
};

function extent(e: Extent): string {
  if (!e.perExample) return String(e.factor);
  return e.factor === 1 ? "n" : `n * ${e.factor}`;
}

function scalarCode(code: ScalarCode): string {
  switch (code.kind) {
    case "literal":
      return literal(code.value);
    case "batchSize":
      return "n";
    case "learningRate":
      return "rate";
    case "local":
      return code.name;
  }
}

/** `base + i·stride`, dropping zeros and unit factors. */
function offsetPlus(base: string, index: string, stride: number): string {
  if (stride === 0) return base;
  const term = stride === 1 ? index : `${index} * ${stride}`;
  return base === "0" ? term : `${base} + ${term}`;
}

/** An index as a symbolic part plus a constant, so straight-line code folds its offsets. */
interface Index {
  readonly expr: string;
  readonly constant: number;
}

function indexText({ expr, constant }: Index): string {
  if (expr === "0" || expr === "") return String(constant);
  return constant === 0 ? expr : `${expr} + ${constant}`;
}

/** A literal as an operand: negatives in parentheses (`-` before `-2` would be a decrement). */
function operandLiteral(value: number): string {
  const text = literal(value);
  return text.startsWith("-") ? `(${text})` : text;
}

/**
 * `const <prefix>i = …;` for each value but literals, which operands use inline. Returns how each
 * value is spelled (a name, or a literal).
 */
function printValues(
  out: Writer,
  values: readonly Value[],
  indexOf: (access: Access) => string,
  prefix: string,
): string[] {
  const names: string[] = [];
  values.forEach((value, i) => {
    const name = `${prefix}${i}`;
    if (value.kind === "load") {
      const { storage } = value.access;
      if (storage.kind === "scalar" && storage.code.kind === "literal")
        return void (names[i] = operandLiteral(storage.code.value));
      const code = storage.kind === "scalar" ? scalarCode(storage.code) : `${storage.name}[${indexOf(value.access)}]!`;
      out.line(`const ${name} = ${code};`);
    } else {
      const args = value.args.map((a) => names[a]!);
      out.line(`const ${name} = ${elementwiseCode[value.op as ElementwiseOpName](args, value.exponent ?? 1)};`);
    }
    names[i] = name;
  });
  return names;
}

/**
 * A loop nest. Loops are opened outermost first; each loop's share of every index is hoisted into
 * a const at its top. The innermost `kernel.unrolled` loops are written out as straight-line code.
 */
function printLoop(out: Writer, kernel: LoopKernel, id: number, base = "0"): void {
  out.line(`// ${kernel.comment}`);
  const extraStores = kernel.extraStores ?? [];
  const accesses = [
    kernel.target,
    ...extraStores.map((store) => store.target),
    ...kernel.values.flatMap((v) => (v.kind === "load" && v.access.storage.kind === "buffer" ? [v.access] : [])),
  ].flatMap(withIndexAccesses);
  /** An access's index; an indirect one adds the id it reads (an int32 input, checked at the call) times its stride. */
  const indexAt = (indices: Map<Access, Index>, access: Access): string => {
    const [direct, ids] = [indexText(indices.get(access)!), access.indirect];
    return ids ? `${direct} + ${bufferOf(ids.access)}[${indexAt(indices, ids.access)}]! * ${ids.stride}` : direct;
  };
  const dims = kernel.dims;
  const reduced = kernel.reduction?.dims ?? 0;
  const outerCount = dims.length - reduced;
  const firstUnrolled = dims.length - kernel.unrolled;
  const targetName = (kernel.target.storage as { name: string }).name;
  const store = kernel.mode === "add" ? "+=" : "=";
  let copy = 0;

  /** Visit every iteration of dims [from, to): loops for rolled dims, emit-time iteration for unrolled ones. */
  const iterate = (
    from: number,
    to: number,
    indices: Map<Access, Index>,
    body: (indices: Map<Access, Index>) => void,
  ) => {
    if (from === to) return body(indices);
    const extentOf = dims[from]!;
    if (from >= firstUnrolled) {
      for (let i = 0; i < extentOf.factor; i++) {
        const next = new Map(
          [...indices].map(([a, index]) => [a, { ...index, constant: index.constant + i * a.strides[from]! }]),
        );
        iterate(from + 1, to, next, body);
      }
      return;
    }
    const v = local.loopIndex(id, from);
    out.open(`for (let ${v} = 0; ${v} < ${extent(extentOf)}; ${v}++) {`);
    const next = new Map<Access, Index>();
    const hoisted = new Map<string, string>(); // accesses that walk alike share one const
    accesses.forEach((access) => {
      const index = indices.get(access)!;
      const stride = access.strides[from]!;
      if (stride === 0) return next.set(access, index);
      const expr = offsetPlus(index.expr, v, stride);
      const isInnermostLoop = from === dims.length - 1 || (from + 1 === firstUnrolled && from + 1 === to);
      if (isInnermostLoop) return next.set(access, { expr, constant: index.constant });
      let name = hoisted.get(expr);
      if (name === undefined) {
        name = local.hoisted(id, from, hoisted.size);
        hoisted.set(expr, name);
        out.line(`const ${name} = ${expr};`);
      }
      next.set(access, { expr: name, constant: index.constant });
    });
    iterate(from + 1, to, next, body);
    out.close();
  };

  const start = new Map<Access, Index>(
    accesses.map((a) => [
      a,
      { expr: a.stepStride ? offsetPlus(base, scanStep, a.stepStride) : base, constant: a.offset },
    ]),
  );
  const valuesAt = (indices: Map<Access, Index>) =>
    printValues(out, kernel.values, (access) => indexAt(indices, access), local.values(id, copy++));
  const lastOf = (names: readonly string[]) => names[names.length - 1]!;
  iterate(0, outerCount, start, (outer) => {
    // `+=` reads the target too: `!` for readers compiling with noUncheckedIndexedAccess.
    const target = `${targetName}[${indexAt(outer, kernel.target)}]${kernel.mode === "add" ? "!" : ""}`;
    if (!kernel.reduction || reduced === 0) {
      const names = valuesAt(outer);
      out.line(`${target} ${store} ${lastOf(names)};`);
      for (const extra of extraStores) {
        out.line(
          `${(extra.target.storage as { name: string }).name}[${indexText(outer.get(extra.target)!)}] = ${names[extra.value]};`,
        );
      }
      return;
    }
    // Straight-line outer loops repeat this block, so each copy gets its own accumulators.
    const sum = local.sum(id, copy);
    const max = local.max(id, copy);
    const reduce = (accumulator: string, init: string, update: (value: string) => string) => {
      out.line(`let ${accumulator} = ${init};`);
      iterate(outerCount, dims.length, outer, (inner) => out.line(update(lastOf(valuesAt(inner)))));
    };
    if (kernel.reduction.op === "sum") {
      reduce(sum, "0", (v) => `${sum} += ${v};`);
      out.line(`${target} ${store} ${sum};`);
    } else if (kernel.reduction.op === "max") {
      reduce(max, "-Infinity", (v) => `${max} = ${maximumCode(max, v)};`);
      out.line(`${target} ${store} ${max};`);
    } else {
      // log Σ eᵛ = m + log Σ e^(v − m) with m = max v: no overflow
      reduce(max, "-Infinity", (v) => `${max} = ${maximumCode(max, v)};`);
      reduce(sum, "0", (v) => `${sum} += Math.exp(${v} - ${max});`);
      out.line(`${target} ${store} ${max} === -Infinity ? -Infinity : ${max} + Math.log(${sum});`);
    }
  });
}

function printGemm(out: Writer, kernel: GemmKernel, id: number): void {
  const { a, b, c } = kernel;
  out.line(`// ${kernel.comment}`);
  let bases = [String(a.offset), String(b.offset), String(c.offset)] as const;
  if (kernel.repeat) {
    const r = local.repeat(id);
    const { aStride, bStride, cStride } = kernel.repeat;
    out.open(`for (let ${r} = 0; ${r} < ${extent(kernel.repeat.count)}; ${r}++) {`);
    bases = [offsetPlus(bases[0], r, aStride), offsetPlus(bases[1], r, bStride), offsetPlus(bases[2], r, cStride)];
  }
  const [aBase, bBase, cBase] = bases;
  const at = (base: string, row: number | string, rowStride: number, col: number | string, colStride: number) => {
    let constant = 0;
    let expr = base;
    for (const [index, stride] of [
      [row, rowStride],
      [col, colStride],
    ] as const) {
      if (typeof index === "number") constant += index * stride;
      else expr = offsetPlus(expr, index, stride);
    }
    return indexText({ expr, constant });
  };
  const range = (count: number) => Array.from({ length: count }, (_, i) => i);
  if (kernel.form === "rows") {
    // Each row of C written out: C[i, j] = Σₚ A[i, p]·B[p, j] with p and j unrolled.
    const i = local.row(id);
    out.open(`for (let ${i} = 0; ${i} < ${extent(kernel.m)}; ${i}++) {`);
    out.line(`const ${local.aRow(id)} = ${offsetPlus(aBase, i, a.rowStride)};`);
    out.line(`const ${local.cRow(id)} = ${offsetPlus(cBase, i, c.rowStride)};`);
    const k = kernel.k.factor;
    for (const p of range(k))
      out.line(`const ${local.rowElement(id, p)} = ${a.buffer}[${at(local.aRow(id), 0, 0, p, a.colStride)}]!;`);
    for (const j of range(kernel.n.factor)) {
      const terms = range(k).map(
        (p) => `${local.rowElement(id, p)} * ${b.buffer}[${at(bBase, p, b.rowStride, j, b.colStride)}]!`,
      );
      out.line(`${c.buffer}[${at(local.cRow(id), 0, 0, j, 1)}] = ${terms.join(" + ") || "0"};`);
    }
    out.close();
  } else if (kernel.form === "contraction") {
    // All of C in locals while p runs (a sum over examples, typically).
    const [m, n] = [kernel.m.factor, kernel.n.factor];
    const p = local.inner(id);
    const cell = (i: number, j: number) => local.cell(id, i, j);
    out.line(
      `let ${range(m)
        .flatMap((i) => range(n).map((j) => `${cell(i, j)} = 0`))
        .join(", ")};`,
    );
    out.open(`for (let ${p} = 0; ${p} < ${extent(kernel.k)}; ${p}++) {`);
    for (const i of range(m))
      out.line(`const ${local.left(id, i)} = ${a.buffer}[${at(aBase, i, a.rowStride, p, a.colStride)}]!;`);
    for (const j of range(n))
      out.line(`const ${local.right(id, j)} = ${b.buffer}[${at(bBase, p, b.rowStride, j, b.colStride)}]!;`);
    for (const i of range(m))
      for (const j of range(n)) out.line(`${cell(i, j)} += ${local.left(id, i)} * ${local.right(id, j)};`);
    out.close();
    for (const i of range(m))
      for (const j of range(n)) out.line(`${c.buffer}[${at(cBase, i, c.rowStride, j, 1)}] = ${cell(i, j)};`);
  } else {
    out.line(
      `gemm(${extent(kernel.m)}, ${extent(kernel.n)}, ${extent(kernel.k)}, ` +
        `${a.buffer}, ${aBase}, ${a.rowStride}, ${a.colStride}, ${b.buffer}, ${bBase}, ${b.rowStride}, ${b.colStride}, ` +
        `${c.buffer}, ${cBase}, ${c.rowStride});`,
    );
  }
  if (kernel.repeat) out.close();
}

function printFill(out: Writer, kernel: FillKernel): void {
  out.line(`${kernel.buffer}.fill(${literal(kernel.value)}, 0, ${extent(kernel.length)});`);
}

function printLocal(out: Writer, kernel: LocalKernel, id: number): void {
  out.line(`// ${kernel.comment}`);
  const names = printValues(out, kernel.values, (access) => String(access.offset), local.values(id));
  out.line(`const ${kernel.name} = ${names[names.length - 1]};`);
}

function printKernel(out: Writer, kernel: Kernel, id: number, program: Program): void {
  switch (kernel.kind) {
    case "loop":
      if (kernel.touches) printTouches(out, kernel.touches, id);
      if (!kernel.rows) return printLoop(out, withContiguousReads(kernel), id);
      return printRowsLoop(
        out,
        program,
        kernel,
        id,
        () => printLoop(out, kernel, id),
        (row, base) => printLoop(out, row, id, base),
      );
    case "gemm":
      return printGemm(out, kernel, id);
    case "fill":
      return kernel.rows ? printRowsFill(out, program, kernel, id) : printFill(out, kernel);
    case "local":
      return printLocal(out, kernel, id);
    case "scan":
      return printScan(out, kernel, id, program);
  }
}

/** The step of the scan being printed (scans do not nest). */
let scanStep = "";

/** One loop over the steps, the body's kernels inside (their locals block-scoped to one step). */
function printScan(out: Writer, kernel: ScanKernel, id: number, program: Program): void {
  out.line(`// ${kernel.comment}`);
  scanStep = local.step(id);
  const t = scanStep;
  out.open(
    kernel.reverse
      ? `for (let ${t} = ${kernel.length - 1}; ${t} >= 0; ${t}--) {`
      : `for (let ${t} = 0; ${t} < ${kernel.length}; ${t}++) {`,
  );
  kernel.kernels.forEach((nested, j) => printKernel(out, nested, (id + 1) * 1000 + j, program));
  out.close();
  scanStep = "";
}

const quote = (s: string) => JSON.stringify(s);
/** An object literal from user names (quoted keys) to identifiers. */
const record = (entries: readonly [string, string][], indent: string) =>
  entries.length ? `{\n${entries.map(([k, v]) => `${indent}  ${propertyKey(k)}: ${v},`).join("\n")}\n${indent}}` : "{}";

export function emitTypeScript(program: Program, options: TypeScriptModuleOptions): string {
  const arrayType = program.dtype === "f32" ? "Float32Array" : "Float64Array";
  const entry = (name: EntryPointName) => program.entryPoints.find((e) => e.name === name);
  /** An int32 input's range of ids (undefined for a float input). */
  const idsOf = (name: string) => program.inputs.find((x) => x.name === name)!.ids;

  const bytesPerElement = program.dtype === "f32" ? 4 : 8;
  const blocked = (k: Kernel): boolean =>
    (k.kind === "gemm" && k.form === "blocked") || (k.kind === "scan" && k.kernels.some(blocked));
  const usesGemm = program.entryPoints.some((ep) => ep.kernels.some(blocked));
  // Every buffer is a view into one block of memory (WebAssembly's, when the blocked product runs there).
  const arena = usesGemm
    ? [
        `  const arena = createArena(${program.arenaSize * bytesPerElement}, options.backend ?? "auto");`,
        `  const wasmGemm = arena.wasmGemm;`,
        `  function gemm(m: number, n: number, k: number, a: Real, aOffset: number, aRow: number, aCol: number, b: Real, bOffset: number, bRow: number, bCol: number, c: Real, cOffset: number, cRow: number): void {`,
        `    if (wasmGemm === undefined) return gemmJs(m, n, k, a, aOffset, aRow, aCol, b, bOffset, bRow, bCol, c, cOffset, cRow);`,
        `    wasmGemm(m, n, k, a.byteOffset / ${bytesPerElement} + aOffset, aRow, aCol, b.byteOffset / ${bytesPerElement} + bOffset, bRow, bCol, c.byteOffset / ${bytesPerElement} + cOffset, cRow);`,
        `  }`,
      ].join("\n")
    : `  const arena = { buffer: new ArrayBuffer(${program.arenaSize * bytesPerElement}) };`;
  const allocations = program.buffers.map((buffer) => {
    const size = Math.max(1, buffer.size * (buffer.perExample ? program.batch : 1));
    return `  const ${buffer.name} = new ${arrayType}(arena.buffer, ${buffer.offset * bytesPerElement}, ${size});`;
  });
  // Snapshots of parameters and optimizer state, allocated once so early stopping allocates nothing.
  const snapshotted = snapshottedBuffers(program);
  for (const name of snapshotted)
    allocations.push(`  const ${bufferName.snapshot(name)} = new ${arrayType}(${name}.length);`);

  const initialisation = [
    ...program.params.map((param) => {
      const { fanIn, fanOut } = fans(param.shape, param.filterFans);
      const init =
        typeof param.init === "number"
          ? literal(param.init)
          : typeof param.init === "string"
            ? quote(param.init)
            : objectLiteral(param.init, "    ");
      const buffer = bufferName.param(param.name);
      return [
        `  {`,
        `    const given = givenParam(params, ${stringLiteral(param.name)}, ${sizeOf(param.shape)});`,
        `    if (given !== undefined) ${buffer}.set(given);`,
        `    else initialise(${buffer}, ${init}, ${fanIn}, ${fanOut}, random);`,
        `  }`,
      ].join("\n");
    }),
    ...program.state.filter((s) => s.initial !== 0).map((s) => `  ${s.buffer}.fill(${literal(s.initial)});`),
    ...(program.constants ?? []).map((c) => `  ${c.buffer}.set([${c.values.map(literal).join(", ")}]);`),
  ];

  allocations.push(...rowSetAllocations(program));
  const reading = inputReading(program);
  allocations.push(...reading.declarations);
  const entryFunctions = printEntryFunctions(
    program,
    (out, kernel, id) => printKernel(out, kernel, id, program),
    (r) =>
      `lossSlot[0] = ${r.storage.kind === "scalar" ? scalarCode(r.storage.code) : `${r.storage.name}[${r.offset}]!`};`,
    (name) => (idsOf(name) ? "Int32Array" : "Values"),
  );
  if (entryFunctions.carried > 0)
    allocations.push(
      `  const ${typescriptFunction.carry} = new Float64Array(${entryFunctions.carried}); // shared scalars between the parts of split entry functions`,
    );
  if (entryFunctions.functions.some((text) => text.includes(`${typescriptFunction.pick}[`)))
    allocations.push(`  const ${typescriptFunction.pick} = new Float64Array(2); // a branch-free maximum's operands`);
  const uses = (ep: EntryPoint) => usesOf(ep.kernels, ep.returns);

  /** The arguments entry function `name` takes after its inputs, given the call's example count (it reads the learning rate itself). */
  const scalarArgs = (name: EntryPointName, count: string) => (uses(entry(name)!).n ? [count] : []);
  /** Statements that read entry `name`'s inputs from `source`, check them, and settle `count`. */
  const prepare = (name: EntryPointName, source: string, countUsed: boolean) =>
    reading.entry(entry(name)!.inputs).prepare(source, countUsed);
  /** Entry function `name`'s arguments after `prepare`. */
  const inputArgs = (name: EntryPointName) => {
    const inputs = entry(name)!.inputs;
    return inputs.map(reading.entry(inputs).argument);
  };
  const call = (name: EntryPointName) =>
    `      ${name}Program(${[...inputArgs(name), ...scalarArgs(name, "count")].join(", ")});`;
  /** A trainer method that runs entry point `name` and returns the loss it left. */
  const lossMethod = (name: EntryPointName) =>
    [...prepare(name, "batch", uses(entry(name)!).n), call(name), `      return lossSlot[0]!;`].join("\n");

  // The gradient's inputs are checked before anything changes (masks, look-ahead).
  const hasDropout = program.dropout.length > 0;
  const stepEntries = (["beforeGradient", "gradient", "update"] as const).filter((name) => entry(name));
  const stepUsesCount = hasDropout || stepEntries.some((name) => uses(entry(name)!).n);
  const stepCall = [
    ...prepare("gradient", "batch", stepUsesCount),
    ...(hasDropout ? [`      resampleDropout(count);`] : []),
    ...(entry("beforeGradient")
      ? [`      beforeGradientProgram(${scalarArgs("beforeGradient", "count").join(", ")});`]
      : []),
    call("gradient"),
    `      updateProgram(${scalarArgs("update", "count").join(", ")});`,
  ]
    .map((line) => line.slice(2))
    .join("\n");
  const secondOrder = secondOrderParts(program, scalarArgs, inputArgs, (name) => prepare(name, "batch", true));
  const usesRandom = program.params.length > 0;
  const setup = [
    ...(usesRandom || hasDropout ? [`  const seed = options.seed ?? 0;`] : []),
    ...(usesRandom ? [`  const random = createRandom(seed);`] : []),
    ...(hasDropout ? [`  const dropoutRandom = createRandom(seed ^ 0x5bd1e995);`] : []),
    usesRandom ? `  const params = givenParams(options.params);` : `  givenParams(options.params);`,
  ];
  const resampleFunction = hasDropout
    ? [
        `  function resampleDropout(n: number): void {`,
        ...program.dropout.map(
          (d) => `    drawMask(${d.buffer}, n * ${d.size}, ${literal(1 - d.dropProbability)}, dropoutRandom);`,
        ),
        `  }`,
        "",
      ].join("\n")
    : "";

  const { largest } = entryFunctions;
  const header = [
    moduleHeader(program, options, options.target ?? "", program.dtype, "."),
    `// Largest entry function: ${largest.name}, ${largest.lines} lines, ${(largest.bytes / 1000).toFixed(1)} KB ` +
      `(entry points past ${functionBudget / 1000} KB are split so V8 optimises each part: docs/v8-function-limits.md).`,
  ].join("\n");

  const calls = {
    lossCall: lossMethod("loss"),
    trainingLossCall: lossMethod(entry("trainingLoss") ? "trainingLoss" : "loss"),
    gradientCall: lossMethod("gradient"),
    stepCall: secondOrder?.stepCall ?? stepCall,
    predictCall: [...prepare("predict", "inputs", uses(entry("predict")!).n), call("predict")].join("\n"),
  };
  // Input helpers no call uses (all of them without float inputs; examplesIn when every call counts
  // examples by an int32 input) are marked used, so the module passes noUnusedLocals.
  const callText = [...Object.values(calls), secondOrder?.setup, secondOrder?.members, ...reading.declarations].join(
    "\n",
  );
  const unusedHelpers = ["inputField", "examplesIn", "checkInput"].filter((h) => !callText.includes(`${h}(`));

  return fillTemplate(readTemplate("trainer.ts.tpl"), {
    ...calls,
    header,
    arrayType,
    ...sharedHoles(program, { random: program.params.length > 0 || program.dropout.length > 0 }),
    ...(program.inputs.some((x) => x.ids) ? { checks: `${runtimeSource("checks")}\n\n${runtimeSource("ids")}` } : {}),
    allocations: allocations.join("\n"),
    initialisation: initialisation.join("\n"),
    entryFunctions: [...entryFunctions.functions, ...(secondOrder ? [secondOrder.setup] : [])].join("\n\n"),
    secondOrderMembers: secondOrder?.members ?? "",
    outputsObject: record(
      program.outputs.map((o) => [o.name, bufferName.output(o.name)]),
      "  ",
    ),
    paramsObject: record(
      program.params.map((p) => [p.name, bufferName.param(p.name)]),
      "    ",
    ),
    gradsObject: record(
      program.params.map((p) => [p.name, bufferName.grad(p.name)]),
      "    ",
    ),
    inputGradsObject: record(
      program.inputs.filter((x) => x.wantsGrad).map((x) => [x.name, bufferName.inputGrad(x.name)]),
      "    ",
    ),
    stateObject: record(
      program.state.map((s) => [s.label, s.buffer]),
      "    ",
    ),
    // Without inputs (an objective of the parameters alone) the calls take no batch.
    batchMark: program.inputs.length === 0 ? "?" : "",
    batchOrUndefined: program.inputs.length === 0 ? " | undefined" : "",
    predictMark: (entry("predict")?.inputs.length ?? 0) === 0 ? "?" : "",
    unusedInputHelpers: unusedHelpers.length
      ? `void [${unusedHelpers.join(", ")}]; // unused by this model's calls\n`
      : "",
    beginStepCall: entry("beforeGradient")
      ? `      beforeGradientProgram(${scalarArgs("beforeGradient", "n").join(", ")});`
      : `      // no look-ahead for ${program.optimizer.kind}`,
    applyUpdateCall: [...rowSetsAnyRow(program), `      updateProgram(${scalarArgs("update", "0").join(", ")});`].join(
      "\n",
    ),
    setup: setup.join("\n"),
    resampleFunction,
    resampleCall: hasDropout
      ? `      resampleDropout(checkCount(n));`
      : `      checkCount(n); // this model has no dropout`,
    drawMaskFunction: hasDropout ? `${runtimeSource("dropout")}\n` : "",
    snapshotCopies: snapshotted.map((name) => `      ${bufferName.snapshot(name)}.set(${name});`).join("\n"),
    restoreCopies: snapshotted.map((name) => `      ${name}.set(${bufferName.snapshot(name)});`).join("\n"),
    arena,
    backendExpression: usesGemm ? `wasmGemm === undefined ? "js" : "wasm"` : `"js"`,
    kernelFunctions:
      (secondOrder ? `${runtimeSource("second-order")}\n\n` : "") +
      (usesGemm
        ? fillTemplate(readTemplate("gemm.ts.tpl"), {
            wasmGemmBase64: Buffer.from(gemmModuleBytes({ dtype: program.dtype })).toString("base64"),
          })
        : ""),
  });
}
