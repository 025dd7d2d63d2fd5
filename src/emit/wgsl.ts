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
//     accumulates into exactly that buffer is done by that loop; an elementwise loop that reads a
//     matrix product's output element for element (bias + activation) runs in that product's
//     epilogue when nothing later reads the product itself (planEpilogueFusions decides, the task
//     builder prints);
//   - every shader also has an f16 variant (createGpuTrainer(device, { precision: "f16" })): storage
//     stays f32, forward and backward values are computed in f16 (loads round to f16, stores widen),
//     sums (matrix products, reductions, batch sums) accumulate in f32, the optimizer update is f32.

import { examplesPerCall, moduleSpec } from "./module-spec.js";
import { Op } from "../ir/ops.js";
import type { ElementwiseOp } from "../ir/scalar.js";
import { GradgenError } from "../errors.js";
import type {
  Access, EntryPoint, EntryPointName, Extent, FillKernel, GemmKernel, Kernel, LocalKernel, LoopKernel, Program, ScalarCode, Value,
} from "../schedule/program.js";
import { fans } from "../initializers.js";
import { fillTemplate, readTemplate } from "./template.js";
import { sizeOf } from "../ir/shape.js";
import { commentText } from "./header-text.js";
import { bufferName, propertyKey, stringLiteral, wgslRegion } from "../schedule/names.js";

