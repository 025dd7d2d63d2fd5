// Prints a Program as WebGPU compute shaders (WGSL) plus a self-contained TypeScript host module, by
// filling templates/wgsl-host.ts.tpl. Like the TypeScript emitter it decides nothing about WHAT to
// compute: kernels, fusion of elementwise chains and buffers all come from the Program. It only
// decides how the GPU runs them:
//   - every Program buffer, the batch inputs, the locals and the returned losses live in a few large
//     f32 storage buffers ("chunks", each ≤ 128 MiB, the default binding limit), bound once;
//   - each kernel becomes a task: one invocation per element it writes (a loop's outer indices, a
//     product's C[i, j]); loops over indices the target does not depend on (a batch sum) and
//     reductions run inside the invocation, in the Program's order;
//   - consecutive tasks with no data hazard between them share one dispatch (e.g. every parameter's
//     optimizer update; bias and weight gradients); consecutive single-invocation tasks (locals, the
//     mean over the batch, Adam's β powers) run in one invocation; a fill followed by the loop that
//     accumulates into exactly that buffer is done by that loop.

import { Op } from "../ir/ops.js";
import type { ElementwiseOp } from "../ir/scalar.js";
import { GradgenError } from "../errors.js";
import type {
  Access, EntryPoint, EntryPointName, Extent, FillKernel, GemmKernel, Kernel, LocalKernel, LoopKernel, Program, ScalarCode, Value,
} from "../schedule/program.js";
import { fans } from "../initializers.js";
import { fillTemplate, readTemplate } from "./template.js";

export interface WgslModuleOptions {
  /** The model file, as named in the header. */
  readonly source: string;
  /** The command that regenerates this file. */
  readonly command: string;
  /** Largest storage buffer binding in bytes (default 128 MiB: WebGPU's default maxStorageBufferBindingSize). */
  readonly maxBindingBytes?: number;
}

/** Invocations per workgroup (WebGPU's default limit is 256). */
export const WORKGROUP_SIZE = 64;
/** WebGPU's default maxStorageBuffersPerShaderStage. */
const MAX_STORAGE_BUFFERS = 8;
/** WebGPU's default maxComputeWorkgroupsPerDimension. */
const MAX_GROUPS_PER_DIMENSION = 65535;
const DEFAULT_MAX_BINDING_BYTES = 128 * 1024 * 1024;
/** Binding numbers: the uniforms, the dropout counter, then the chunks. */
const UNIFORM_BINDING = 0;
const CONTROL_BINDING = 1;
const FIRST_CHUNK_BINDING = 2;

// ─── Literals and helpers ─────────────────────────────────────────────────────────────────────────

/** Helper functions a shader may call, each emitted only where used. */
const helperCode: Readonly<Record<string, string>> = {
  // NaN and ±∞ from bit patterns held in a `var`: as constant expressions WGSL rejects them.
  nan_: "fn nan_() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }",
  inf_: "fn inf_() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }",
  // log(1 + x) without cancellation near 0: 2·atanh(x / (2 + x)) by its series (|z| < 0.06, error < 3e-11).
  log1p_: [
    "fn log1p_(x: f32) -> f32 {",
    "  if (abs(x) < 0.125) {",
    "    let z = x / (2.0 + x);",
    "    let z2 = z * z;",
    "    return 2.0 * z * (1.0 + z2 * (0.33333334 + z2 * (0.2 + z2 * 0.14285715)));",
    "  }",
    "  return log(1.0 + x);",
    "}",
  ].join("\n"),
  // The built-in log has an absolute error of about 6e-8: near 1 it goes through log1p_.
  log_: [
    "fn log_(x: f32) -> f32 {",
    "  if (x > 0.875 && x < 1.125) { return log1p_(x - 1.0); }",
    "  return log(x);",
    "}",
  ].join("\n"),
  // tanh: its series near 0 (the built-in loses relative precision there), clamped beyond ±15 (= ±1 in f32).
  tanh_: [
    "fn tanh_(x: f32) -> f32 {",
    "  if (abs(x) < 0.125) {",
    "    let x2 = x * x;",
    "    return x * (1.0 + x2 * (-0.33333334 + x2 * (0.13333334 + x2 * -0.053968254)));",
    "  }",
    "  return tanh(clamp(x, -15.0, 15.0));",
    "}",
  ].join("\n"),
  // σ(x) from e^(−|x|) ≤ 1: never overflows.
  sigmoid_: [
    "fn sigmoid_(x: f32) -> f32 {",
    "  let e = exp(-abs(x));",
    "  let s = 1.0 / (1.0 + e);",
    "  return select(e * s, s, x >= 0.0);",
    "}",
  ].join("\n"),
  // log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|))
  softplus_: "fn softplus_(x: f32) -> f32 { return max(x, 0.0) + log1p_(exp(-abs(x))); }",
  // Counter-based random bits (PCG hash, Jarzynski & Olano 2020) for dropout masks.
  pcg_: [
    "fn pcg_(v: u32) -> u32 {",
    "  let s = v * 747796405u + 2891336453u;",
    "  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;",
    "  return (w >> 22u) ^ w;",
    "}",
  ].join("\n"),
};

/** Helpers that call other helpers. */
const helperDependencies: Readonly<Record<string, readonly string[]>> = {
  log_: ["log1p_"],
  softplus_: ["log1p_"],
};

