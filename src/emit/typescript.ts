// Prints a Program as one self-contained, allocation-free TypeScript module by filling
// templates/trainer.ts.tpl. It decides nothing: loop nests, fusion and buffers come from the Program.

import { Op } from "../ir/ops.js";
import type { ElementwiseOp as ElementwiseOpName } from "../ir/scalar.js";
import type {
  Access, Extent, FillKernel, GemmKernel, Kernel, LocalKernel, LoopKernel, Program, ScalarCode, Value,
} from "../schedule/program.js";
import { fillTemplate, readTemplate } from "./template.js";

export interface TypeScriptModuleOptions {
  /** The model file, as named in the header. */
  readonly source: string;
  /** The command that regenerates this file. */
  readonly command: string;
}

export function literal(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return String(value);
}

/** Each elementwise op as an expression over already-named operands (so every operand is a plain name). */
const elementwiseCode: { readonly [K in ElementwiseOpName]: (args: readonly string[], exponent: number) => string } = {
  [Op.Neg]: ([x]) => `-${x}`,
  [Op.Exp]: ([x]) => `Math.exp(${x})`,
  [Op.Log]: ([x]) => `Math.log(${x})`,
  [Op.Sin]: ([x]) => `Math.sin(${x})`,
  [Op.Cos]: ([x]) => `Math.cos(${x})`,
  [Op.Sqrt]: ([x]) => `Math.sqrt(${x})`,
  [Op.Abs]: ([x]) => `Math.abs(${x})`,
  [Op.Sign]: ([x]) => `Math.sign(${x})`,
  [Op.Sigmoid]: ([x]) => `1 / (1 + Math.exp(-${x}))`,
  [Op.Tanh]: ([x]) => `Math.tanh(${x})`,
  // log(1 + eˣ) without overflow: x + log(1 + e⁻ˣ) for x > 0
  [Op.Softplus]: ([x]) => `(${x} > 0 ? ${x} + Math.log1p(Math.exp(-${x})) : Math.log1p(Math.exp(${x})))`,
  [Op.PowConst]: ([x], p) =>
    p === 2 ? `${x} * ${x}` : p === 3 ? `${x} * ${x} * ${x}` : p === -1 ? `1 / ${x}` : p === 0.5 ? `Math.sqrt(${x})` : `Math.pow(${x}, ${literal(p)})`,
  [Op.Add]: ([a, b]) => `${a} + ${b}`,
  [Op.Sub]: ([a, b]) => `${a} - ${b}`,
  [Op.Mul]: ([a, b]) => `${a} * ${b}`,
  [Op.Div]: ([a, b]) => `${a} / ${b}`,
  [Op.Maximum]: ([a, b]) => `Math.max(${a}, ${b})`,
  [Op.Minimum]: ([a, b]) => `Math.min(${a}, ${b})`,
  [Op.Greater]: ([a, b]) => `(${a} > ${b} ? 1 : 0)`,
  [Op.Equal]: ([a, b]) => `(${a} === ${b} ? 1 : 0)`,
  [Op.Select]: ([c, a, b]) => `(${c} !== 0 ? ${a} : ${b})`,
};

function extent(e: Extent): string {
  if (!e.perExample) return String(e.factor);
  return e.factor === 1 ? "n" : `n * ${e.factor}`;
}

function scalarCode(code: ScalarCode): string {
  switch (code.kind) {
    case "literal": return literal(code.value);
    case "batchSize": return "n";
    case "local": return code.name;
  }
}

/** `base + i·stride`, dropping zeros and unit factors. */
function offsetPlus(base: string, index: string, stride: number): string {
  if (stride === 0) return base;
  const term = stride === 1 ? index : `${index} * ${stride}`;
  return base === "0" ? term : `${base} + ${term}`;
}

class Writer {
  readonly lines: string[] = [];
  constructor(private indent: number) {}
  line(text: string): void { this.lines.push("  ".repeat(this.indent) + text); }
  open(text: string): void { this.line(text); this.indent++; }
  close(text = "}"): void { this.indent--; this.line(text); }
}

