// Prints one planned task as the body of `fn task(t: u32)`, t the invocation's index within the
// task. In f16 precision, loads round to f16 and stores widen to f32; sums accumulate in f32 (a
// product's f16 operands are multiplied in f32, exactly).

import { GradgenError } from "../../errors.js";
import type { ElementwiseOp } from "../../ir/scalar.js";
import { wgslLocal, wgslOffsetName, wgslRegion } from "../../schedule/names.js";
import type {
  Access,
  Extent,
  FillKernel,
  GemmKernel,
  IndirectIndex,
  LocalKernel,
  LoopKernel,
  ScalarCode,
  Value,
} from "../../schedule/program.js";
import { bufferOf, sameAccess } from "../../schedule/queries.js";
import { extentCode, factorCode, factorOf } from "./counts.js";
import type { EpilogueFusion } from "./fusion.js";
import type { Layout, Region } from "./layout.js";
import { elementwiseCode, numbersOf, wgslLiteral, type Numbers, type Precision } from "./spelling.js";
import { assertNever, range, type Task, type TaskWork } from "./tasks.js";
import { K_STEP, TILE_SIDE, WORKGROUP_SIZE, type Tiling } from "./tiling.js";
import { stageTile } from "./staging.js";

export interface PrintedTask {
  readonly body: readonly string[];
  readonly helpers: ReadonlySet<string>;
  /** Regions whose offset constants the body names. */
  readonly regions: ReadonlySet<string>;
}

type Terms = readonly (readonly [index: string, stride: number])[];

/** Which operands of a product stage their tiles with vec4 loads (shaders.ts: vec4Loads decides per shader). */
export type Vec4Operands = { readonly a: boolean; readonly b: boolean };
const scalarLoads: Vec4Operands = { a: false, b: false };

/** The body of one task at the given precision (f32 where the task computes only in f32). */
export function printTask(
  task: Task,
  layout: Layout,
  precision: Precision,
  vec4: Vec4Operands = scalarLoads,
): PrintedTask {
  const printer = new TaskPrinter(layout, task, task.f32Only ? "f32" : precision, vec4);
  const body = printer.work(task.work);
  return { body, helpers: printer.helpers, regions: printer.regions };
}

class TaskPrinter {
  readonly helpers = new Set<string>();
  readonly regions = new Set<string>();
  private readonly num: Numbers;

  constructor(
    private readonly layout: Layout,
    private readonly task: Task,
    private readonly precision: Precision,
    private readonly vec4: Vec4Operands,
  ) {
    this.num = numbersOf(precision, this.helpers);
  }

  work(work: TaskWork): string[] {
    switch (work.kind) {
      case "loop":
        return work.tree
          ? this.treeLoop(work.kernel, work.parallelDims, work.absorbedFill)
          : this.loop(work.kernel, work.parallelDims, work.absorbedFill);
      case "gemm":
        return this.gemm(work.kernel, work.tiling, work.epilogue);
      case "splitSum":
        return this.splitSum(work.kernel, work.tiling, work.epilogue);
      case "fill":
        return this.fill(work.kernel);
      case "local":
        return this.local(work.kernel);
      case "result":
        return this.result(work.returns);
      case "mask":
        return this.mask(work.mask.buffer, work.mask.dropProbability, work.stream);
      case "countMasks":
        return ["control[0] = control[0] + 1u;"];
      default:
        return assertNever(work);
    }
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
    if (!this.task.reads.has(name) && !this.task.writes.has(name))
      throw new Error(`internal: task "${this.task.comment}" touches ${name}, which its plan does not list`);
    return region;
  }

  /** `c<chunk>[<region> + offset + Σ indexᵢ·strideᵢ]`, the region's first element a named constant. */
  private element(name: string, offset: number, terms: Terms): string {
    const region = this.region(name);
    return `${wgslLocal.chunk(region.chunk)}[${this.index(name, offset, terms)}]`;
  }

  /** The vec4 holding elements e … e + 3 of a region, e (the index) a multiple of 4: its chunk's vec4 view. */
  private vec4Element(name: string, offset: number, terms: Terms): string {
    const region = this.region(name);
    return `${wgslLocal.chunkVec4(region.chunk)}[(${this.index(name, offset, terms)}) / 4u]`;
  }

