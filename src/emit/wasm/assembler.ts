// A minimal WebAssembly binary writer: just enough of the format to build the numeric kernels gradgen
// embeds in generated trainers (one linear memory imported as env.memory, functions over i32, f32,
// f64 and v128 locals, structured control flow, scalar and SIMD128 memory access and arithmetic).
//
// Reference: the WebAssembly core specification, binary format (https://webassembly.github.io/spec/core/binary/),
// and the fixed-width SIMD proposal, merged into the core spec as of 2.0.

/** Value types (binary encodings). */
export const ValType = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
} as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Single-byte opcodes of the core instruction set that the kernels use. */
export const Op = {
  // Control.
  unreachable: 0x00,
  nop: 0x01,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  return: 0x0f,
  drop: 0x1a,
  select: 0x1b,
  // Variables.
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  // Memory (followed by a memarg).
  i32_load: 0x28,
  f32_load: 0x2a,
  f64_load: 0x2b,
  i32_store: 0x36,
  f32_store: 0x38,
  f64_store: 0x39,
  // Constants.
  i32_const: 0x41,
  f32_const: 0x43,
  f64_const: 0x44,
  // i32 comparisons.
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_gt_u: 0x4b,
  i32_le_s: 0x4c,
  i32_le_u: 0x4d,
  i32_ge_s: 0x4e,
  i32_ge_u: 0x4f,
  // i32 arithmetic.
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_div_u: 0x6e,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  // f32 / f64 arithmetic.
  f32_add: 0x92,
  f32_sub: 0x93,
  f32_mul: 0x94,
  f64_add: 0xa0,
  f64_sub: 0xa1,
  f64_mul: 0xa2,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** The prefix byte of SIMD128 instructions; the SIMD opcode follows as an unsigned LEB128. */
const SIMD_PREFIX = 0xfd;

/** SIMD128 opcodes (after the 0xFD prefix). */
export const SimdOp = {
  // Memory (followed by a memarg; the *_lane forms also by a lane index).
  v128_load: 0x00,
  v128_load32_splat: 0x09,
  v128_load64_splat: 0x0a,
  v128_store: 0x0b,
  v128_load32_lane: 0x56,
  v128_load64_lane: 0x57,
  v128_store32_lane: 0x5a,
  v128_store64_lane: 0x5b,
  v128_load32_zero: 0x5c,
  v128_load64_zero: 0x5d,
  // Constants and shuffles.
  v128_const: 0x0c,
  i8x16_shuffle: 0x0d,
  // Splats and lanes (the lane forms are followed by a lane index).
  f32x4_splat: 0x13,
  f64x2_splat: 0x14,
  f32x4_extract_lane: 0x1f,
  f32x4_replace_lane: 0x20,
  f64x2_extract_lane: 0x21,
  f64x2_replace_lane: 0x22,
  // Arithmetic.
  f32x4_add: 0xe4,
  f32x4_sub: 0xe5,
  f32x4_mul: 0xe6,
  f64x2_add: 0xf0,
  f64x2_sub: 0xf1,
  f64x2_mul: 0xf2,
} as const;
export type SimdOp = (typeof SimdOp)[keyof typeof SimdOp];

/** Block types: the only one the kernels need is the empty type (no parameters, no results). */
const BLOCK_VOID = 0x40;

const SECTION = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;
const EXTERNAL_KIND = { function: 0x00, memory: 0x02 } as const;
const FUNC_TYPE = 0x60;
const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const VERSION = [0x01, 0x00, 0x00, 0x00];

/** A growable byte buffer with the primitive encodings of the binary format. */
export class ByteWriter {
  private bytes: number[] = [];

  get length(): number {
    return this.bytes.length;
  }

  byte(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`not a byte: ${value}`);
    this.bytes.push(value);
    return this;
  }

  raw(values: ArrayLike<number>): this {
    for (let i = 0; i < values.length; i++) this.byte(values[i]!);
    return this;
  }

  /** Unsigned LEB128 (u32). */
  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`not a u32: ${value}`);
    do {
      let byte = value & 0x7f;
      value = Math.floor(value / 128);
      if (value !== 0) byte |= 0x80;
      this.bytes.push(byte);
    } while (value !== 0);
    return this;
  }

  /** Signed LEB128 (s32; also right for any safe integer in s33/s64 range that fits a double). */
  s32(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
    for (;;) {
      const byte = value & 0x7f; // two's complement low seven bits, also for negative values
      value = Math.floor(value / 128); // arithmetic shift
      const signBitSet = (byte & 0x40) !== 0;
      if ((value === 0 && !signBitSet) || (value === -1 && signBitSet)) {
        this.bytes.push(byte);
        return this;
      }
      this.bytes.push(byte | 0x80);
    }
  }

  f32(value: number): this {
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, value, true);
    return this.raw(new Uint8Array(view.buffer));
  }

  f64(value: number): this {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, true);
    return this.raw(new Uint8Array(view.buffer));
  }

  /** A name: its UTF-8 length, then the bytes. */
  name(text: string): this {
    const utf8 = new TextEncoder().encode(text);
    return this.u32(utf8.length).raw(utf8);
  }

  /** A length-prefixed vector of already-encoded bytes (sections, function bodies). */
  sized(content: ByteWriter): this {
    return this.u32(content.length).raw(content.bytes);
  }

  toBytes(): Uint8Array<ArrayBuffer> {
    return Uint8Array.from(this.bytes);
  }
}