function printValues(out: Writer, values: readonly Value[], indexOf: (access: Access) => string, prefix: string): void {
  values.forEach((value, i) => {
    const name = `${prefix}${i}`;
    if (value.kind === "load") {
      const code = value.access.storage.kind === "scalar" ? scalarCode(value.access.storage.code) : `${value.access.storage.name}[${indexOf(value.access)}]`;
      out.line(`const ${name} = ${code};`);
    } else {
      const args = value.args.map((a) => `${prefix}${a}`);
      out.line(`const ${name} = ${elementwiseCode[value.op as ElementwiseOpName](args, value.exponent ?? 1)};`);
    }
  });
}

function printLoop(out: Writer, kernel: LoopKernel, id: number): void {
  out.line(`// ${kernel.comment}`);
  const accesses = [kernel.target, ...kernel.values.flatMap((v) => (v.kind === "load" && v.access.storage.kind === "buffer" ? [v.access] : []))];
  // bases: each access's index with the contributions of the loops opened so far (hoisted out of inner loops)
  const bases = new Map<Access, string>(accesses.map((a) => [a, String(a.offset)]));
  const dims = kernel.dims;
  const innermost = dims.length - 1;
  const reduced = kernel.reduction?.dims ?? 0;
  const outerCount = dims.length - reduced;
  const loopVar = (d: number) => `i${id}_${d}`;
  const openLoop = (d: number) => {
    out.open(`for (let ${loopVar(d)} = 0; ${loopVar(d)} < ${extent(dims[d]!)}; ${loopVar(d)}++) {`);
    if (d === innermost) return;
    accesses.forEach((access, a) => {
      if (access.strides[d] === 0) return;
      const name = `p${id}_${a}_${d}`;
      out.line(`const ${name} = ${offsetPlus(bases.get(access)!, loopVar(d), access.strides[d]!)};`);
      bases.set(access, name);
    });
  };
  const innerIndex = (access: Access) => (innermost >= 0 ? offsetPlus(bases.get(access)!, loopVar(innermost), access.strides[innermost]!) : bases.get(access)!);
  const targetName = (kernel.target.storage as { name: string }).name;
  const store = kernel.mode === "add" ? "+=" : "=";
  const last = `v${id}_${kernel.values.length - 1}`;
  for (let d = 0; d < outerCount; d++) openLoop(d);
  if (!kernel.reduction || reduced === 0) {
    printValues(out, kernel.values, innerIndex, `v${id}_`);
    out.line(`${targetName}[${innerIndex(kernel.target)}] ${store} ${last};`);
  } else {
    const outerBases = new Map(bases);
    const reduce = (accumulator: string, init: string, update: string) => {
      out.line(`let ${accumulator} = ${init};`);
      for (let d = outerCount; d < dims.length; d++) openLoop(d);
      printValues(out, kernel.values, innerIndex, `v${id}_`);
      out.line(update);
      for (let d = outerCount; d < dims.length; d++) out.close();
      for (const [access, base] of outerBases) bases.set(access, base);
    };
    // The target does not move along reduced loops, so its index is known outside them.
    const target = `${targetName}[${bases.get(kernel.target)!}]`;
    if (kernel.reduction.op === "sum") {
      reduce(`sum${id}`, "0", `sum${id} += ${last};`);
      out.line(`${target} ${store} sum${id};`);
    } else if (kernel.reduction.op === "max") {
      reduce(`max${id}`, "-Infinity", `max${id} = Math.max(max${id}, ${last});`);
      out.line(`${target} ${store} max${id};`);
    } else {
      // log Σ eᵛ = m + log Σ e^(v − m) with m = max v: no overflow
      reduce(`max${id}`, "-Infinity", `max${id} = Math.max(max${id}, ${last});`);
      reduce(`sum${id}`, "0", `sum${id} += Math.exp(${last} - max${id});`);
      out.line(`${target} ${store} max${id} === -Infinity ? -Infinity : max${id} + Math.log(sum${id});`);
    }
  }
  for (let d = outerCount - 1; d >= 0; d--) out.close();
}