/** An f32 literal WGSL accepts: the exact f32 value, NaN and ±∞ through helpers, negatives in parentheses. */
export function wgslLiteral(value: number, helpers?: Set<string>): string {
  const use = (name: string) => helpers?.add(name);
  if (Number.isNaN(value)) return use("nan_"), "nan_()";
  const f = Math.fround(value);
  if (f === Infinity) return use("inf_"), "inf_()";
  if (f === -Infinity) return use("inf_"), "(-inf_())";
  if (f === 0) return Object.is(f, -0) ? "(-0.0f)" : "0.0f";
  const text = String(Math.abs(f));
  const spelled = /[.e]/.test(text) ? `${text}f` : `${text}.0f`;
  return f < 0 ? `(-${spelled})` : spelled;
}

/** Each elementwise op over already-named operands; typed by the op list, so a new op without a WGSL form is a type error. */
const elementwiseCode: { readonly [K in ElementwiseOp]: (args: readonly string[], exponent: number, helpers: Set<string>) => string } = {
  [Op.Neg]: ([x]) => `-${x}`,
  [Op.Exp]: ([x]) => `exp(${x})`,
  [Op.Log]: ([x], _, h) => (h.add("log_"), `log_(${x})`),
  [Op.Sin]: ([x]) => `sin(${x})`,
  [Op.Cos]: ([x]) => `cos(${x})`,
  [Op.Sqrt]: ([x]) => `sqrt(${x})`,
  [Op.Abs]: ([x]) => `abs(${x})`,
  [Op.Sign]: ([x]) => `sign(${x})`,
  [Op.Sigmoid]: ([x], _, h) => (h.add("sigmoid_"), `sigmoid_(${x})`),
  [Op.Tanh]: ([x], _, h) => (h.add("tanh_"), `tanh_(${x})`),
  [Op.Softplus]: ([x], _, h) => (h.add("softplus_"), `softplus_(${x})`),
  [Op.PowConst]: ([x], p, h) => powCode(x!, p, h),
  [Op.Add]: ([a, b]) => `${a} + ${b}`,
  [Op.Sub]: ([a, b]) => `${a} - ${b}`,
  [Op.Mul]: ([a, b]) => `${a} * ${b}`,
  [Op.Div]: ([a, b]) => `${a} / ${b}`,
  [Op.Maximum]: ([a, b]) => `max(${a}, ${b})`,
  [Op.Minimum]: ([a, b]) => `min(${a}, ${b})`,
  [Op.Greater]: ([a, b]) => `select(0.0f, 1.0f, ${a} > ${b})`,
  [Op.Equal]: ([a, b]) => `select(0.0f, 1.0f, ${a} == ${b})`,
  [Op.Select]: ([c, a, b]) => `select(${b}, ${a}, ${c} != 0.0f)`,
};

/** xᵖ with Math.pow's meaning: WGSL's pow is undefined for x < 0, so the sign is handled here. */
function powCode(x: string, p: number, helpers: Set<string>): string {
  if (p === 0) return "1.0f";
  if (p === 1) return x;
  if (p === 2) return `${x} * ${x}`;
  if (p === 3) return `${x} * ${x} * ${x}`;
  if (p === -1) return `1.0f / ${x}`;
  if (p === 0.5) return `sqrt(${x})`;
  const magnitude = `pow(abs(${x}), ${wgslLiteral(p, helpers)})`;
  if (Number.isInteger(p)) return p % 2 === 0 ? magnitude : `select(${magnitude}, -${magnitude}, ${x} < 0.0f)`;
  helpers.add("nan_");
  return `select(${magnitude}, nan_(), ${x} < 0.0f)`;
}

// ─── Where values live ───────────────────────────────────────────────────────────────────────────

interface Region {
  readonly name: string;
  readonly chunk: number;
  /** First element within its chunk. */
  readonly offset: number;
  readonly elements: number;
}

const localRegion = (entry: string, name: string) => `local_${entry}_${name}`;
const resultRegion = (entry: string) => `result_${entry}`;

interface Layout {
  readonly regions: ReadonlyMap<string, Region>;
  /** Elements of each chunk. */
  readonly chunks: readonly number[];
}

function planLayout(program: Program, maxBindingBytes: number): Layout {
  const wanted: { name: string; elements: number }[] = [];
  for (const buffer of program.buffers) wanted.push({ name: buffer.name, elements: Math.max(1, buffer.size * (buffer.perExample ? program.batch : 1)) });
  for (const input of program.inputs) wanted.push({ name: `input_${input.name}`, elements: Math.max(1, sizeOf(input.shape) * program.batch) });
  for (const entry of program.entryPoints) {
    for (const kernel of entry.kernels) if (kernel.kind === "local") wanted.push({ name: localRegion(entry.name, kernel.name), elements: 1 });
    if (entry.returns) wanted.push({ name: resultRegion(entry.name), elements: 1 });
  }
  const capacity = Math.floor(maxBindingBytes / 4);
  const regions = new Map<string, Region>();
  const chunks: number[] = [];
  for (const { name, elements } of wanted) {
    if (regions.has(name)) continue;
    if (elements > capacity) {
      throw new GradgenError(
        `the WGSL target cannot hold ${name} (${elements} f32 values, ${elements * 4} bytes) in one storage buffer binding of at most ${maxBindingBytes} bytes; use a smaller layer or batch.`,
      );
    }
    const last = chunks.length - 1;
    if (last < 0 || chunks[last]! + elements > capacity) chunks.push(0);
    const chunk = chunks.length - 1;
    regions.set(name, { name, chunk, offset: chunks[chunk]!, elements });
    chunks[chunk]! += elements;
  }
  const storageBuffers = chunks.length + (program.dropout.length > 0 ? 1 : 0);
  if (storageBuffers > MAX_STORAGE_BUFFERS) {
    throw new GradgenError(
      `the WGSL target needs ${storageBuffers} storage buffers of at most ${maxBindingBytes} bytes for model "${program.modelName}", more than WebGPU's default limit of ${MAX_STORAGE_BUFFERS} per shader stage; use a smaller model or batch.`,
    );
  }
  return { regions, chunks };
}