/** A local variable (or parameter) of the function being built. */
export interface Local {
  readonly index: number;
  readonly type: ValType;
  readonly name: string;
}

/**
 * The body of one function: its locals and its instruction stream. Each emitter method appends one
 * instruction, so kernels read as straight-line assembly: `f.get(x).get(y).op(Op.i32_add).set(z)`.
 */
export class FunctionBuilder {
  readonly code = new ByteWriter();
  private readonly params: Local[] = [];
  private readonly locals: Local[] = [];
  private depth = 0;

  constructor(
    readonly name: string,
    paramTypes: ReadonlyArray<readonly [name: string, type: ValType]>,
    readonly resultTypes: readonly ValType[] = [],
  ) {
    for (const [paramName, type] of paramTypes) this.params.push({ index: this.params.length, type, name: paramName });
  }

  get paramTypes(): ValType[] {
    return this.params.map((p) => p.type);
  }

  param(name: string): Local {
    const found = this.params.find((p) => p.name === name);
    if (!found) throw new Error(`no parameter ${name}`);
    return found;
  }

  /** Declares a new local (after the parameters). */
  local(type: ValType, name: string): Local {
    const local = { index: this.params.length + this.locals.length, type, name };
    this.locals.push(local);
    return local;
  }

  // Variables.
  get(local: Local): this {
    this.code.byte(Op.local_get).u32(local.index);
    return this;
  }
  set(local: Local): this {
    this.code.byte(Op.local_set).u32(local.index);
    return this;
  }
  tee(local: Local): this {
    this.code.byte(Op.local_tee).u32(local.index);
    return this;
  }

  // Constants.
  i32(value: number): this {
    this.code.byte(Op.i32_const).s32(value | 0);
    return this;
  }
  f32(value: number): this {
    this.code.byte(Op.f32_const).f32(value);
    return this;
  }
  f64(value: number): this {
    this.code.byte(Op.f64_const).f64(value);
    return this;
  }
  /** v128.const with all bytes zero. */
  v128Zero(): this {
    this.code.byte(SIMD_PREFIX).u32(SimdOp.v128_const).raw(new Uint8Array(16));
    return this;
  }

  /** A core instruction without immediates (arithmetic, comparisons, drop, return...). */
  op(opcode: Op): this {
    this.code.byte(opcode);
    return this;
  }

  /** A SIMD instruction without immediates (arithmetic, splats). */
  simd(opcode: SimdOp): this {
    this.code.byte(SIMD_PREFIX).u32(opcode);
    return this;
  }

  /** A SIMD instruction with a lane-index immediate (extract_lane, replace_lane). */
  simdLane(opcode: SimdOp, lane: number): this {
    this.code.byte(SIMD_PREFIX).u32(opcode).byte(lane);
    return this;
  }

  /** A scalar load or store; `alignLog2` is the alignment hint, `offset` a constant byte offset. */
  mem(opcode: Op, alignLog2: number, offset = 0): this {
    this.code.byte(opcode).u32(alignLog2).u32(offset);
    return this;
  }