  private index(name: string, offset: number, terms: Terms): string {
    this.regions.add(name);
    let text = wgslOffsetName(name);
    if (offset !== 0) text += offset < 0 ? ` - ${-offset}u` : ` + ${offset}u`;
    for (const [index, stride] of terms) {
      if (stride === 0) continue;
      const term = stride === 1 || stride === -1 ? index : `${index} * ${Math.abs(stride)}u`;
      text += ` ${stride < 0 ? "-" : "+"} ${term}`;
    }
    return text;
  }

  private scalar(code: ScalarCode): string {
    switch (code.kind) {
      case "literal":
        return this.num.literal(code.value);
      case "batchSize":
        return `${this.precision}(u.n)`;
      case "learningRate":
        return this.precision === "f16" ? "f16(u.rate)" : "u.rate";
      case "local":
        return this.narrow(this.element(wgslRegion.local(this.task.entry, code.name), 0, []));
      default:
        return assertNever(code);
    }
  }

  /**
   * `let vK: f32 = …;` (f16 in that precision) for each value, loads at loop indices `indices` (one
   * per dim, null where absent); a load of `replaced.access` is the f32 value `replaced.by` instead.
   * Literals stay `let`s: inlined, an op over literals only would be a WGSL constant expression, and
   * one that overflows is a shader-creation error.
   */
  private values(
    values: readonly Value[],
    indices: readonly (string | null)[],
    replaced?: { readonly access: Access; readonly by: string },
  ): string[] {
    const prefix = wgslLocal.values;
    return values.map((value, i) => {
      let code: string;
      if (value.kind === "load") {
        const { storage, offset, strides, indirect } = value.access;
        code =
          storage.kind === "scalar"
            ? this.scalar(storage.code)
            : replaced && sameAccess(value.access, replaced.access)
              ? this.narrow(replaced.by)
              : this.narrow(
                  this.element(storage.name, offset, [
                    ...strides.map((s, d) => [indices[d] ?? "0u", indices[d] ? s : 0] as const),
                    ...this.idTerm(indirect, indices),
                  ]),
                );
      } else {
        const print = elementwiseCode[value.op as ElementwiseOp];
        if (!print)
          throw new GradgenError(
            `the WGSL target has no form for op "${value.op}" yet; compile this model for the TypeScript target only.`,
          );
        code = print(
          value.args.map((a) => `${prefix}${a}`),
          value.exponent ?? 1,
          this.num,
        );
      }
      return `let ${prefix}${i}: ${this.precision} = ${code};`;
    });
  }

  /** The term an indirect access adds: the id (an int32 input, uploaded as f32, exact below 2²⁴) times its stride. */
  private idTerm(indirect: IndirectIndex | undefined, indices: readonly (string | null)[]): Terms {
    if (!indirect) return [];
    const { access, stride } = indirect;
    const at = [
      ...access.strides.map((s, d) => [indices[d] ?? "0u", indices[d] ? s : 0] as const),
      ...this.idTerm(access.indirect, indices),
    ];
    return [[`u32(${this.element(bufferOf(access), access.offset, at)})`, stride]];
  }