function printGemm(out: Writer, kernel: GemmKernel, id: number): void {
  const { a, b, c } = kernel;
  out.line(`// ${kernel.comment}`);
  const call = (aBase: string, bBase: string, cBase: string) =>
    `gemm(${extent(kernel.m)}, ${extent(kernel.n)}, ${extent(kernel.k)}, ` +
    `${a.buffer}, ${aBase}, ${a.rowStride}, ${a.colStride}, ${b.buffer}, ${bBase}, ${b.rowStride}, ${b.colStride}, ` +
    `${c.buffer}, ${cBase}, ${c.rowStride});`;
  if (!kernel.repeat) {
    out.line(call(String(a.offset), String(b.offset), String(c.offset)));
    return;
  }
  const r = `r${id}`;
  const { aStride, bStride, cStride } = kernel.repeat;
  out.open(`for (let ${r} = 0; ${r} < ${extent(kernel.repeat.count)}; ${r}++) {`);
  out.line(call(offsetPlus(String(a.offset), r, aStride), offsetPlus(String(b.offset), r, bStride), offsetPlus(String(c.offset), r, cStride)));
  out.close();
}

function printFill(out: Writer, kernel: FillKernel): void {
  out.line(`${kernel.buffer}.fill(${literal(kernel.value)}, 0, ${extent(kernel.length)});`);
}

function printLocal(out: Writer, kernel: LocalKernel, id: number): void {
  out.line(`// ${kernel.comment}`);
  printValues(out, kernel.values, (access) => String(access.offset), `v${id}_`);
  out.line(`const ${kernel.name} = v${id}_${kernel.values.length - 1};`);
}

function printKernel(out: Writer, kernel: Kernel, id: number): void {
  switch (kernel.kind) {
    case "loop": return printLoop(out, kernel, id);
    case "gemm": return printGemm(out, kernel, id);
    case "fill": return printFill(out, kernel);
    case "local": return printLocal(out, kernel, id);
  }
}

const quote = (s: string) => JSON.stringify(s);
const union = (names: readonly string[]) => (names.length ? names.map(quote).join(" | ") : "never");
const record = (entries: readonly [string, string][], indent: string) =>
  entries.length ? `{\n${entries.map(([k, v]) => `${indent}  ${k}: ${v},`).join("\n")}\n${indent}}` : "{}";