// ─── Tasks: one kernel's work, one invocation per element it writes ─────────────────────────────

/** ⌈factor·nᵖᵒʷᵉʳ / divisor⌉, n the run-time example count. */
type Factor = readonly [factor: number, power: number, divisor: number];
/** Invocations: a sum of products of factors. */
type Count = readonly (readonly Factor[])[];

interface Task {
  readonly comment: string;
  readonly count: Count;
  readonly reads: ReadonlySet<string>;
  readonly writes: ReadonlySet<string>;
  /** The body of `fn task(t: u32)`, t the invocation's index within the task. */
  readonly body: readonly string[];
  readonly helpers: ReadonlySet<string>;
}

const single: Count = [[]];
const isSingle = (count: Count) => count.length === 1 && count[0]!.every(([f, p, d]) => f === 1 && p === 0 && d === 1);

const factorOf = (e: Extent, divisor = 1): Factor => [e.factor, e.perExample ? 1 : 0, divisor];

function countOf(extents: readonly Extent[]): Count {
  return [extents.map((e) => factorOf(e))];
}

/** factor·nᵖᵒʷᵉʳ of a count with one term and no divisors, as [factor, power]. */
function plainCount(count: Count): readonly [number, number] | undefined {
  if (count.length !== 1 || count[0]!.some(([, , d]) => d !== 1)) return undefined;
  return count[0]!.reduce<[number, number]>(([f, p], [factor, power]) => [f * factor, p + power], [1, 0]);
}

function sameCount(a: Count, b: Count): boolean {
  const [x, y] = [plainCount(a), plainCount(b)];
  return x !== undefined && y !== undefined && x[0] === y[0] && x[1] === y[1];
}

function extentCode(e: Extent): string {
  if (!e.perExample) return `${e.factor}u`;
  return e.factor === 1 ? "n" : `n * ${e.factor}u`;
}

function factorCode([factor, power, divisor]: Factor): string {
  const base = [...(factor !== 1 || power === 0 ? [`${factor}u`] : []), ...Array.from({ length: power }, () => "n")].join(" * ");
  if (divisor === 1) return base;
  if (power === 0) return `${Math.ceil(factor / divisor)}u`;
  return `((${base} + ${divisor - 1}u) / ${divisor}u)`;
}

function countCode(count: Count): string {
  return count.map((term) => (term.length === 0 ? "1u" : term.map(factorCode).join(" * "))).join(" + ");
}

/** Builds the tasks of one entry point (or of a synthetic step such as dropout masks). */
class TaskBuilder {
  readonly tasks: Task[] = [];
  private helpers = new Set<string>();
  private reads = new Set<string>();
  private writes = new Set<string>();

  constructor(private readonly program: Program, private readonly layout: Layout, private readonly entry: string) {}

  private region(name: string): Region {
    const region = this.layout.regions.get(name);
    if (!region) throw new Error(`internal: the WGSL layout has no region ${name}`);
    return region;
  }

  /** `c<chunk>[index]` of element `offset + Σ indexᵢ·strideᵢ` of region `name`. */
  private element(name: string, offset: number, terms: readonly (readonly [string, number])[]): string {
    const region = this.region(name);
    let text = String(region.offset + offset);
    let constant = true;
    for (const [index, stride] of terms) {
      if (stride === 0) continue;
      const term = stride === 1 || stride === -1 ? index : `${index} * ${Math.abs(stride)}u`;
      text = constant && text === "0" && stride > 0 ? term : `${text} ${stride < 0 ? "-" : "+"} ${term}`;
      constant = false;
    }
    return `c${region.chunk}[${constant ? `${text}u` : text}]`;
  }

  private load(name: string, offset: number, terms: readonly (readonly [string, number])[]): string {
    this.reads.add(name);
    return this.element(name, offset, terms);
  }

  private store(name: string, offset: number, terms: readonly (readonly [string, number])[]): string {
    this.writes.add(name);
    return this.element(name, offset, terms);
  }

  private scalar(code: ScalarCode): string {
    switch (code.kind) {
      case "literal": return wgslLiteral(code.value, this.helpers);
      case "batchSize": return "f32(u.n)";
      case "learningRate": return "u.rate";
      case "local": return this.load(localRegion(this.entry, code.name), 0, []);
    }
  }

  /** `let vK: f32 = …;` for each value, loads at loop indices `indices` (one per dim, null where absent). */
  private values(values: readonly Value[], indices: readonly (string | null)[], prefix: string): string[] {
    return values.map((value, i) => {
      let code: string;
      if (value.kind === "load") {
        const { storage, offset, strides } = value.access;
        code = storage.kind === "scalar"
          ? this.scalar(storage.code)
          : this.load(storage.name, offset, strides.map((s, d) => [indices[d] ?? "0u", indices[d] ? s : 0] as const));
      } else {
        const op = value.op as ElementwiseOp;
        const print = elementwiseCode[op];
        if (!print) throw new GradgenError(`the WGSL target has no form for op "${value.op}" yet; compile this model for the TypeScript target only.`);
        code = print(value.args.map((a) => `${prefix}${a}`), value.exponent ?? 1, this.helpers);
      }
      return `let ${prefix}${i}: f32 = ${code};`;
    });
  }

  private finish(comment: string, count: Count, body: string[]): void {
    this.tasks.push({ comment, count, reads: this.reads, writes: this.writes, body, helpers: this.helpers });
    this.helpers = new Set();
    this.reads = new Set();
    this.writes = new Set();
  }