export interface WgslModuleOptions {
  /** The model file, as named in the header. */
  readonly source: string;
  /** The command that regenerates this file. */
  readonly command: string;
  /** Largest storage buffer binding in bytes (default 128 MiB: WebGPU's default maxStorageBufferBindingSize). */
  readonly maxBindingBytes?: number;
  /** Fuse elementwise loops into the matrix products before them (default true). */
  readonly fuseEpilogues?: boolean;
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

/** The f16 helpers (suffix h): the f32 ones retyped, and NaN/∞ from 16-bit patterns. */
const helperCodeF16: Readonly<Record<string, string>> = {
  nan_h: "fn nan_h() -> f16 { var bits = 0x7e007e00u; return bitcast<vec2<f16>>(bits).x; }",
  inf_h: "fn inf_h() -> f16 { var bits = 0x7c007c00u; return bitcast<vec2<f16>>(bits).x; }",
  ...Object.fromEntries(["log1p_", "log_", "tanh_", "sigmoid_", "softplus_"].map((name) => [
    `${name}h`,
    helperCode[name]!.replace(/\bf32\b/g, "f16").replace(/\b(log1p|log|tanh|sigmoid|softplus)_(?=\()/g, "$1_h"),
  ])),
};

/** Helpers that call other helpers. */
const helperDependencies: Readonly<Record<string, readonly string[]>> = {
  log_: ["log1p_"],
  softplus_: ["log1p_"],
  log_h: ["log1p_h"],
  softplus_h: ["log1p_h"],
};

/** Arithmetic precision of a task's values (storage is always f32). */
export type Precision = "f32" | "f16";

/** x rounded to the nearest f16 (ties to even); beyond the largest finite f16 it is ±∞. */
export function roundF16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  let e = Math.max(Math.floor(Math.log2(a)), -14);
  if (e > -14 && 2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  const floor = Math.floor(q);
  const rounded = q - floor > 0.5 || (q - floor === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  return Math.sign(x) * rounded * ulp;
}

/**
 * A literal WGSL accepts, of the given precision: the exact f32 (f16) value, NaN and ±∞ through
 * helpers, negatives in parentheses.
 */
export function wgslLiteral(value: number, helpers?: Set<string>, precision: Precision = "f32"): string {
  const use = (name: string) => helpers?.add(name);
  const suffix = precision === "f16" ? "h" : "f";
  const [nan, inf] = precision === "f16" ? ["nan_h", "inf_h"] : ["nan_", "inf_"];
  if (Number.isNaN(value)) return use(nan), `${nan}()`;
  const f = precision === "f16" ? roundF16(value) : Math.fround(value);
  if (f === Infinity) return use(inf), `${inf}()`;
  if (f === -Infinity) return use(inf), `(-${inf}())`;
  if (f === 0) return Object.is(f, -0) ? `(-0.0${suffix})` : `0.0${suffix}`;
  const text = String(Math.abs(f));
  const spelled = /[.e]/.test(text) ? `${text}${suffix}` : `${text}.0${suffix}`;
  return f < 0 ? `(-${spelled})` : spelled;
}

/** How a task spells its values: their type, literals and helper functions. */
interface Numbers {
  readonly precision: Precision;
  /** "f32" or "f16". */
  readonly type: string;
  readonly literal: (value: number) => string;
  /** The helper `base` ("sigmoid_") of this precision, noted as used. */
  readonly helper: (base: string) => string;
}

function numbersOf(precision: Precision, helpers: Set<string>): Numbers {
  return {
    precision,
    type: precision,
    literal: (value) => wgslLiteral(value, helpers, precision),
    helper: (base) => {
      const name = precision === "f16" ? `${base}h` : base;
      helpers.add(name);
      return name;
    },
  };
}

/** Each elementwise op over already-named operands; typed by the op list, so a new op without a WGSL form is a type error. */
const elementwiseCode: { readonly [K in ElementwiseOp]: (args: readonly string[], exponent: number, num: Numbers) => string } = {
  [Op.Neg]: ([x]) => `-${x}`,
  [Op.Exp]: ([x]) => `exp(${x})`,
  [Op.Log]: ([x], _, num) => `${num.helper("log_")}(${x})`,
  [Op.Sin]: ([x]) => `sin(${x})`,
  [Op.Cos]: ([x]) => `cos(${x})`,
  [Op.Sqrt]: ([x]) => `sqrt(${x})`,
  [Op.Abs]: ([x]) => `abs(${x})`,
  [Op.Sign]: ([x]) => `sign(${x})`,
  [Op.Sigmoid]: ([x], _, num) => `${num.helper("sigmoid_")}(${x})`,
  [Op.Tanh]: ([x], _, num) => `${num.helper("tanh_")}(${x})`,
  [Op.Softplus]: ([x], _, num) => `${num.helper("softplus_")}(${x})`,
  [Op.PowConst]: ([x], p, num) => powCode(x!, p, num),
  [Op.Add]: ([a, b]) => `${a} + ${b}`,
  [Op.Sub]: ([a, b]) => `${a} - ${b}`,
  [Op.Mul]: ([a, b]) => `${a} * ${b}`,
  [Op.Div]: ([a, b]) => `${a} / ${b}`,
  [Op.Maximum]: ([a, b]) => `max(${a}, ${b})`,
  [Op.Minimum]: ([a, b]) => `min(${a}, ${b})`,
  [Op.Greater]: ([a, b], _, num) => `select(${num.literal(0)}, ${num.literal(1)}, ${a} > ${b})`,
  [Op.Equal]: ([a, b], _, num) => `select(${num.literal(0)}, ${num.literal(1)}, ${a} == ${b})`,
  [Op.Select]: ([c, a, b], _, num) => `select(${b}, ${a}, ${c} != ${num.literal(0)})`,
};

/** xᵖ with Math.pow's meaning: WGSL's pow is undefined for x < 0, so the sign is handled here. */
function powCode(x: string, p: number, num: Numbers): string {
  if (p === 0) return num.literal(1);
  if (p === 1) return x;
  if (p === 2) return `${x} * ${x}`;
  if (p === 3) return `${x} * ${x} * ${x}`;
  if (p === -1) return `${num.literal(1)} / ${x}`;
  if (p === 0.5) return `sqrt(${x})`;
  const magnitude = `pow(abs(${x}), ${num.literal(p)})`;
  if (Number.isInteger(p)) return p % 2 === 0 ? magnitude : `select(${magnitude}, -${magnitude}, ${x} < ${num.literal(0)})`;
  return `select(${magnitude}, ${num.helper("nan_")}(), ${x} < ${num.literal(0)})`;
}

// ─── Where values live ───────────────────────────────────────────────────────────────────────────

interface Region {
  readonly name: string;
  readonly chunk: number;
  /** First element within its chunk. */
  readonly offset: number;
  readonly elements: number;
}

const localRegion = wgslRegion.local;
const resultRegion = wgslRegion.result;

interface Layout {
  readonly regions: ReadonlyMap<string, Region>;
  /** Elements of each chunk. */
  readonly chunks: readonly number[];
}

function planLayout(program: Program, maxBindingBytes: number): Layout {
  const wanted: { name: string; elements: number }[] = [];
  for (const buffer of program.buffers) wanted.push({ name: buffer.name, elements: Math.max(1, buffer.size * (buffer.perExample ? program.batch : 1)) });
  for (const input of program.inputs) wanted.push({ name: bufferName.input(input.name), elements: Math.max(1, sizeOf(input.shape) * program.batch) });
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

  constructor(
    private readonly program: Program,
    private readonly layout: Layout,
    private readonly entry: string,
    private readonly precision: Precision = "f32",
    private readonly fusions: ReadonlyMap<number, EpilogueFusion> = new Map(),
  ) {}

  /** The spelling of this task's values (helpers noted in the task being built). */
  private get num(): Numbers {
    return numbersOf(this.precision, this.helpers);
  }

  /** A stored f32 element as a value of this precision. */
  private narrow(element: string): string {
    return this.precision === "f16" ? `f16(${element})` : element;
  }

  /** A value of this precision as an f32 (to store, or to accumulate in f32). */
  private widen(value: string): string {
    return this.precision === "f16" ? `f32(${value})` : value;
  }

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
      case "literal": return this.num.literal(code.value);
      case "batchSize": return `${this.precision}(u.n)`;
      case "learningRate": return this.precision === "f16" ? "f16(u.rate)" : "u.rate";
      case "local": return this.narrow(this.load(localRegion(this.entry, code.name), 0, []));
    }
  }

  /**
   * `let vK: f32 = …;` (f16 in that precision) for each value, loads at loop indices `indices` (one
   * per dim, null where absent); a load of `replaced.access` is the f32 value `replaced.by` instead.
   */
  private values(values: readonly Value[], indices: readonly (string | null)[], prefix: string, replaced?: { readonly access: Access; readonly by: string }): string[] {
    return values.map((value, i) => {
      let code: string;
      if (value.kind === "load") {
        const { storage, offset, strides } = value.access;
        code = storage.kind === "scalar"
          ? this.scalar(storage.code)
          : replaced && sameAccess(value.access, replaced.access)
            ? this.narrow(replaced.by)
            : this.narrow(this.load(storage.name, offset, strides.map((s, d) => [indices[d] ?? "0u", indices[d] ? s : 0] as const)));
      } else {
        const op = value.op as ElementwiseOp;
        const print = elementwiseCode[op];
        if (!print) throw new GradgenError(`the WGSL target has no form for op "${value.op}" yet; compile this model for the TypeScript target only.`);
        code = print(value.args.map((a) => `${prefix}${a}`), value.exponent ?? 1, this.num);
      }
      return `let ${prefix}${i}: ${this.precision} = ${code};`;
    });
  }

  private finish(comment: string, count: Count, body: string[]): void {
    this.tasks.push({ comment, count, reads: this.reads, writes: this.writes, body, helpers: this.helpers });
    this.helpers = new Set();
    this.reads = new Set();
    this.writes = new Set();
  }

  kernel(kernel: Kernel, absorbedFill?: FillKernel, epilogue?: EpilogueFusion): void {
    switch (kernel.kind) {
      case "loop": return this.loop(kernel, absorbedFill);
      case "gemm": return this.gemm(kernel, epilogue);
      case "fill": return this.fill(kernel);
      case "local": return this.local(kernel);
    }
  }

  /** Which outer dims of a loop run in parallel: those every store depends on, if the stores are then one-to-one. */
  parallelDims(kernel: LoopKernel): number[] {
    const stores = [kernel.target, ...(kernel.extraStores ?? []).map((s) => s.target)];
    const outer = kernel.dims.length - (kernel.reduction?.dims ?? 0);
    const storedNames = new Set(stores.map(bufferOf));
    // A load of a stored buffer at another element than the one this invocation stores: keep the Program's order.
    const crossed = kernel.values.some((v) => v.kind === "load" && v.access.storage.kind === "buffer" && storedNames.has(v.access.storage.name)
      && stores.some((s) => bufferOf(s) === bufferOf(v.access) && !sameAccess(s, v.access)));
    if (crossed) return [];
    const parallel = range(outer).filter((d) => stores.every((s) => s.strides[d] !== 0));
    const oneToOne = stores.every((s) => injective(parallel.map((d) => [maxExtent(kernel.dims[d]!, this.program.batch), Math.abs(s.strides[d]!)] as const)));
    return oneToOne ? parallel : [];
  }

  /** Whether `fill` can be done by `loop` (which accumulates into exactly the filled elements, one each). */
  canAbsorb(fill: FillKernel, loop: Kernel): boolean {
    if (loop.kind !== "loop" || loop.mode !== "add" || loop.extraStores?.length || bufferOf(loop.target) !== fill.buffer || loop.target.offset !== 0) return false;
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
    const targetName = bufferOf(target);
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
    /** Stores an f32 value (a reduction's), or accumulates it in f32. */
    const storeValue = (value: string) => {
      const place = this.store(targetName, target.offset, at(target));
      if (kernel.mode === "add") {
        this.reads.add(targetName);
        return `${place} = ${place} + ${value};`;
      }
      return `${place} = ${value};`;
    };
    const wide = (value: string) => this.widen(value);
    const innerLoops = (each: (valueLines: string[]) => string[]) => {
      range(reduced).forEach((k) => open(outer + k));
      emit(each(this.values(kernel.values, indices, "v")));
      range(reduced).forEach(close);
    };
    if (!kernel.reduction) {
      emit(this.values(kernel.values, indices, "v"));
      emit([storeValue(wide(last))]);
      for (const extra of kernel.extraStores ?? []) emit([`${this.store(bufferOf(extra.target), extra.target.offset, at(extra.target))} = ${wide(`v${extra.value}`)};`]);
    } else {
      emit(["{"]);
      depth++;
      switch (kernel.reduction.op) {
        case "sum":
          emit(["var total = 0.0f;"]);
          innerLoops((v) => [...v, `total = total + ${wide(last)};`]);
          emit([storeValue("total")]);
          break;
        case "max":
          this.helpers.add("inf_");
          emit(["var largest = -inf_();"]);
          innerLoops((v) => [...v, `largest = max(largest, ${wide(last)});`]);
          emit([storeValue("largest")]);
          break;
        case "logSumExp":
          // log Σ eᵛ = m + log Σ e^(v − m) with m = max v: no overflow
          this.helpers.add("inf_").add("log_").add("log1p_");
          emit(["var largest = -inf_();"]);
          innerLoops((v) => [...v, `largest = max(largest, ${wide(last)});`]);
          emit(["var total = 0.0f;"]);
          innerLoops((v) => [...v, `total = total + exp(${wide(last)} - largest);`]);
          emit([storeValue("select(largest + log_(total), largest, largest == -inf_())")]);
          break;
      }
      depth--;
      emit(["}"]);
    }
    serialOuter.forEach(close);
    for (const line of lines) body.push(line); // not push(...lines): spreading a long kernel overflows the stack
    const comment = absorbedFill ? `${kernel.comment} (zeroing its target)` : kernel.comment;
    this.finish(comment, countOf(parallel.map((d) => dims[d]!)), body);
  }

  /**
   * C = A·B with a block of up to 4×4 elements of C per invocation (sixteen accumulators: each loaded
   * element of A and B feeds four products). Each element is still Σₚ in the Program's order, in f32
   * (in f16 precision the operands are rounded to f16 and each product to f16 before it is added).
   * With an epilogue, C is not stored: the fused loop's values are computed from each element of the
   * block and its target stored instead.
   */
  private gemm(kernel: GemmKernel, epilogue?: EpilogueFusion): void {
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
    range(rows).forEach((k) => body.push(`  let a${k} = ${this.narrow(this.load(a.buffer, a.offset, [["r", r?.aStride ?? 0], [`i${k}`, a.rowStride], ["p", a.colStride]]))};`));
    range(cols).forEach((l) => body.push(`  let b${l} = ${this.narrow(this.load(b.buffer, b.offset, [["r", r?.bStride ?? 0], ["p", b.rowStride], [`j${l}`, b.colStride]]))};`));
    range(rows).forEach((k) => range(cols).forEach((l) => body.push(`  c${k}_${l} = c${k}_${l} + ${this.widen(`a${k} * b${l}`)};`)));
    body.push("}");
    range(rows).forEach((k) => range(cols).forEach((l) => {
      const guard = [...(exact(kernel.m, rows) ? [] : [`firstRow + ${k}u < m`]), ...(exact(kernel.n, cols) ? [] : [`firstColumn + ${l}u < columns`])];
      if (epilogue) {
        body.push(guard.length ? `if (${guard.join(" && ")}) {` : "{");
        for (const line of this.epilogue(kernel, epilogue, k, l)) body.push(`  ${line}`);
        body.push("}");
        return;
      }
      const place = this.store(c.buffer, c.offset, [["r", r?.cStride ?? 0], [`i${k}`, c.rowStride], [`j${l}`, c.colStride]]);
      body.push(guard.length ? `if (${guard.join(" && ")}) { ${place} = c${k}_${l}; }` : `${place} = c${k}_${l};`);
    }));
    const factors: Factor[] = [...(r ? [factorOf(r.count)] : []), factorOf(kernel.m, rows), factorOf(kernel.n, cols)];
    this.finish(epilogue ? `${kernel.comment}, then ${epilogue.loop.comment} in its epilogue` : kernel.comment, [factors], body);
  }

  /**
   * The fused loop's iteration for element (i<k>, j<l>) of the block: its indices decoded from the
   * element's place in C (outermost stride first), its values with C's element for the load of C.
   */
  private epilogue(kernel: GemmKernel, fusion: EpilogueFusion, k: number, l: number): string[] {
    const { c, repeat } = kernel;
    const { loop } = fusion;
    const place = [...(repeat && repeat.cStride !== 0 ? [`r * ${repeat.cStride}u`] : []), `i${k} * ${c.rowStride}u`, `j${l} * ${c.colStride}u`].join(" + ");
    const lines = [`var rest = ${place};`];
    const indices: (string | null)[] = loop.dims.map(() => null);
    fusion.decode.forEach(({ dim, stride }, x) => {
      indices[dim] = `e${dim}`;
      lines.push(stride === 1 ? `let e${dim} = rest;` : `let e${dim} = rest / ${stride}u;`);
      if (x < fusion.decode.length - 1) lines.push(`rest = rest % ${stride}u;`);
    });
    const values = this.values(loop.values, indices, "v", { access: fusion.load, by: `c${k}_${l}` });
    const target = loop.target;
    const at = target.strides.map((s, d) => [indices[d] ?? "0u", indices[d] ? s : 0] as const);
    for (const value of values) lines.push(value);
    lines.push(`${this.store(bufferOf(target), target.offset, at)} = ${this.widen(`v${loop.values.length - 1}`)};`);
    return lines;
  }

  private fill(kernel: FillKernel): void {
    const single = !kernel.length.perExample && kernel.length.factor === 1;
    const place = this.store(kernel.buffer, 0, single ? [] : [["t", 1]]);
    this.finish(`fill ${kernel.buffer}`, countOf([kernel.length]), [`${place} = ${wgslLiteral(kernel.value, this.helpers)};`]);
  }

  private local(kernel: LocalKernel): void {
    const body = this.values(kernel.values, [], "v");
    body.push(`${this.store(localRegion(this.entry, kernel.name), 0, [])} = ${this.widen(`v${kernel.values.length - 1}`)};`);
    this.finish(`${kernel.comment} (local ${kernel.name})`, single, body);
  }

  /** Stores what the entry point returns (the mean loss) where the host reads it. */
  result(entry: EntryPoint): void {
    const r = entry.returns!;
    const value = r.storage.kind === "scalar" ? this.widen(this.scalar(r.storage.code)) : this.load(r.storage.name, r.offset, []);
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

  /**
   * The tasks of one entry point's kernels, a fill merged into the loop that accumulates into it, a
   * loop into the matrix product before it where `fusions` (planEpilogueFusions) says so.
   */
  entryPoint(entry: EntryPoint): void {
    const kernels = entry.kernels;
    for (let i = 0; i < kernels.length; i++) {
      const kernel = kernels[i]!;
      const next = kernels[i + 1];
      const fusion = this.fusions.get(i);
      if (fusion) {
        this.kernel(kernel, undefined, fusion);
        i++;
        continue;
      }
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

function bufferOf(access: Access): string {
  if (access.storage.kind !== "buffer") throw new Error("internal: a store to a scalar");
  return access.storage.name;
}

function sameAccess(a: Access, b: Access): boolean {
  return bufferOf(a) === bufferOf(b) && a.offset === b.offset && a.strides.length === b.strides.length && a.strides.every((s, i) => s === b.strides[i]);
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


// ─── Fusion: an elementwise loop into the epilogue of the matrix product before it ──────────────

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
  const sorted = dims.filter(([e]) => !trivial(e)).map(([e, s]) => [e, s] as [Extent, number]).sort((x, y) => x[1] - y[1]);
  const merged: [Extent, number][] = [];
  for (const [extent, stride] of sorted) {
    const inner = merged[merged.length - 1];
    if (inner && !inner[0].perExample && stride === inner[1] * inner[0].factor) {
      merged[merged.length - 1] = [{ factor: inner[0].factor * extent.factor, perExample: extent.perExample }, inner[1]];
    } else merged.push([extent, stride]);
  }
  return merged;
}

function sameDims(a: Dims, b: Dims): boolean {
  const [x, y] = [canonicalDims(a), canonicalDims(b)];
  return x.length === y.length && x.every(([e, s], i) => e.factor === y[i]![0].factor && e.perExample === y[i]![0].perExample && s === y[i]![1]);
}

/** The gemm's output elements as dims over (repetition, row, column). */
function gemmOutputDims(kernel: GemmKernel): Dims {
  const { c, repeat } = kernel;
  return [...(repeat ? [[repeat.count, repeat.cStride] as const] : []), [kernel.m, c.rowStride], [kernel.n, c.colStride]];
}

/** The buffer elements (relative to the buffer) a kernel reads and writes, for n examples. */
interface Touch {
  readonly buffer: string;
  readonly offset: number;
  readonly dims: readonly (readonly [extent: number, stride: number])[];
}

function touches(kernel: Kernel, n: number): { reads: Touch[]; writes: Touch[] } {
  const size = (e: Extent) => e.factor * (e.perExample ? n : 1);
  const reads: Touch[] = [];
  const writes: Touch[] = [];
  const access = (a: Access, dims: readonly Extent[]): Touch | undefined =>
    a.storage.kind === "buffer" ? { buffer: a.storage.name, offset: a.offset, dims: a.strides.map((s, d) => [size(dims[d]!), s] as const) } : undefined;
  switch (kernel.kind) {
    case "loop":
      for (const v of kernel.values) if (v.kind === "load") reads.push(...[access(v.access, kernel.dims)].filter((t) => t !== undefined));
      if (kernel.mode === "add") reads.push(access(kernel.target, kernel.dims)!);
      for (const t of [kernel.target, ...(kernel.extraStores ?? []).map((e) => e.target)]) writes.push(access(t, kernel.dims)!);
      break;
    case "local":
      for (const v of kernel.values) if (v.kind === "load") reads.push(...[access(v.access, [])].filter((t) => t !== undefined));
      break;
    case "fill":
      writes.push({ buffer: kernel.buffer, offset: 0, dims: [[size(kernel.length), 1]] });
      break;
    case "gemm": {
      const { a, b, c, repeat } = kernel;
      const r = [size(repeat?.count ?? { factor: 1, perExample: false }), 0] as const;
      reads.push({ buffer: a.buffer, offset: a.offset, dims: [[r[0], repeat?.aStride ?? 0], [size(kernel.m), a.rowStride], [size(kernel.k), a.colStride]] });
      reads.push({ buffer: b.buffer, offset: b.offset, dims: [[r[0], repeat?.bStride ?? 0], [size(kernel.k), b.rowStride], [size(kernel.n), b.colStride]] });
      writes.push({ buffer: c.buffer, offset: c.offset, dims: [[r[0], repeat?.cStride ?? 0], [size(kernel.m), c.rowStride], [size(kernel.n), c.colStride]] });
      break;
    }
  }
  return { reads, writes };
}

function forEachElement(touch: Touch, visit: (element: number) => void): void {
  const walk = (d: number, at: number) => {
    if (d === touch.dims.length) return visit(at);
    const [extent, stride] = touch.dims[d]!;
    for (let i = 0; i < extent; i++) walk(d + 1, at + i * stride);
  };
  walk(0, touch.offset);
}

/**
 * Whether any kernel from `from` on (or the value the entry point returns) reads an element of
 * `buffer` that `written` wrote (and not `overwritten`) and no kernel in between overwrote, for n examples.
 */
function readLater(entry: EntryPoint, from: number, buffer: string, written: readonly Touch[], overwritten: readonly Touch[], n: number, bufferSize: number): boolean {
  const live = new Uint8Array(bufferSize);
  const mark = (touch: Touch, value: number) => forEachElement(touch, (e) => { if (e >= 0 && e < bufferSize) live[e] = value; });
  written.forEach((t) => mark(t, 1));
  overwritten.forEach((t) => mark(t, 0));
  const anyLive = (touch: Touch) => {
    let found = false;
    forEachElement(touch, (e) => { found ||= live[e] === 1; });
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

function epilogueFusion(program: Program, entry: EntryPoint, index: number, gemm: GemmKernel, loop: LoopKernel): EpilogueFusion | undefined {
  const { c } = gemm;
  const declared = program.buffers.find((b) => b.name === c.buffer);
  if (!declared || declared.role !== "work") return undefined;
  if (loop.mode !== "assign" || loop.reduction || loop.extraStores?.length) return undefined;
  const loads = loop.values.flatMap((v) => (v.kind === "load" && v.access.storage.kind === "buffer" ? [v.access] : []));
  const ofC = loads.filter((a) => bufferOf(a) === c.buffer);
  const load = ofC[0];
  if (!load || ofC.some((a) => !sameAccess(a, load)) || load.offset !== c.offset) return undefined;
  if ([...gemmOutputDims(gemm), ...load.strides.map((s) => [undefined, s] as const)].some(([, s]) => s < 0)) return undefined;
  const loopDims = (strides: readonly number[]): Dims => loop.dims.map((e, d) => [e, strides[d]!] as const);
  const batch = program.batch;
  const oneToOne = (strides: readonly number[]) =>
    loop.dims.every((e, d) => trivial(e) || strides[d] !== 0) && injective(loop.dims.map((e, d) => [maxExtent(e, batch), Math.abs(strides[d]!)] as const));
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
  const decode = loop.dims.map((e, dim) => ({ dim, stride: load.strides[dim]!, trivial: trivial(e) }))
    .filter((d) => !d.trivial).sort((x, y) => y.stride - x.stride).map(({ dim, stride }) => ({ dim, stride }));
  return { gemm: index, loop, load, decode };
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
  return [...Object.keys(helperCode), ...Object.keys(helperCodeF16)].filter((name) => all.has(name));
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
    ...helperClosure(phase.flatMap((t) => [...t.helpers])).map((name) => helperCode[name] ?? helperCodeF16[name]!),
  ];
  phase.forEach((task, k) => {
    lines.push(`// ${sanitize(task.comment)}`, `fn task${k}(t: u32) {`);
    for (const line of task.body) lines.push(`  ${line}`);
    lines.push("}");
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
  const code = lines.join("\n");
  return /\bf16\b/.test(code) ? `enable f16;\n${code}` : code;
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
  /** The same shaders computing in f16 (index for index; `enable f16;` where they use it). */
  readonly shadersF16: readonly string[];
  readonly sequences: Readonly<Record<SequenceName, readonly WgslDispatch[]>>;
  readonly layout: Layout;
  /** Where each sequence leaves the loss it returns. */
  readonly results: Readonly<Partial<Record<SequenceName, string>>>;
}

export interface WgslPlanOptions {
  /** Largest storage buffer binding in bytes (default 128 MiB). */
  readonly maxBindingBytes?: number;
  /** Fuse elementwise loops into the matrix products before them (default true; false for tests that compare both). */
  readonly fuseEpilogues?: boolean;
}

/** The shaders and dispatch sequences of a Program (exported for tests: every shader is validated there). */
export function planWgsl(program: Program, options: WgslPlanOptions = {}): WgslPlan {
  if (program.dtype !== "f32") {
    throw new GradgenError(`the WGSL target is f32 only (WGSL has no f64), but model "${program.modelName}" is compiled with --dtype ${program.dtype}; compile it with --dtype f32, or for the TypeScript target only.`);
  }
  const layout = planLayout(program, options.maxBindingBytes ?? DEFAULT_MAX_BINDING_BYTES);
  const entry = (name: EntryPointName) => program.entryPoints.find((e) => e.name === name);
  const fusions = new Map(program.entryPoints.map((e) => [e.name, options.fuseEpilogues === false ? new Map<number, EpilogueFusion>() : planEpilogueFusions(program, e)]));
  /** The tasks of some entry points; in f16 precision the optimizer's (and the dropout masks') stay f32. */
  const tasksOf = (parts: readonly (EntryPoint | "masks" | undefined)[], precision: Precision) => {
    const tasks: Task[] = [];
    for (const part of parts) {
      if (part === undefined) continue;
      const f32Only = part === "masks" || part.name === "update" || part.name === "beforeGradient";
      const builder = new TaskBuilder(program, layout, part === "masks" ? "masks" : part.name, f32Only ? "f32" : precision, part === "masks" ? undefined : fusions.get(part.name));
      if (part === "masks") builder.masks();
      else builder.entryPoint(part);
      for (const task of builder.tasks) tasks.push(task);
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
  const shadersF16: string[] = [];
  const shaderIndex = new Map<string, number>();
  const sequences = {} as Record<SequenceName, WgslDispatch[]>;
  for (const name of Object.keys(parts) as SequenceName[]) {
    // The f16 tasks have the same counts, reads and writes as the f32 ones: the same phases.
    const phases = groupPhases(mergeSingles(tasksOf(parts[name], "f32")));
    const tasksF16 = mergeSingles(tasksOf(parts[name], "f16"));
    let at = 0;
    sequences[name] = phases.map((phase) => {
      const code = phaseShader(program.modelName, phase, layout);
      const codeF16 = phaseShader(program.modelName, tasksF16.slice(at, (at += phase.length)), layout);
      const key = `${code}\n${codeF16}`;
      let shader = shaderIndex.get(key);
      if (shader === undefined) {
        shader = shaders.length;
        shaders.push(code);
        shadersF16.push(codeF16);
        shaderIndex.set(key, shader);
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
  return { shaders, shadersF16, sequences, layout, results };
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
    entries.length ? `{\n${entries.map(([k, v]) => `${indent}  ${propertyKey(k)}: ${v},`).join("\n")}\n${indent}}` : "{}";

  const specObject = moduleSpec(program);

  const initialisation = [
    ...program.params.map((param) => {
      const { fanIn, fanOut } = fans(param.shape);
      const init = typeof param.init === "number" ? wgslNumber(param.init) : typeof param.init === "string" ? quote(param.init) : JSON.stringify(param.init);
      const size = sizeOf(param.shape);
      return [
        `  {`,
        `    const target = view(${quote(bufferName.param(param.name))});`,
        `    const given = givenParam(params, ${stringLiteral(param.name)}, ${size});`,
        `    if (given !== undefined) target.set(given);`,
        `    else initialise(target, ${init}, ${fanIn}, ${fanOut}, random);`,
        `  }`,
      ].join("\n");
    }),
    ...program.state.filter((s) => s.initial !== 0).map((s) => `  view(${quote(s.buffer)}).fill(${wgslNumber(s.initial)});`),
  ];

  const dispatchList = (dispatches: readonly WgslDispatch[]) =>
    `[${dispatches.map((d) => `[${d.shader}, [${d.count.map((term) => `[${term.map((f) => `[${f.join(", ")}]`).join(", ")}]`).join(", ")}]]`).join(", ")}]`;
  const sequences = (Object.keys(plan.sequences) as SequenceName[]).map((name) => `  ${name}: ${dispatchList(plan.sequences[name])},`).join("\n");
  const shaderList = (codes: readonly string[]) => codes.map((code) => {
    if (/[`\\]|\$\{/.test(code)) throw new Error("internal: a shader contains a character a template literal cannot hold");
    return `  \`${code}\`,`;
  }).join("\n");

  const { kind, ...hyperparameters } = program.optimizer;
  const header = [
    `// Generated by gradgen from ${commentText(options.source)} (model "${program.modelName}"), WGSL target. Do not edit:`,
    `// regenerate with \`${commentText(options.command)}\`.`,
    `// Batch ${program.batch} (${examplesPerCall(program.batch)}), f32, optimizer ${kind} (${Object.entries(hyperparameters).map(([k, v]) => `${k} ${wgslNumber(v)}`).join(", ")}); ` +
      `${plan.shaders.length} compute shaders, ${plan.sequences.step.length} dispatches per step; precision "f16" optional (needs shader-f16).`,
  ].join("\n");

  const bufferNames = [...layout.regions.keys()].filter(wgslRegion.isBuffer);
  const bufferTable = (entries: readonly { readonly name: string }[], nameOf: (name: string) => string) => record(entries.map((x) => [x.name, quote(nameOf(x.name))]));
  return fillTemplate(readTemplate("wgsl-host.ts.tpl"), {
    header,
    inputNameUnion: union(program.inputs.map((x) => x.name)),
    paramNameUnion: union(program.params.map((p) => p.name)),
    outputNameUnion: union(program.outputs.map((o) => o.name)),
    stateNameUnion: union(program.state.map((s) => s.label)),
    predictInputUnion: union(entry("predict").inputs),
    inputGradUnion: union(program.inputs.filter((x) => x.wantsGrad).map((x) => x.name)),
    bufferNameUnion: union(bufferNames),
    spec: jsonLiteral(specObject, ""),
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
      const buffer = program.buffers.find((b) => b.name === bufferName.output(o.name))!;
      return [o.name, `[${buffer.size}, ${buffer.perExample}]`];
    })),
    stateBuffers: record(program.state.map((s) => [s.label, quote(s.buffer)])),
    snapshotted: `[${[...program.params.map((p) => bufferName.param(p.name)), ...program.state.map((s) => s.buffer)].map(quote).join(", ")}]`,
    inputBuffers: bufferTable(program.inputs, bufferName.input),
    paramBuffers: bufferTable(program.params, bufferName.param),
    gradBuffers: bufferTable(program.params, bufferName.grad),
    inputGradBuffers: bufferTable(program.inputs.filter((x) => x.wantsGrad), bufferName.inputGrad),
    outputBuffers: bufferTable(program.outputs, bufferName.output),
    initialisation: initialisation.join("\n"),
    shaders: shaderList(plan.shaders),
    shadersF16: shaderList(plan.shadersF16),
    sequences,
  });
}

/** JSON.stringify(value, null, 2) as TypeScript source, with a key "__proto__" computed (a plain key would set the prototype). */
function jsonLiteral(value: unknown, indent: string): string {
  const inner = `${indent}  `;
  if (Array.isArray(value)) return value.length === 0 ? "[]" : `[\n${value.map((v) => `${inner}${jsonLiteral(v, inner)}`).join(",\n")}\n${indent}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return entries.length === 0 ? "{}" : `{\n${entries.map(([k, v]) => `${inner}${propertyKey(k)}: ${jsonLiteral(v, inner)}`).join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** A number in TypeScript source. */
function wgslNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return String(value);
}