  /** A SIMD load or store (v128.load, v128.store, load*_splat, load*_zero). */
  simdMem(opcode: SimdOp, alignLog2: number, offset = 0): this {
    this.code.byte(SIMD_PREFIX).u32(opcode).u32(alignLog2).u32(offset);
    return this;
  }

  /** A SIMD lane load or store (v128.load32_lane, v128.store64_lane, ...). */
  simdMemLane(opcode: SimdOp, alignLog2: number, offset: number, lane: number): this {
    this.code.byte(SIMD_PREFIX).u32(opcode).u32(alignLog2).u32(offset).byte(lane);
    return this;
  }

  // Structured control flow. Branch depths are relative, as in the binary format: 0 is the innermost.
  block(): this {
    this.depth++;
    this.code.byte(Op.block).byte(BLOCK_VOID);
    return this;
  }
  loop(): this {
    this.depth++;
    this.code.byte(Op.loop).byte(BLOCK_VOID);
    return this;
  }
  if(): this {
    this.depth++;
    this.code.byte(Op.if).byte(BLOCK_VOID);
    return this;
  }
  else(): this {
    this.code.byte(Op.else);
    return this;
  }
  end(): this {
    if (this.depth === 0) throw new Error("end without an open block");
    this.depth--;
    this.code.byte(Op.end);
    return this;
  }
  br(depth: number): this {
    this.code.byte(Op.br).u32(depth);
    return this;
  }
  brIf(depth: number): this {
    this.code.byte(Op.br_if).u32(depth);
    return this;
  }

  /** The encoded body: locals (run-length grouped by type), instructions, final `end`. */
  encodeBody(): ByteWriter {
    if (this.depth !== 0) throw new Error(`function ${this.name}: ${this.depth} block(s) left open`);
    const groups: Array<[count: number, type: ValType]> = [];
    for (const local of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === local.type) last[0]++;
      else groups.push([1, local.type]);
    }
    const body = new ByteWriter().u32(groups.length);
    for (const [count, type] of groups) body.u32(count).byte(type);
    const instructions = this.code.toBytes();
    body.raw(instructions).byte(Op.end);
    return body;
  }
}

export interface ModuleSpec {
  /** Import the linear memory as (module, field); its minimum size is `minPages` (default 0). */
  memoryImport?: { module: string; field: string; minPages?: number };
  /** The functions, all exported under their names, in index order. */
  functions: FunctionBuilder[];
}

/** Assembles a module: type, import, function, export and code sections. */
export function encodeModule(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const out = new ByteWriter().raw(MAGIC).raw(VERSION);
  const section = (id: number, content: ByteWriter) => out.byte(id).sized(content);

  // One type per distinct signature.
  // Functions of one signature share a type entry, in order of first use.
  const signatures: { key: string; params: readonly ValType[]; results: readonly ValType[] }[] = [];
  const typeIndex = spec.functions.map((f) => {
    const key = `${f.paramTypes.join(",")}->${f.resultTypes.join(",")}`;
    let index = signatures.findIndex((signature) => signature.key === key);
    if (index < 0) index = signatures.push({ key, params: f.paramTypes, results: f.resultTypes }) - 1;
    return index;
  });
  const types = new ByteWriter().u32(signatures.length);
  for (const { params, results } of signatures) {
    types.byte(FUNC_TYPE).u32(params.length).raw(params).u32(results.length).raw(results);
  }
  section(SECTION.type, types);

  if (spec.memoryImport) {
    const { module, field, minPages = 0 } = spec.memoryImport;
    const imports = new ByteWriter().u32(1).name(module).name(field).byte(EXTERNAL_KIND.memory);
    imports.byte(0x00).u32(minPages); // limits: minimum only
    section(SECTION.import, imports);
  }

  const functions = new ByteWriter().u32(spec.functions.length);
  for (const index of typeIndex) functions.u32(index);
  section(SECTION.function, functions);

  const exports = new ByteWriter().u32(spec.functions.length);
  spec.functions.forEach((f, index) => exports.name(f.name).byte(EXTERNAL_KIND.function).u32(index));
  section(SECTION.export, exports);

  const code = new ByteWriter().u32(spec.functions.length);
  for (const f of spec.functions) code.sized(f.encodeBody());
  section(SECTION.code, code);

  return out.toBytes();
}