  kernel(kernel: Kernel, absorbedFill?: FillKernel): void {
    switch (kernel.kind) {
      case "loop": return this.loop(kernel, absorbedFill);
      case "gemm": return this.gemm(kernel);
      case "fill": return this.fill(kernel);
      case "local": return this.local(kernel);
    }
  }

  /** Which outer dims of a loop run in parallel: those every store depends on, if the stores are then one-to-one. */
  parallelDims(kernel: LoopKernel): number[] {
    const stores = [kernel.target, ...(kernel.extraStores ?? []).map((s) => s.target)];
    const outer = kernel.dims.length - (kernel.reduction?.dims ?? 0);
    const storedNames = new Set(stores.map(bufferName));
    // A load of a stored buffer at another element than the one this invocation stores: keep the Program's order.
    const crossed = kernel.values.some((v) => v.kind === "load" && v.access.storage.kind === "buffer" && storedNames.has(v.access.storage.name)
      && stores.some((s) => bufferName(s) === bufferName(v.access) && !sameAccess(s, v.access)));
    if (crossed) return [];
    const parallel = range(outer).filter((d) => stores.every((s) => s.strides[d] !== 0));
    const oneToOne = stores.every((s) => injective(parallel.map((d) => [maxExtent(kernel.dims[d]!, this.program.batch), Math.abs(s.strides[d]!)] as const)));
    return oneToOne ? parallel : [];
  }

  /** Whether `fill` can be done by `loop` (which accumulates into exactly the filled elements, one each). */
  canAbsorb(fill: FillKernel, loop: Kernel): boolean {
    if (loop.kind !== "loop" || loop.mode !== "add" || loop.extraStores?.length || bufferName(loop.target) !== fill.buffer || loop.target.offset !== 0) return false;
    if (loop.values.some((v) => v.kind === "load" && v.access.storage.kind === "buffer" && v.access.storage.name === fill.buffer)) return false;
    const parallel = this.parallelDims(loop);
    if (loop.target.strides.some((s, d) => s !== 0 && !parallel.includes(d))) return false;
    // The stores must cover 0 … length−1 contiguously: strides 1, e₀, e₀e₁, … from the innermost parallel dim out.
    let expected = 1;
    for (const d of [...parallel].reverse()) {
      const e = loop.dims[d]!;
      if (loop.target.strides[d] !== expected) return false;
      if (e.perExample) return parallel.length === 1 && sameCount(countOf([e]), countOf([fill.length])) && expected === 1;
      expected *= e.factor;
    }
    return sameCount(countOf(parallel.map((d) => loop.dims[d]!)), countOf([fill.length]));
  }

  private loop(kernel: LoopKernel, absorbedFill?: FillKernel): void {
    const dims = kernel.dims;
    const reduced = kernel.reduction?.dims ?? 0;
    const outer = dims.length - reduced;
    const parallel = this.parallelDims(kernel);
    const indexName = (d: number) => `i${d}`;
    const indices = dims.map((_, d) => indexName(d));
    const body: string[] = ["let n = u.n;"];
    // Decode the parallel indices from t, innermost fastest.
    if (parallel.length === 1) body.push(`let ${indexName(parallel[0]!)} = t;`);
    else if (parallel.length > 1) {
      body.push("var rest = t;");
      [...parallel].reverse().forEach((d, k) => {
        if (k === parallel.length - 1) body.push(`let ${indexName(d)} = rest;`);
        else body.push(`let ${indexName(d)} = rest % ${extentCode(dims[d]!)};`, `rest = rest / ${extentCode(dims[d]!)};`);
      });
    }
    const target = kernel.target;
    const targetName = bufferName(target);
    const at = (access: Access) => access.strides.map((s, d) => [indices[d]!, s] as const);
    if (absorbedFill) body.push(`${this.store(targetName, target.offset, at(target))} = ${wgslLiteral(absorbedFill.value, this.helpers)};`);

    // Serial loops, in the Program's order: outer dims not run in parallel, then the reduced dims.
    const lines: string[] = [];
    let depth = 0;
    const indent = () => "  ".repeat(depth);
    const open = (d: number) => {
      lines.push(`${indent()}for (var ${indexName(d)} = 0u; ${indexName(d)} < ${extentCode(dims[d]!)}; ${indexName(d)}++) {`);
      depth++;
    };
    const close = () => {
      depth--;
      lines.push(`${indent()}}`);
    };
    const emit = (text: readonly string[]) => text.forEach((line) => lines.push(indent() + line));
    const serialOuter = range(outer).filter((d) => !parallel.includes(d));
    serialOuter.forEach(open);
    const last = `v${kernel.values.length - 1}`;
    const storeValue = (value: string) => {
      const place = this.store(targetName, target.offset, at(target));
      if (kernel.mode === "add") {
        this.reads.add(targetName);
        return `${place} = ${place} + ${value};`;
      }
      return `${place} = ${value};`;
    };
    const innerLoops = (each: (valueLines: string[]) => string[]) => {
      range(reduced).forEach((k) => open(outer + k));
      emit(each(this.values(kernel.values, indices, "v")));
      range(reduced).forEach(close);
    };
    if (!kernel.reduction) {
      emit(this.values(kernel.values, indices, "v"));
      emit([storeValue(last)]);
      for (const extra of kernel.extraStores ?? []) emit([`${this.store(bufferName(extra.target), extra.target.offset, at(extra.target))} = v${extra.value};`]);
    } else {
      emit(["{"]);
      depth++;
      switch (kernel.reduction.op) {
        case "sum":
          emit(["var total = 0.0f;"]);
          innerLoops((v) => [...v, `total = total + ${last};`]);
          emit([storeValue("total")]);
          break;
        case "max":
          this.helpers.add("inf_");
          emit(["var largest = -inf_();"]);
          innerLoops((v) => [...v, `largest = max(largest, ${last});`]);
          emit([storeValue("largest")]);
          break;
        case "logSumExp":
          // log Σ eᵛ = m + log Σ e^(v − m) with m = max v: no overflow
          this.helpers.add("inf_").add("log_").add("log1p_");
          emit(["var largest = -inf_();"]);
          innerLoops((v) => [...v, `largest = max(largest, ${last});`]);
          emit(["var total = 0.0f;"]);
          innerLoops((v) => [...v, `total = total + exp(${last} - largest);`]);
          emit([storeValue("select(largest + log_(total), largest, largest == -inf_())")]);
          break;
      }
      depth--;
      emit(["}"]);
    }
    serialOuter.forEach(close);
    body.push(...lines);
    const comment = absorbedFill ? `${kernel.comment} (zeroing its target)` : kernel.comment;
    this.finish(comment, countOf(parallel.map((d) => dims[d]!)), body);
  }