  private loop(kernel: LoopKernel, parallel: readonly number[], absorbedFill?: FillKernel): string[] {
    const dims = kernel.dims;
    const reduced = kernel.reduction?.dims ?? 0;
    const outer = dims.length - reduced;
    const indexName = wgslLocal.index;
    const indices = dims.map((_, d) => indexName(d));
    const body: string[] = ["let n = u.n;"];
    // Decode the parallel indices from t, innermost fastest.
    if (parallel.length === 1) body.push(`let ${indexName(parallel[0]!)} = t;`);
    else if (parallel.length > 1) {
      body.push("var rest = t;");
      [...parallel].reverse().forEach((d, k) => {
        if (k === parallel.length - 1) body.push(`let ${indexName(d)} = rest;`);
        else
          body.push(`let ${indexName(d)} = rest % ${extentCode(dims[d]!)};`, `rest = rest / ${extentCode(dims[d]!)};`);
      });
    }
    const target = kernel.target;
    const targetName = bufferOf(target);
    const at = (access: Access) => [
      ...access.strides.map((s, d) => [indices[d]!, s] as const),
      ...this.idTerm(access.indirect, indices),
    ];
    if (absorbedFill)
      body.push(
        `${this.element(targetName, target.offset, at(target))} = ${wgslLiteral(absorbedFill.value, this.helpers)};`,
      );

    // Serial loops, in the Program's order: outer dims not run in parallel, then the reduced dims.
    const lines: string[] = [];
    let depth = 0;
    const indent = () => "  ".repeat(depth);
    const open = (d: number) => {
      lines.push(
        `${indent()}for (var ${indexName(d)} = 0u; ${indexName(d)} < ${extentCode(dims[d]!)}; ${indexName(d)}++) {`,
      );
      depth++;
    };
    const close = () => {
      depth--;
      lines.push(`${indent()}}`);
    };
    const emit = (text: readonly string[]) => text.forEach((line) => lines.push(indent() + line));
    const serialOuter = range(outer).filter((d) => !parallel.includes(d));
    serialOuter.forEach(open);
    const last = `${wgslLocal.values}${kernel.values.length - 1}`;
    /** Stores an f32 value (a reduction's), or accumulates it in f32. */
    const storeValue = (value: string) => {
      const place = this.element(targetName, target.offset, at(target));
      return kernel.mode === "add" ? `${place} = ${place} + ${value};` : `${place} = ${value};`;
    };
    const wide = (value: string) => this.widen(value);
    const innerLoops = (each: (valueLines: string[]) => string[]) => {
      range(reduced).forEach((k) => open(outer + k));
      emit(each(this.values(kernel.values, indices)));
      range(reduced).forEach(close);
    };
    if (!kernel.reduction) {
      emit(this.values(kernel.values, indices));
      emit([storeValue(wide(last))]);
      for (const extra of kernel.extraStores ?? []) {
        emit([
          `${this.element(bufferOf(extra.target), extra.target.offset, at(extra.target))} = ${wide(`${wgslLocal.values}${extra.value}`)};`,
        ]);
      }
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
        default:
          assertNever(kernel.reduction.op);
      }
      depth--;
      emit(["}"]);
    }
    serialOuter.forEach(close);
    for (const line of lines) body.push(line); // not push(...lines): spreading a long kernel overflows the stack
    return body;
  }

  /**
   * A loop whose serial iterations are one sum per stored element (tiling.ts: treeReduction), one
   * workgroup per element (t = the workgroup's index): each invocation adds every 64th iteration,
   * then the 64 partial sums are added as a tree in workgroup memory and invocation 0 stores.
   */
  private treeLoop(kernel: LoopKernel, parallel: readonly number[], absorbedFill?: FillKernel): string[] {
    const dims = kernel.dims;
    const outer = dims.length - (kernel.reduction?.dims ?? 0);
    const indexName = wgslLocal.index;
    const indices = dims.map((_, d) => indexName(d));
    const body: string[] = ["let n = u.n;", "let t = g;"];
    const decode = (order: readonly number[], from: string) => {
      if (order.length === 1) body.push(`let ${indexName(order[0]!)} = ${from};`);
      else if (order.length > 1) {
        body.push(`var rest${from} = ${from};`);
        [...order].reverse().forEach((d, k) => {
          if (k === order.length - 1) body.push(`let ${indexName(d)} = rest${from};`);
          else
            body.push(
              `let ${indexName(d)} = rest${from} % ${extentCode(dims[d]!)};`,
              `rest${from} = rest${from} / ${extentCode(dims[d]!)};`,
            );
        });
      }
    };
    decode(parallel, "t");
    const serial = range(dims.length).filter((d) => d >= outer || !parallel.includes(d));
    const partials = wgslLocal.partials;
    body.push(
      "var total = 0.0f;",
      `for (var x = local; x < ${serial.map((d) => extentCode(dims[d]!)).join(" * ")}; x = x + ${WORKGROUP_SIZE}u) {`,
    );
    const inner = body.length;
    decode(serial, "x");
    const last = `${wgslLocal.values}${kernel.values.length - 1}`;
    for (const line of this.values(kernel.values, indices)) body.push(line); // no spread: a long fused chain overflows the stack
    body.push(`total = total + ${this.widen(last)};`);
    for (let i = inner; i < body.length; i++) body[i] = `  ${body[i]}`;
    body.push(
      "}",
      `${partials}[local] = total;`,
      "workgroupBarrier();",
      `for (var width = ${WORKGROUP_SIZE / 2}u; width > 0u; width = width / 2u) {`,
      `  if (local < width) { ${partials}[local] = ${partials}[local] + ${partials}[local + width]; }`,
      "  workgroupBarrier();",
      "}",
    );
    const target = kernel.target;
    const place = this.element(
      bufferOf(target),
      target.offset,
      target.strides.map((s, d) => [indices[d]!, parallel.includes(d) ? s : 0] as const),
    );
    const store = absorbedFill
      ? `${place} = ${wgslLiteral(absorbedFill.value, this.helpers)} + ${partials}[0];`
      : kernel.mode === "add"
        ? `${place} = ${place} + ${partials}[0];`
        : `${place} = ${partials}[0];`;
    body.push(`if (local == 0u) { ${store} }`);
    return body;
  }

  /**
   * C = A·B, one tile of C per workgroup of 8×8 invocations (tiling.ts), each invocation a block of
   * (rows/8)×(columns/8) accumulators. Per k-step the workgroup stages a rows×32 tile of A and a
   * 32×columns tile of B in workgroup memory (zeros past the edges), each loaded with consecutive
   * invocations on consecutive addresses: along k where A is row-major, along the rows where it is
   * transposed (δ·Wᵀ reads W coalesced), so both variants transpose while loading. Sums in f32: in
   * f16 precision the operands are rounded to f16 and multiplied in f32 (a product of two f16 values
   * is exact in f32, 11 + 11 significand bits ≤ 24), as tensor cores do, so only the operands'
   * rounding remains; accumulators, split-K partial sums and their sum are f32. With
   * split-K the workgroup adds its part of k and stores the partial sums; the splitSum task adds them.
   * With an epilogue, C is not stored: the fused loop's values are computed from each element.
   */
  private gemm(kernel: GemmKernel, tiling: Tiling, epilogue?: EpilogueFusion): string[] {
    const { a, b } = kernel;
    const { rows, columns, split, kChunk, scratch } = tiling;
    const [perRow, perColumn] = [rows / TILE_SIDE, columns / TILE_SIDE];
    const [row, column, left, right, accumulator] = [
      wgslLocal.blockRow,
      wgslLocal.blockColumn,
      wgslLocal.left,
      wgslLocal.right,
      wgslLocal.accumulator,
    ];
    const [tileA, tileB] = [wgslLocal.tileA, wgslLocal.tileB];
    const r = kernel.repeat;
    const tilesN = factorCode(factorOf(kernel.n, columns));
    const tilesM = factorCode(factorOf(kernel.m, rows));
    const body = [
      "let n = u.n;",
      `let m = ${extentCode(kernel.m)};`,
      `let columns = ${extentCode(kernel.n)};`,
      `let depth = ${extentCode(kernel.k)};`,
      `let jb = g % ${tilesN};`,
      `var rest = g / ${tilesN};`,
      ...(split > 1 ? [`let s = rest % ${split}u;`, `rest = rest / ${split}u;`] : []),
      ...(r ? [`let ib = rest % ${tilesM};`, `let r = rest / ${tilesM};`] : ["let ib = rest;"]),
      `let lx = local % ${TILE_SIDE}u;`,
      `let ly = local / ${TILE_SIDE}u;`,
      `let firstRow = ib * ${rows}u;`,
      `let firstColumn = jb * ${columns}u;`,
      split > 1 ? `let kBegin = s * ${kChunk}u;` : "let kBegin = 0u;",
      split > 1 ? `let kEnd = min(kBegin + ${kChunk}u, depth);` : "let kEnd = depth;",
    ];
    range(perRow).forEach((k) =>
      body.push(
        `var ${range(perColumn)
          .map((l) => `${accumulator(k, l)} = 0.0f`)
          .join("; var ")};`,
      ),
    );
    body.push(
      `for (var p0 = kBegin; p0 < kEnd; p0 = p0 + ${K_STEP}u) {`,
      ...stageTile(
        tileA,
        rows,
        Math.abs(a.colStride) <= Math.abs(a.rowStride),
        (o, p, vec4) =>
          (vec4 ? this.vec4Element : this.element).call(this, a.buffer, a.offset, [
            ["r", r?.aStride ?? 0],
            [`(firstRow + ${o})`, a.rowStride],
            [`(${p})`, a.colStride],
          ]),
        "firstRow + o < m",
        this.vec4.a,
      ),
      ...stageTile(
        tileB,
        columns,
        Math.abs(b.rowStride) < Math.abs(b.colStride),
        (o, p, vec4) =>
          (vec4 ? this.vec4Element : this.element).call(this, b.buffer, b.offset, [
            ["r", r?.bStride ?? 0],
            [`(${p})`, b.rowStride],
            [`(firstColumn + ${o})`, b.colStride],
          ]),
        "firstColumn + o < columns",
        this.vec4.b,
      ),
      "  workgroupBarrier();",
      `  for (var q = 0u; q < ${K_STEP}u; q++) {`,
    );
    range(perRow).forEach((k) =>
      body.push(`    let ${left(k)} = ${this.narrow(`${tileA}[q * ${rows}u + ly * ${perRow}u + ${k}u]`)};`),
    );
    range(perColumn).forEach((l) =>
      body.push(`    let ${right(l)} = ${this.narrow(`${tileB}[q * ${columns}u + lx * ${perColumn}u + ${l}u]`)};`),
    );
    range(perRow).forEach((k) =>
      range(perColumn).forEach((l) =>
        body.push(
          `    ${accumulator(k, l)} = ${accumulator(k, l)} + ${this.widen(left(k))} * ${this.widen(right(l))};`,
        ),
      ),
    );
    body.push("  }", "  workgroupBarrier();", "}");
    range(perRow).forEach((k) => body.push(`let ${row(k)} = firstRow + ly * ${perRow}u + ${k}u;`));
    range(perColumn).forEach((l) => body.push(`let ${column(l)} = firstColumn + lx * ${perColumn}u + ${l}u;`));
    const exact = (e: Extent, size: number) => !e.perExample && e.factor % size === 0;
    range(perRow).forEach((k) =>
      range(perColumn).forEach((l) => {
        const guard = [
          ...(exact(kernel.m, rows) ? [] : [`${row(k)} < m`]),
          ...(exact(kernel.n, columns) ? [] : [`${column(l)} < columns`]),
        ];
        const stores = scratch
          ? [`${this.partial(kernel, tiling, "s", row(k), column(l))} = ${accumulator(k, l)};`]
          : this.storeC(kernel, k, l, epilogue);
        if (stores.length === 1 && !epilogue)
          body.push(guard.length ? `if (${guard.join(" && ")}) { ${stores[0]} }` : stores[0]!);
        else body.push(guard.length ? `if (${guard.join(" && ")}) {` : "{", ...stores.map((x) => `  ${x}`), "}");
      }),
    );
    return body;
  }

  /** Element (s, r, i, j) of a split product's partial sums. */
  private partial(kernel: GemmKernel, tiling: Tiling, s: string, i: string, j: string): string {
    const { m, n, repeat } = tiling.shape;
    return this.element(tiling.scratch!, 0, [
      [s, repeat * m * n],
      ["r", kernel.repeat ? m * n : 0],
      [i, n],
      [j, 1],
    ]);
  }

  /** Stores accumulator (k, l) into C, or computes the fused loop's values from it and stores its target. */
  private storeC(kernel: GemmKernel, k: number, l: number, epilogue?: EpilogueFusion): string[] {
    if (epilogue) return this.epilogue(kernel, epilogue, k, l);
    const { c, repeat } = kernel;
    const place = this.element(c.buffer, c.offset, [
      ["r", repeat?.cStride ?? 0],
      [wgslLocal.blockRow(k), c.rowStride],
      [wgslLocal.blockColumn(l), c.colStride],
    ]);
    return [`${place} = ${wgslLocal.accumulator(k, l)};`];
  }

  /** A split product's element t of C: its partial sums added (f32), then stored or the epilogue computed. */
  private splitSum(kernel: GemmKernel, tiling: Tiling, epilogue?: EpilogueFusion): string[] {
    const r = kernel.repeat;
    const [i, j, total] = [wgslLocal.blockRow(0), wgslLocal.blockColumn(0), wgslLocal.accumulator(0, 0)];
    return [
      "let n = u.n;",
      `let m = ${extentCode(kernel.m)};`,
      `let columns = ${extentCode(kernel.n)};`,
      `let ${j} = t % columns;`,
      "let rest = t / columns;",
      ...(r ? [`let ${i} = rest % m;`, "let r = rest / m;"] : [`let ${i} = rest;`]),
      `var ${total} = 0.0f;`,
      `for (var s = 0u; s < ${tiling.split}u; s++) {`,
      `  ${total} = ${total} + ${this.partial(kernel, tiling, "s", i, j)};`,
      "}",
      "{",
      ...this.storeC(kernel, 0, 0, epilogue).map((line) => `  ${line}`),
      "}",
    ];
  }

  /**
   * The fused loop's iteration for element (i<k>, j<l>) of the block: its indices decoded from the
   * element's place in C (outermost stride first), its values with C's element for the load of C.
   */
  private epilogue(kernel: GemmKernel, fusion: EpilogueFusion, k: number, l: number): string[] {
    const { c, repeat } = kernel;
    const { loop } = fusion;
    const place = [
      ...(repeat && repeat.cStride !== 0 ? [`r * ${repeat.cStride}u`] : []),
      `${wgslLocal.blockRow(k)} * ${c.rowStride}u`,
      `${wgslLocal.blockColumn(l)} * ${c.colStride}u`,
    ].join(" + ");
    const lines = [`var rest = ${place};`];
    const indices: (string | null)[] = loop.dims.map(() => null);
    fusion.decode.forEach(({ dim, stride }, x) => {
      const index = wgslLocal.epilogueIndex(dim);
      indices[dim] = index;
      lines.push(stride === 1 ? `let ${index} = rest;` : `let ${index} = rest / ${stride}u;`);
      if (x < fusion.decode.length - 1) lines.push(`rest = rest % ${stride}u;`);
    });
    const values = this.values(loop.values, indices, { access: fusion.load, by: wgslLocal.accumulator(k, l) });
    const target = loop.target;
    const at = target.strides.map((s, d) => [indices[d] ?? "0u", indices[d] ? s : 0] as const);
    for (const value of values) lines.push(value);
    lines.push(
      `${this.element(bufferOf(target), target.offset, at)} = ${this.widen(`${wgslLocal.values}${loop.values.length - 1}`)};`,
    );
    return lines;
  }

  private fill(kernel: FillKernel): string[] {
    const single = !kernel.length.perExample && kernel.length.factor === 1;
    return [
      `${this.element(kernel.buffer, 0, single ? [] : [["t", 1]])} = ${wgslLiteral(kernel.value, this.helpers)};`,
    ];
  }

  private local(kernel: LocalKernel): string[] {
    const body = this.values(kernel.values, []);
    body.push(
      `${this.element(wgslRegion.local(this.task.entry, kernel.name), 0, [])} = ${this.widen(`${wgslLocal.values}${kernel.values.length - 1}`)};`,
    );
    return body;
  }

  /** Stores what the entry point returns (the mean loss) where the host reads it. */
  private result(returns: Access): string[] {
    const value =
      returns.storage.kind === "scalar"
        ? this.widen(this.scalar(returns.storage.code))
        : this.element(returns.storage.name, returns.offset, []);
    return [`${this.element(wgslRegion.result(this.task.entry), 0, [])} = ${value};`];
  }

  /** A fresh inverted-dropout mask: keep with probability 1 − p (scaled by 1/(1 − p)), from (seed, step counter, mask, element). */
  private mask(buffer: string, dropProbability: number, stream: number): string[] {
    const keep = 1 - dropProbability;
    const place = this.element(buffer, 0, [["t", 1]]);
    this.helpers.add("pcg_");
    const threshold = Math.min(0xffffffff, Math.round(keep * 2 ** 32));
    if (dropProbability === 0) return [`${place} = 1.0f;`];
    return [
      `let bits = pcg_(t ^ pcg_(${stream}u ^ pcg_(control[0] ^ pcg_(u.seed))));`,
      `${place} = select(0.0f, ${wgslLiteral(1 / keep, this.helpers)}, bits < ${threshold}u);`,
    ];
  }
}