export function emitTypeScript(program: Program, options: TypeScriptModuleOptions): string {
  const arrayType = program.dtype === "f32" ? "Float32Array" : "Float64Array";
  const entry = (name: string) => program.entryPoints.find((e) => e.name === name)!;
  const predictInputs = entry("predict").inputs;

  const allocations = program.buffers.map((buffer) => {
    const size = buffer.size * (buffer.perExample ? program.batch : 1);
    return `  const ${buffer.name} = new ${arrayType}(${Math.max(size, 1)});`;
  });

  const initialisation = program.params.map((param) => {
    const fanIn = param.shape.length >= 2 ? param.shape.slice(0, -1).reduce((a, b) => a * b, 1) : (param.shape[0] ?? 1);
    const fanOut = param.shape.length >= 1 ? param.shape[param.shape.length - 1]! : 1;
    const given = `options.params?.${param.name}`;
    return [
      `  {`,
      `    const given = ${given};`,
      `    if (given !== undefined) {`,
      `      if (given.length !== ${sizeText(param.shape)}) throw new RangeError(\`${program.modelName}: params.${param.name} needs ${sizeText(param.shape)} values, got \${given.length}\`);`,
      `      param_${param.name}.set(given);`,
      `    } else initialise(param_${param.name}, ${typeof param.init === "number" ? literal(param.init) : quote(param.init)}, ${fanIn}, ${fanOut}, random);`,
      `  }`,
    ].join("\n");
  });

  const entryFunctions = program.entryPoints.map((ep) => {
    const out = new Writer(2);
    ep.kernels.forEach((kernel, i) => printKernel(out, kernel, i));
    if (ep.returns) {
      const r = ep.returns;
      out.line(`return ${r.storage.kind === "scalar" ? scalarCode(r.storage.code) : `${r.storage.name}[${r.offset}]`};`);
    }
    const params = [...ep.inputs.map((name) => `input_${name}: Values`), "n: number"].join(", ");
    const returnType = ep.returns ? "number" : "void";
    return [`  function ${ep.name}Program(${params}): ${returnType} {`, ...out.lines, `  }`].join("\n");
  });

  const call = (name: string, source: string, returns: boolean) => {
    const ep = entry(name);
    const lines = ep.inputs.map((x) => {
      const size = program.inputs.find((i) => i.name === x)!.shape.reduce((a, b) => a * b, 1);
      return `      const ${x} = checkInput(${source}.${x}, ${quote(x)}, ${size}, n);`;
    });
    const args = [...ep.inputs, "n"].join(", ");
    lines.push(returns ? `      return ${name}Program(${args});` : `      ${name}Program(${args});`);
    return lines.join("\n");
  };

  const optimizerUpdate = program.params.map((p) =>
    `      for (let i = 0; i < ${sizeText(p.shape)}; i++) param_${p.name}[i] -= rate * grad_${p.name}[i];`).join("\n");

  const specObject = {
    model: program.modelName,
    batch: program.batch,
    dtype: program.dtype,
    inputs: Object.fromEntries(program.inputs.map((x) => [x.name, x.shape])),
    params: Object.fromEntries(program.params.map((p) => [p.name, p.shape])),
    outputs: Object.fromEntries(program.outputs.map((o) => [o.name, o.shape])),
    optimizer: { kind: "sgd", learningRate: program.learningRate },
  };

  const header = [
    `// Generated by gradgen from ${options.source} (model "${program.modelName}"). Do not edit:`,
    `// regenerate with \`${options.command}\`.`,
    `// Batch ${program.batch}, ${program.dtype}, optimizer sgd (learning rate ${literal(program.learningRate)}).`,
  ].join("\n");

  return fillTemplate(readTemplate("trainer.ts.tpl"), {
    header,
    arrayType,
    inputNameUnion: union(program.inputs.map((x) => x.name)),
    paramNameUnion: union(program.params.map((p) => p.name)),
    outputNameUnion: union(program.outputs.map((o) => o.name)),
    predictInputUnion: union(predictInputs),
    inputGradUnion: union(program.inputs.filter((x) => x.wantsGrad).map((x) => x.name)),
    spec: formatObject(specObject, ""),
    allocations: allocations.join("\n"),
    initialisation: initialisation.join("\n"),
    entryFunctions: entryFunctions.join("\n\n"),
    outputsObject: record(program.outputs.map((o) => [o.name, `output_${o.name}`]), "  "),
    paramsObject: record(program.params.map((p) => [p.name, `param_${p.name}`]), "    "),
    gradsObject: record(program.params.map((p) => [p.name, `grad_${p.name}`]), "    "),
    inputGradsObject: record(program.inputs.filter((x) => x.wantsGrad).map((x) => [x.name, `inputGrad_${x.name}`]), "    "),
    lossCall: call("loss", "batch", true),
    gradientCall: call("gradient", "batch", true),
    predictCall: call("predict", "inputs", false),
    optimizerUpdate,
    kernelFunctions: program.entryPoints.some((ep) => ep.kernels.some((k) => k.kind === "gemm")) ? readTemplate("gemm.ts.tpl") : "",
  });
}

function sizeText(shape: readonly number[]): string {
  return String(shape.reduce((a, b) => a * b, 1));
}

/** Object literal with one key per line and arrays (shapes) kept on one line. */
function formatObject(value: unknown, indent: string): string {
  if (Array.isArray(value)) return `[${value.map((v) => formatObject(v, indent)).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    const inner = indent + "  ";
    return `{\n${entries.map(([k, v]) => `${inner}${/^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k)}: ${formatObject(v, inner)},`).join("\n")}\n${indent}}`;
  }
  return typeof value === "number" ? literal(value) : JSON.stringify(value);
}