  /**
   * C = A·B with a block of up to 4×4 elements of C per invocation (sixteen accumulators: each loaded
   * element of A and B feeds four products). Each element is still Σₚ in the Program's order.
   */
  private gemm(kernel: GemmKernel): void {
    const { a, b, c } = kernel;
    if (c.buffer === a.buffer || c.buffer === b.buffer) {
      throw new GradgenError(`internal: the WGSL target cannot run a matrix product that overwrites its operand (${kernel.comment}).`);
    }
    const block = (e: Extent) => (!e.perExample && e.factor <= 4 ? e.factor : 4);
    const [rows, cols] = [block(kernel.m), block(kernel.n)];
    const exact = (e: Extent, size: number) => !e.perExample && e.factor % size === 0;
    const blocksOf = (e: Extent, size: number) => (size === 1 ? extentCode(e) : factorCode(factorOf(e, size)));
    const r = kernel.repeat;
    const body = [
      "let n = u.n;",
      `let m = ${extentCode(kernel.m)};`,
      `let columns = ${extentCode(kernel.n)};`,
      `let jb = t % ${blocksOf(kernel.n, cols)};`,
      `let rest = t / ${blocksOf(kernel.n, cols)};`,
      ...(r ? [`let ib = rest % ${blocksOf(kernel.m, rows)};`, `let r = rest / ${blocksOf(kernel.m, rows)};`] : ["let ib = rest;"]),
      `let firstRow = ib * ${rows}u;`,
      `let firstColumn = jb * ${cols}u;`,
    ];
    // Rows and columns past the edge read the last one (clamped) and are not stored.
    range(rows).forEach((k) => body.push(`let i${k} = ${exact(kernel.m, rows) ? `firstRow + ${k}u` : `min(firstRow + ${k}u, m - 1u)`};`));
    range(cols).forEach((l) => body.push(`let j${l} = ${exact(kernel.n, cols) ? `firstColumn + ${l}u` : `min(firstColumn + ${l}u, columns - 1u)`};`));
    range(rows).forEach((k) => body.push(`var c${k}_${range(cols).map((l) => `${l} = 0.0f`).join(`; var c${k}_`)};`));
    body.push(`for (var p = 0u; p < ${extentCode(kernel.k)}; p++) {`);
    range(rows).forEach((k) => body.push(`  let a${k} = ${this.load(a.buffer, a.offset, [["r", r?.aStride ?? 0], [`i${k}`, a.rowStride], ["p", a.colStride]])};`));
    range(cols).forEach((l) => body.push(`  let b${l} = ${this.load(b.buffer, b.offset, [["r", r?.bStride ?? 0], ["p", b.rowStride], [`j${l}`, b.colStride]])};`));
    range(rows).forEach((k) => range(cols).forEach((l) => body.push(`  c${k}_${l} = c${k}_${l} + a${k} * b${l};`)));
    body.push("}");
    range(rows).forEach((k) => range(cols).forEach((l) => {
      const guard = [...(exact(kernel.m, rows) ? [] : [`firstRow + ${k}u < m`]), ...(exact(kernel.n, cols) ? [] : [`firstColumn + ${l}u < columns`])];
      const place = this.store(c.buffer, c.offset, [["r", r?.cStride ?? 0], [`i${k}`, c.rowStride], [`j${l}`, c.colStride]]);
      body.push(guard.length ? `if (${guard.join(" && ")}) { ${place} = c${k}_${l}; }` : `${place} = c${k}_${l};`);
    }));
    const factors: Factor[] = [...(r ? [factorOf(r.count)] : []), factorOf(kernel.m, rows), factorOf(kernel.n, cols)];
    this.finish(kernel.comment, [factors], body);
  }

  private fill(kernel: FillKernel): void {
    const single = !kernel.length.perExample && kernel.length.factor === 1;
    const place = this.store(kernel.buffer, 0, single ? [] : [["t", 1]]);
    this.finish(`fill ${kernel.buffer}`, countOf([kernel.length]), [`${place} = ${wgslLiteral(kernel.value, this.helpers)};`]);
  }

  private local(kernel: LocalKernel): void {
    const body = this.values(kernel.values, [], "v");
    body.push(`${this.store(localRegion(this.entry, kernel.name), 0, [])} = v${kernel.values.length - 1};`);
    this.finish(`${kernel.comment} (local ${kernel.name})`, single, body);
  }

  /** Stores what the entry point returns (the mean loss) where the host reads it. */
  result(entry: EntryPoint): void {
    const r = entry.returns!;
    const value = r.storage.kind === "scalar" ? this.scalar(r.storage.code) : this.load(r.storage.name, r.offset, []);
    this.finish(`the loss ${entry.name} returns`, single, [`${this.store(resultRegion(entry.name), 0, [])} = ${value};`]);
  }

  /** Fresh inverted-dropout masks: keep with probability 1 − p (scaled by 1/(1 − p)), from (seed, step counter, mask, element). */
  masks(): void {
    this.program.dropout.forEach((mask, stream) => {
      const keep = 1 - mask.dropProbability;
      const place = this.store(mask.buffer, 0, [["t", 1]]);
      this.reads.add("control");
      this.helpers.add("pcg_");
      const threshold = Math.min(0xffffffff, Math.round(keep * 2 ** 32));
      const body = mask.dropProbability === 0
        ? [`${place} = 1.0f;`]
        : [
          `let bits = pcg_(t ^ pcg_(${stream}u ^ pcg_(control[0] ^ pcg_(u.seed))));`,
          `${place} = select(0.0f, ${wgslLiteral(1 / keep, this.helpers)}, bits < ${threshold}u);`,
        ];
      this.finish(`dropout mask ${mask.buffer} (p = ${mask.dropProbability})`, countOf([{ factor: mask.size, perExample: true }]), body);
    });
    this.reads.add("control");
    this.writes.add("control");
    this.finish("count the masks drawn", single, ["control[0] = control[0] + 1u;"]);
  }

  /** The tasks of one entry point's kernels, a fill merged into the loop that accumulates into it. */
  entryPoint(entry: EntryPoint): void {
    const kernels = entry.kernels;
    for (let i = 0; i < kernels.length; i++) {
      const kernel = kernels[i]!;
      const next = kernels[i + 1];
      if (kernel.kind === "fill" && next && this.canAbsorb(kernel, next)) {
        this.kernel(next, kernel);
        i++;
        continue;
      }
      this.kernel(kernel);
    }
    if (entry.returns) this.result(entry);
  }
}

function bufferName(access: Access): string {
  if (access.storage.kind !== "buffer") throw new Error("internal: a store to a scalar");
  return access.storage.name;
}

function sameAccess(a: Access, b: Access): boolean {
  return bufferName(a) === bufferName(b) && a.offset === b.offset && a.strides.length === b.strides.length && a.strides.every((s, i) => s === b.strides[i]);
}

const maxExtent = (e: Extent, batch: number) => e.factor * (e.perExample ? batch : 1);

/** Whether Σ iₖ·sₖ (0 ≤ iₖ < eₖ) takes distinct values for distinct index tuples: each stride exceeds the span of the smaller ones. */
function injective(dims: readonly (readonly [extent: number, stride: number])[]): boolean {
  let span = 0;
  for (const [extent, stride] of [...dims].filter(([e]) => e > 1).sort((x, y) => x[1] - y[1])) {
    if (stride <= span) return false;
    span += stride * (extent - 1);
  }
  return true;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ─── Phases: tasks that share a dispatch ────────────────────────────────────────────────────────

/** Consecutive single-invocation tasks run one after another in one invocation. */
function mergeSingles(tasks: readonly Task[]): Task[] {
  const merged: Task[] = [];
  let run: Task[] = [];
  const flush = () => {
    if (run.length === 1) merged.push(run[0]!);
    else if (run.length > 1) {
      merged.push({
        comment: run.map((t) => t.comment).join("; "),
        count: single,
        reads: new Set(run.flatMap((t) => [...t.reads])),
        writes: new Set(run.flatMap((t) => [...t.writes])),
        body: run.flatMap((t) => ["{", ...t.body.map((line) => `  ${line}`), "}"]),
        helpers: new Set(run.flatMap((t) => [...t.helpers])),
      });
    }
    run = [];
  };
  for (const task of tasks) {
    if (isSingle(task.count)) run.push(task);
    else {
      flush();
      merged.push(task);
    }
  }
  flush();
  return merged;
}

/** Greedy: a task joins the current dispatch unless it reads what the dispatch writes or writes what it touches. */
function groupPhases(tasks: readonly Task[]): Task[][] {
  const phases: Task[][] = [];
  let current: Task[] = [];
  let reads = new Set<string>();
  let writes = new Set<string>();
  for (const task of tasks) {
    const hazard = [...task.reads].some((r) => writes.has(r)) || [...task.writes].some((w) => writes.has(w) || reads.has(w));
    if (hazard && current.length > 0) {
      phases.push(current);
      current = [];
      reads = new Set();
      writes = new Set();
    }
    current.push(task);
    task.reads.forEach((r) => reads.add(r));
    task.writes.forEach((w) => writes.add(w));
  }
  if (current.length > 0) phases.push(current);
  return phases;
}

function helperClosure(names: Iterable<string>): string[] {
  const all = new Set<string>();
  const visit = (name: string) => {
    if (all.has(name)) return;
    all.add(name);
    (helperDependencies[name] ?? []).forEach(visit);
  };
  for (const name of names) visit(name);
  return Object.keys(helperCode).filter((name) => all.has(name));
}

/** One compute shader running the tasks of a phase, invocation ranges one after another. */
function phaseShader(modelName: string, phase: readonly Task[], layout: Layout): string {
  const used = new Set<number>();
  let usesControl = false;
  for (const task of phase) {
    for (const name of [...task.reads, ...task.writes]) {
      if (name === "control") usesControl = true;
      else used.add(layout.regions.get(name)!.chunk);
    }
  }
  const lines = [
    `// ${modelName}: ${phase.map((t) => sanitize(t.comment)).join(" | ")}`,
    "struct Uniforms { n: u32, rate: f32, seed: u32, pad: u32 }",
    `@group(0) @binding(${UNIFORM_BINDING}) var<uniform> u: Uniforms;`,
    ...(usesControl ? [`@group(0) @binding(${CONTROL_BINDING}) var<storage, read_write> control: array<u32>;`] : []),
    ...[...used].sort((a, b) => a - b).map((chunk) => `@group(0) @binding(${FIRST_CHUNK_BINDING + chunk}) var<storage, read_write> c${chunk}: array<f32>;`),
    ...helperClosure(phase.flatMap((t) => [...t.helpers])).map((name) => helperCode[name]!),
  ];
  phase.forEach((task, k) => {
    lines.push(`// ${sanitize(task.comment)}`, `fn task${k}(t: u32) {`, ...task.body.map((line) => `  ${line}`), "}");
  });
  lines.push(
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    "fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {",
    "  let n = u.n;",
    `  var t = (group.y * groups.x + group.x) * ${WORKGROUP_SIZE}u + local;`,
  );
  phase.forEach((task, k) => {
    const count = countCode(task.count);
    if (k === phase.length - 1) lines.push(`  if (t < ${count}) { task${k}(t); }`);
    else lines.push(`  if (t < ${count}) { task${k}(t); return; }`, `  t = t - (${count});`);
  });
  lines.push("}");
  return lines.join("\n");
}

/** A comment on one line, without characters that would end a template literal or a comment. */
function sanitize(text: string): string {
  return text.replace(/[`$\\\n\r]/g, " ").replace(/\*\//g, "* /");
}

// ─── The plan the host runs ─────────────────────────────────────────────────────────────────────

export type SequenceName = "loss" | "trainingLoss" | "gradient" | "predict" | "step" | "resample";

export interface WgslDispatch {
  readonly shader: number;
  /** Invocations: Σ Π ⌈factor·nᵖᵒʷᵉʳ / divisor⌉. */
  readonly count: Count;
}

export interface WgslPlan {
  readonly shaders: readonly string[];
  readonly sequences: Readonly<Record<SequenceName, readonly WgslDispatch[]>>;
  readonly layout: Layout;
  /** Where each sequence leaves the loss it returns. */
  readonly results: Readonly<Partial<Record<SequenceName, string>>>;
}

/** The shaders and dispatch sequences of a Program (exported for tests: every shader is validated there). */
export function planWgsl(program: Program, options: { maxBindingBytes?: number } = {}): WgslPlan {
  if (program.dtype !== "f32") {
    throw new GradgenError(`the WGSL target is f32 only (WGSL has no f64), but model "${program.modelName}" is compiled with --dtype ${program.dtype}; compile it with --dtype f32, or for the TypeScript target only.`);
  }
  const layout = planLayout(program, options.maxBindingBytes ?? DEFAULT_MAX_BINDING_BYTES);
  const entry = (name: EntryPointName) => program.entryPoints.find((e) => e.name === name);
  const tasksOf = (parts: readonly (EntryPoint | "masks" | undefined)[]) => {
    const tasks: Task[] = [];
    for (const part of parts) {
      if (part === undefined) continue;
      const builder = new TaskBuilder(program, layout, part === "masks" ? "masks" : part.name);
      if (part === "masks") builder.masks();
      else builder.entryPoint(part);
      tasks.push(...builder.tasks);
    }
    return tasks;
  };
  const hasDropout = program.dropout.length > 0;
  const gradient = entry("gradient")!;
  const parts: Record<SequenceName, readonly (EntryPoint | "masks" | undefined)[]> = {
    loss: [entry("loss")],
    trainingLoss: [entry("trainingLoss") ?? entry("loss")],
    gradient: [gradient],
    predict: [entry("predict")],
    step: [hasDropout ? "masks" : undefined, entry("beforeGradient"), gradient, entry("update")],
    resample: [hasDropout ? "masks" : undefined],
  };
  const shaders: string[] = [];
  const shaderIndex = new Map<string, number>();
  const sequences = {} as Record<SequenceName, WgslDispatch[]>;
  for (const name of Object.keys(parts) as SequenceName[]) {
    sequences[name] = groupPhases(mergeSingles(tasksOf(parts[name]))).map((phase) => {
      const code = phaseShader(program.modelName, phase, layout);
      let shader = shaderIndex.get(code);
      if (shader === undefined) {
        shader = shaders.length;
        shaders.push(code);
        shaderIndex.set(code, shader);
      }
      return { shader, count: phase.length === 1 ? phase[0]!.count : phase.flatMap((t) => t.count) };
    });
  }
  const results: Partial<Record<SequenceName, string>> = {
    loss: resultRegion("loss"),
    trainingLoss: resultRegion(entry("trainingLoss") ? "trainingLoss" : "loss"),
    gradient: resultRegion("gradient"),
    step: resultRegion("gradient"),
  };
  return { shaders, sequences, layout, results };
}

// ─── The host module ────────────────────────────────────────────────────────────────────────────

const quote = (s: string) => JSON.stringify(s);
const union = (names: readonly string[]) => (names.length ? names.map(quote).join(" | ") : "never");

export function emitWgsl(program: Program, options: WgslModuleOptions): string {
  const plan = planWgsl(program, options);
  const { layout } = plan;
  const region = (name: string) => layout.regions.get(name)!;
  const regionLiteral = (name: string) => {
    const r = region(name);
    return `[${r.chunk}, ${r.offset}, ${r.elements}]`;
  };
  const entry = (name: EntryPointName) => program.entryPoints.find((e) => e.name === name)!;
  const record = (entries: readonly [string, string][], indent = "  ") =>
    entries.length ? `{\n${entries.map(([k, v]) => `${indent}  ${quote(k)}: ${v},`).join("\n")}\n${indent}}` : "{}";

  const specObject = {
    model: program.modelName,
    batch: program.batch,
    dtype: program.dtype,
    structureHash: program.structureHash,
    inputs: Object.fromEntries(program.inputs.map((x) => [x.name, x.shape])),
    params: Object.fromEntries(program.params.map((p) => [p.name, p.shape])),
    outputs: Object.fromEntries(program.outputs.map((o) => [o.name, o.shape])),
    optimizer: program.optimizer,
    dropout: program.dropout.map((d) => d.dropProbability),
  };

  const initialisation = [
    ...program.params.map((param) => {
      const { fanIn, fanOut } = fans(param.shape);
      const init = typeof param.init === "number" ? wgslNumber(param.init) : typeof param.init === "string" ? quote(param.init) : JSON.stringify(param.init);
      const size = sizeOf(param.shape);
      return [
        `  {`,
        `    const target = view(${quote(`param_${param.name}`)});`,
        `    const given = options.params?.${param.name};`,
        `    if (given !== undefined) {`,
        `      if (given.length !== ${size}) throw new RangeError(\`${program.modelName}: params.${param.name} needs ${size} values, got \${given.length}\`);`,
        `      target.set(given);`,
        `    } else initialise(target, ${init}, ${fanIn}, ${fanOut}, random);`,
        `  }`,
      ].join("\n");
    }),
    ...program.state.filter((s) => s.initial !== 0).map((s) => `  view(${quote(s.buffer)}).fill(${wgslNumber(s.initial)});`),
  ];

  const dispatchList = (dispatches: readonly WgslDispatch[]) =>
    `[${dispatches.map((d) => `[${d.shader}, [${d.count.map((term) => `[${term.map((f) => `[${f.join(", ")}]`).join(", ")}]`).join(", ")}]]`).join(", ")}]`;
  const sequences = (Object.keys(plan.sequences) as SequenceName[]).map((name) => `  ${name}: ${dispatchList(plan.sequences[name])},`).join("\n");
  const shaderList = plan.shaders.map((code) => {
    if (/[`\\]|\$\{/.test(code)) throw new Error("internal: a shader contains a character a template literal cannot hold");
    return `  \`${code}\`,`;
  }).join("\n");

  const { kind, ...hyperparameters } = program.optimizer;
  const header = [
    `// Generated by gradgen from ${options.source} (model "${program.modelName}"), WGSL target. Do not edit:`,
    `// regenerate with \`${options.command}\`.`,
    `// Batch ${program.batch}, f32, optimizer ${kind} (${Object.entries(hyperparameters).map(([k, v]) => `${k} ${wgslNumber(v)}`).join(", ")}); ` +
      `${plan.shaders.length} compute shaders, ${plan.sequences.step.length} dispatches per step.`,
  ].join("\n");

  const bufferNames = [...layout.regions.keys()].filter((name) => !name.startsWith("local_") && !name.startsWith("result_"));
  return fillTemplate(readTemplate("wgsl-host.ts.tpl"), {
    header,
    inputNameUnion: union(program.inputs.map((x) => x.name)),
    paramNameUnion: union(program.params.map((p) => p.name)),
    outputNameUnion: union(program.outputs.map((o) => o.name)),
    stateNameUnion: union(program.state.map((s) => s.label)),
    predictInputUnion: union(entry("predict").inputs),
    inputGradUnion: union(program.inputs.filter((x) => x.wantsGrad).map((x) => x.name)),
    bufferNameUnion: union(bufferNames),
    spec: JSON.stringify(specObject, null, 2),
    workgroupSize: String(WORKGROUP_SIZE),
    maxGroups: String(MAX_GROUPS_PER_DIMENSION),
    chunkSizes: `[${layout.chunks.join(", ")}]`,
    usesControl: String(program.dropout.length > 0),
    uniformBinding: String(UNIFORM_BINDING),
    controlBinding: String(CONTROL_BINDING),
    firstChunkBinding: String(FIRST_CHUNK_BINDING),
    regions: record(bufferNames.map((name) => [name, regionLiteral(name)])),
    results: record((Object.entries(plan.results) as [string, string][]).map(([name, r]) => [name, regionLiteral(r)])),
    inputSizes: record(program.inputs.map((x) => [x.name, String(sizeOf(x.shape))])),
    entryInputs: record((["loss", "trainingLoss", "gradient", "predict", "step"] as const).map((name) => {
      const source = name === "step" ? "gradient" : name === "trainingLoss" && !program.entryPoints.some((e) => e.name === "trainingLoss") ? "loss" : name;
      return [name, `[${entry(source as EntryPointName).inputs.map(quote).join(", ")}]`];
    })),
    outputSizes: record(program.outputs.map((o) => {
      const buffer = program.buffers.find((b) => b.name === `output_${o.name}`)!;
      return [o.name, `[${buffer.size}, ${buffer.perExample}]`];
    })),
    stateBuffers: record(program.state.map((s) => [s.label, quote(s.buffer)])),
    snapshotted: `[${[...program.params.map((p) => `param_${p.name}`), ...program.state.map((s) => s.buffer)].map(quote).join(", ")}]`,
    initialisation: initialisation.join("\n"),
    shaders: shaderList,
    sequences,
  });
}

/** A number in TypeScript source. */
function wgslNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return String(value);
}
