// The body of `gemm` (see ./gemm.ts for its contract and the three paths): the GemmWriter that emits
// the register-blocked panels, the dot products and their cache blocking, with the per-dtype
// instruction table and the partial-vector helpers it needs. Kept apart from gemm.ts so that the
// public contract (types, parameters, default blocking) reads on its own.

import { Op, SimdOp, ValType, type FunctionBuilder, type Local } from "./assembler.js";
import type { GEMM_PARAMETERS, GemmBlocking, GemmDtype } from "./gemm.js";

/** The locals of the exported function's parameters, by name. */
export type GemmParameterLocals = Record<(typeof GEMM_PARAMETERS)[number], Local>;

/** Rows of C per register block in the contiguous-B path (then single rows). */
const PANEL_ROWS = 4;
/** v128 column vectors of C per register block in the contiguous-B path. */
const PANEL_VECTORS = 2;
/** The gathered-B path uses fewer vectors: its loads, not its arithmetic, are the bottleneck. */
const GATHER_VECTORS = 1;
/** Rows × columns of C per block of dot products. */
const DOT_ROWS = 4;
const DOT_COLUMNS = 2;

/** What differs between f32 and f64. */
export interface Element {
  bytes: number;
  log2Bytes: number;
  lanes: number;
  scalar: ValType;
  storeScalar: Op;
  addScalar: Op;
  add: SimdOp;
  mul: SimdOp;
  extractLane: SimdOp;
  loadSplat: SimdOp;
}

export const ELEMENTS: Record<GemmDtype, Element> = {
  f32: {
    bytes: 4,
    log2Bytes: 2,
    lanes: 4,
    scalar: ValType.f32,
    storeScalar: Op.f32_store,
    addScalar: Op.f32_add,
    add: SimdOp.f32x4_add,
    mul: SimdOp.f32x4_mul,
    extractLane: SimdOp.f32x4_extract_lane,
    loadSplat: SimdOp.v128_load32_splat,
  },
  f64: {
    bytes: 8,
    log2Bytes: 3,
    lanes: 2,
    scalar: ValType.f64,
    storeScalar: Op.f64_store,
    addScalar: Op.f64_add,
    add: SimdOp.f64x2_add,
    mul: SimdOp.f64x2_mul,
    extractLane: SimdOp.f64x2_extract_lane,
    loadSplat: SimdOp.v128_load64_splat,
  },
};

const VECTOR_BYTES = 16;

interface Piece {
  size: 4 | 8;
  offset: number;
}

/** The element count of a partial vector: known when emitting, or held in an i32 local. */
type Width = number | Local;

/**
 * The pieces in which `byteCount` (< 16) leading bytes of a vector are loaded or stored exactly:
 * at most one 8-byte piece, then at most one 4-byte piece.
 */
function partialPieces(byteCount: number): Piece[] {
  const pieces: Piece[] = [];
  let offset = 0;
  for (const size of [8, 4] as const) {
    if (byteCount - offset >= size) {
      pieces.push({ size, offset });
      offset += size;
    }
  }
  if (offset !== byteCount) throw new Error(`cannot split ${byteCount} bytes`);
  return pieces;
}

const LOAD_ZERO = { 4: SimdOp.v128_load32_zero, 8: SimdOp.v128_load64_zero } as const;
const LOAD_LANE = { 4: SimdOp.v128_load32_lane, 8: SimdOp.v128_load64_lane } as const;
const STORE_LANE = { 4: SimdOp.v128_store32_lane, 8: SimdOp.v128_store64_lane } as const;
const LOG2 = { 4: 2, 8: 3 } as const;

/** Emits the body of `gemm` into a FunctionBuilder. */
export class GemmWriter {
  // Locals shared by all paths: loop indices, byte addresses, block starts.
  private readonly i: Local;
  private readonly j: Local;
  private readonly count: Local;
  private readonly pa: Local;
  private readonly pb: Local;
  private readonly aBlockStart: Local;
  private readonly cBlockStart: Local;
  private readonly scratch: Local;
  // Cache blocks: columns [jStart, jEnd) of C, and kBlock rows of B from kStart (elements).
  private readonly jStart: Local;
  private readonly jEnd: Local;
  private readonly kStart: Local;
  private readonly kBlock: Local;
  private readonly kLength: Local;
  private readonly nLength: Local;
  /** Byte addresses of A[0, kStart] and B[kStart, 0]. */
  private readonly aK: Local;
  private readonly bK: Local;
  /** The element count of a partial vector (columns in the panels, the k tail in the dot products). */
  private readonly width: Local;
  private readonly accumulators: Local[] = [];
  /** Never written: locals start at zero, and copying a local is shorter than a 16-byte v128.const. */
  private readonly zero: Local;
  private readonly vectors: Local[] = [];
  /** aRowMultiple[r] holds r·aRow in bytes (r ≥ 1); likewise for bCol in the dot-product path. */
  private readonly aRowMultiple: Local[] = [];
  private readonly bColMultiple: Local[] = [];

  constructor(
    private readonly f: FunctionBuilder,
    private readonly e: Element,
    private readonly blocking: GemmBlocking,
    /** The parameters of `gemm`, already declared on `f`. */
    private readonly p: GemmParameterLocals,
  ) {
    this.i = f.local(ValType.i32, "i");
    this.j = f.local(ValType.i32, "j");
    this.count = f.local(ValType.i32, "count");
    this.pa = f.local(ValType.i32, "pa");
    this.pb = f.local(ValType.i32, "pb");
    this.aBlockStart = f.local(ValType.i32, "aBlockStart");
    this.cBlockStart = f.local(ValType.i32, "cBlockStart");
    this.scratch = f.local(ValType.i32, "scratch");
    this.jStart = f.local(ValType.i32, "jStart");
    this.jEnd = f.local(ValType.i32, "jEnd");
    this.kStart = f.local(ValType.i32, "kStart");
    this.kBlock = f.local(ValType.i32, "kBlock");
    this.kLength = f.local(ValType.i32, "kLength");
    this.nLength = f.local(ValType.i32, "nLength");
    this.aK = f.local(ValType.i32, "aK");
    this.bK = f.local(ValType.i32, "bK");
    this.width = f.local(ValType.i32, "width");
    this.zero = f.local(ValType.v128, "zero");
    const maxRows = Math.max(PANEL_ROWS, DOT_ROWS);
    for (let r = 1; r < maxRows; r++) this.aRowMultiple[r] = f.local(ValType.i32, `aRow×${r}`);
    for (let c = 1; c < DOT_COLUMNS; c++) this.bColMultiple[c] = f.local(ValType.i32, `bCol×${c}`);
    const maxAccumulators = Math.max(PANEL_ROWS * PANEL_VECTORS, DOT_ROWS * DOT_COLUMNS);
    for (let a = 0; a < maxAccumulators; a++) this.accumulators.push(f.local(ValType.v128, `acc${a}`));
    for (let v = 0; v < Math.max(PANEL_VECTORS, DOT_COLUMNS) + 1; v++)
      this.vectors.push(f.local(ValType.v128, `v${v}`));
  }

  write(): void {
    const { f, p, e } = this;
    // Nothing to do for an empty C.
    f.get(p.m).i32(0).op(Op.i32_le_s).get(p.n).i32(0).op(Op.i32_le_s).op(Op.i32_or).if().op(Op.return).end();
    // Offsets and strides from elements to bytes; k < 0 means k = 0.
    for (const name of ["aOffset", "aRow", "aCol", "bOffset", "bRow", "bCol", "cOffset", "cRow"] as const) {
      f.get(p[name]).i32(e.log2Bytes).op(Op.i32_shl).set(p[name]);
    }
    f.get(p.k).i32(0).op(Op.i32_lt_s).if().i32(0).set(p.k).end();
    for (let r = 1; r < this.aRowMultiple.length; r++) f.get(p.aRow).i32(r).op(Op.i32_mul).set(this.aRowMultiple[r]!);
    for (let c = 1; c < this.bColMultiple.length; c++) f.get(p.bCol).i32(c).op(Op.i32_mul).set(this.bColMultiple[c]!);

    // if (bCol == 1) contiguous panels; else if (aCol == 1 && bRow == 1) dot products; else gathered panels.
    f.get(p.bCol).i32(e.bytes).op(Op.i32_eq).if();
    this.panels("contiguous");
    f.else();
    f.get(p.aCol).i32(e.bytes).op(Op.i32_eq).get(p.bRow).i32(e.bytes).op(Op.i32_eq).op(Op.i32_and).if();
    this.dotProducts();
    f.else();
    this.panels("gathered");
    f.end();
    f.end();
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers.

  /** Runs `body` for i = 0, rows, 2·rows, ... while i + rows ≤ m, then for the remaining rows one by one. */
  private forRowBlocks(rowBlocks: number[], body: (rows: number) => void): void {
    const { f, p, i } = this;
    f.i32(0).set(i);
    for (const rows of rowBlocks) {
      f.block().loop();
      f.get(p.m).get(i).op(Op.i32_sub).i32(rows).op(Op.i32_lt_s).brIf(1);
      body(rows);
      f.get(i).i32(rows).op(Op.i32_add).set(i);
      f.br(0);
      f.end().end();
    }
  }

  /** `while (n - j >= width) { body(); j += width }`, or only `if` when `once`. */
  private forColumnBlocks(width: number, once: boolean, body: () => void): void {
    const { f, j } = this;
    const test = () => f.get(this.jEnd).get(j).op(Op.i32_sub).i32(width).op(Op.i32_ge_s);
    if (once) {
      test().if();
      body();
      f.get(j).i32(width).op(Op.i32_add).set(j);
      f.end();
      return;
    }
    f.block().loop();
    test().op(Op.i32_eqz).brIf(1);
    body();
    f.get(j).i32(width).op(Op.i32_add).set(j);
    f.br(0);
    f.end().end();
  }

  /** `count = <value on stack>; if (count > 0) do { body(); } while (--count);` */
  private countedLoop(body: () => void): void {
    const { f, count } = this;
    f.tee(count).i32(0).op(Op.i32_gt_s).if().loop();
    body();
    f.get(count).i32(1).op(Op.i32_sub).tee(count).brIf(0);
    f.end().end();
  }

  /**
   * Cache blocking: for each block [jStart, jEnd) of at most nc columns, for each block [kStart, kStart +
   * kBlock) of p (k split into ⌈k / kc⌉ near-equal blocks; one empty block when k = 0), sets aK and bK
   * and runs `body`.
   */
  private cacheBlocks(nc: number, kc: number, body: () => void): void {
    const { f, p, jStart, jEnd, kStart, kBlock, kLength, nLength } = this;
    // kLength = k and nLength = n (one block) when k·n ≤ unblockedElements, i.e. k ≤ ⌊unblocked / n⌋.
    f.get(p.k).set(kLength);
    f.get(p.n).set(nLength);
    f.get(p.k).i32(this.blocking.unblockedElements).get(p.n).op(Op.i32_div_u).op(Op.i32_gt_u).if();
    // Otherwise the k block length kLength = ⌈k / ⌈k / kc⌉⌉ ≤ kc (k ≤ kc: one block of k), and nc columns.
    f.get(p.k).i32(kc).op(Op.i32_gt_s).if();
    f.get(p.k)
      .get(p.k)
      .i32(kc - 1)
      .op(Op.i32_add)
      .i32(kc)
      .op(Op.i32_div_u)
      .tee(kLength);
    f.op(Op.i32_add).i32(1).op(Op.i32_sub).get(kLength).op(Op.i32_div_u).set(kLength);
    f.end();
    f.get(p.n).i32(nc).op(Op.i32_gt_s).if().i32(nc).set(nLength).end();
    f.end();
    f.i32(0).set(jStart);
    f.loop();
    f.get(jStart).get(nLength).op(Op.i32_add).tee(jEnd).get(p.n).op(Op.i32_gt_s).if().get(p.n).set(jEnd).end();
    f.i32(0).set(kStart);
    f.loop();
    f.get(p.k)
      .get(kStart)
      .op(Op.i32_sub)
      .tee(kBlock)
      .get(this.kLength)
      .op(Op.i32_gt_s)
      .if()
      .get(this.kLength)
      .set(kBlock)
      .end();
    f.get(p.aOffset).get(kStart).get(p.aCol).op(Op.i32_mul).op(Op.i32_add).set(this.aK);
    f.get(p.bOffset).get(kStart).get(p.bRow).op(Op.i32_mul).op(Op.i32_add).set(this.bK);
    body();
    f.get(kStart).get(kBlock).op(Op.i32_add).tee(kStart).get(p.k).op(Op.i32_lt_s).brIf(0);
    f.end();
    f.get(jEnd).tee(jStart).get(p.n).op(Op.i32_lt_s).brIf(0);
    f.end();
  }

  /** acc = acc + x·y, for v128 locals. */
  private multiplyAdd(acc: Local, x: Local, y: Local): void {
    this.f.get(acc).get(x).get(y).simd(this.e.mul).simd(this.e.add).set(acc);
  }

  /** Pushes the address `base + multiple` (multiple from a table of r·stride locals; r = 0 is base itself). */
  private address(base: Local, multiples: Local[], r: number): void {
    this.f.get(base);
    if (r > 0) this.f.get(multiples[r]!).op(Op.i32_add);
  }

  /**
   * Loads `width` leading elements at `address` + `offset` into `target`, zero-filling the other lanes.
   * `width` (1 ≤ width < lanes) is a constant, or an i32 local read at run time.
   */
  private loadPartial(target: Local, address: () => void, width: Width, offset: number): void {
    this.partial(width, (pieces) => {
      const { f } = this;
      address();
      const [first, ...rest] = pieces;
      f.simdMem(LOAD_ZERO[first!.size], LOG2[first!.size], offset).set(target); // width ≥ 1: one piece at least
      for (const piece of rest) {
        address();
        f.get(target)
          .simdMemLane(LOAD_LANE[piece.size], LOG2[piece.size], offset + piece.offset, piece.offset / piece.size)
          .set(target);
      }
    });
  }

  /** Stores the `width` leading lanes of `source` at `address` + `offset`. */
  private storePartial(source: Local, address: () => void, width: Width, offset: number): void {
    this.partial(width, (pieces) => {
      for (const piece of pieces) {
        address();
        this.f
          .get(source)
          .simdMemLane(STORE_LANE[piece.size], LOG2[piece.size], offset + piece.offset, piece.offset / piece.size);
      }
    });
  }

  /** Emits `access` for the byte pieces of a partial vector, branching on the width when it is a local. */
  private partial(width: Width, access: (pieces: Piece[]) => void): void {
    const { f, e } = this;
    if (typeof width === "number") return access(partialPieces(width * e.bytes));
    if (e.lanes === 2) return access(partialPieces(e.bytes)); // the only partial width of f64x2
    // f32x4, width 1, 2 or 3: if (width & 2) { 8 bytes, and 4 more if (width & 1) } else 4 bytes.
    f.get(width).i32(2).op(Op.i32_and).if();
    f.get(width).i32(1).op(Op.i32_and).if();
    access(partialPieces(12));
    f.else();
    access(partialPieces(8));
    f.end();
    f.else();
    access(partialPieces(4));
    f.end();
  }

  // ---------------------------------------------------------------------------------------------
  // Path 1 and 3: panels of rows × vectors, B loaded as vectors (contiguous) or gathered lane by lane.

  private panels(bLayout: "contiguous" | "gathered"): void {
    const { f, p, e, i } = this;
    const maxVectors = bLayout === "contiguous" ? PANEL_VECTORS : GATHER_VECTORS;
    this.cacheBlocks(this.blocking.nc, this.blocking.kc, () => {
      this.forRowBlocks([PANEL_ROWS, 1], (rows) => {
        // Start of the row block in A (at column kStart) and C.
        f.get(this.aK).get(i).get(p.aRow).op(Op.i32_mul).op(Op.i32_add).set(this.aBlockStart);
        f.get(p.cOffset).get(i).get(p.cRow).op(Op.i32_mul).op(Op.i32_add).set(this.cBlockStart);
        f.get(this.jStart).set(this.j);
        // Full blocks of maxVectors vectors, then one block of each narrower count, then the
        // partial vector of the last (jEnd - jStart) mod lanes columns.
        for (let vectors = maxVectors; vectors >= 1; vectors--) {
          this.forColumnBlocks(vectors * e.lanes, vectors !== maxVectors, () =>
            this.panel(rows, vectors, null, bLayout),
          );
        }
        f.get(this.jEnd).get(this.j).op(Op.i32_sub).tee(this.width).if();
        this.panel(rows, 0, this.width, bLayout);
        f.end();
      });
    });
  }

  /**
   * One register block: C[i .. i+rows, j .. j + vectors·lanes] = A[i.., :]·B[:, j..], or, when
   * `partialWidth` is given (and `vectors` is 0), the block of the last partialWidth < lanes columns.
   */
  private panel(rows: number, vectors: number, partialWidth: Local | null, bLayout: "contiguous" | "gathered"): void {
    const { f, p, e, pa, pb, j } = this;
    const columnVectors = vectors + (partialWidth ? 1 : 0);
    const acc = (r: number, v: number) => this.accumulators[r * columnVectors + v]!;
    const bVector = (v: number) => this.vectors[v]!;
    const aSplat = this.vectors[columnVectors]!;

    const storeWidth = (v: number) => (v < vectors ? e.lanes : partialWidth!);
    // The first block along k starts from zero; later ones from the C block the earlier ones stored.
    f.get(this.kStart).op(Op.i32_eqz).if();
    for (let r = 0; r < rows; r++) for (let v = 0; v < columnVectors; v++) f.get(this.zero).set(acc(r, v));
    f.else();
    this.forBlockRows(rows, (r) => {
      for (let v = 0; v < columnVectors; v++) {
        if (storeWidth(v) === e.lanes)
          f.get(this.scratch)
            .simdMem(SimdOp.v128_load, e.log2Bytes, v * VECTOR_BYTES)
            .set(acc(r, v));
        else this.loadPartial(acc(r, v), () => f.get(this.scratch), storeWidth(v), v * VECTOR_BYTES);
      }
    });
    f.end();
    f.get(this.aBlockStart).set(pa);
    f.get(this.bK).get(j).get(p.bCol).op(Op.i32_mul).op(Op.i32_add).set(pb);

    f.get(this.kBlock);
    this.countedLoop(() => {
      // The B vectors of row p.
      for (let v = 0; v < columnVectors; v++) {
        const width = v < vectors || !partialWidth ? e.lanes : partialWidth;
        if (bLayout === "gathered") this.gather(bVector(v), v * e.lanes, width);
        else if (width === e.lanes)
          f.get(pb)
            .simdMem(SimdOp.v128_load, e.log2Bytes, v * VECTOR_BYTES)
            .set(bVector(v));
        else this.loadPartial(bVector(v), () => f.get(pb), width, v * VECTOR_BYTES);
      }
      // Each row's A[i + r, p], splatted, times every B vector.
      for (let r = 0; r < rows; r++) {
        this.address(pa, this.aRowMultiple, r);
        f.simdMem(e.loadSplat, e.log2Bytes).set(aSplat);
        for (let v = 0; v < columnVectors; v++) this.multiplyAdd(acc(r, v), aSplat, bVector(v));
      }
      f.get(pa).get(p.aCol).op(Op.i32_add).set(pa);
      f.get(pb).get(p.bRow).op(Op.i32_add).set(pb);
    });

    // Store the block, row by row.
    this.forBlockRows(rows, (r) => {
      for (let v = 0; v < columnVectors; v++) {
        if (v < vectors)
          f.get(this.scratch)
            .get(acc(r, v))
            .simdMem(SimdOp.v128_store, e.log2Bytes, v * VECTOR_BYTES);
        else this.storePartial(acc(r, v), () => f.get(this.scratch), partialWidth!, v * VECTOR_BYTES);
      }
    });
  }

  /** Runs `row(r)` for r < rows with `scratch` at row r of the C block at column j. */
  private forBlockRows(rows: number, row: (r: number) => void): void {
    const { f, p, e } = this;
    f.get(this.cBlockStart).get(this.j).i32(e.log2Bytes).op(Op.i32_shl).op(Op.i32_add).set(this.scratch);
    for (let r = 0; r < rows; r++) {
      if (r > 0) f.get(this.scratch).get(p.cRow).op(Op.i32_add).set(this.scratch);
      row(r);
    }
  }

  /**
   * target = (B[p, j + first], B[p, j + first + 1], ...) for `width` lanes (others zero), at stride bCol
   * from pb; `width` is lanes, or a local holding 1 ≤ width < lanes.
   */
  private gather(target: Local, first: number, width: Width): void {
    const { f, p, e, pb, scratch } = this;
    const size = e.bytes as 4 | 8;
    f.get(pb);
    if (first > 0) f.get(p.bCol).i32(first).op(Op.i32_mul).op(Op.i32_add);
    f.tee(scratch).simdMem(LOAD_ZERO[size], e.log2Bytes).set(target);
    for (let lane = 1; lane < e.lanes; lane++) {
      if (typeof width !== "number") f.get(width).i32(lane).op(Op.i32_gt_s).if();
      f.get(scratch).get(p.bCol).op(Op.i32_add).tee(scratch);
      f.get(target).simdMemLane(LOAD_LANE[size], e.log2Bytes, 0, lane).set(target);
      if (typeof width !== "number") f.end();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Path 2: aCol = 1 and bRow = 1, blocks of dot products vectorized along p.

  private dotProducts(): void {
    const { f, p, i } = this;
    this.cacheBlocks(this.blocking.dotNc, this.blocking.dotKc, () => {
      this.forRowBlocks([DOT_ROWS, 1], (rows) => {
        f.get(this.aK).get(i).get(p.aRow).op(Op.i32_mul).op(Op.i32_add).set(this.aBlockStart);
        f.get(p.cOffset).get(i).get(p.cRow).op(Op.i32_mul).op(Op.i32_add).set(this.cBlockStart);
        f.get(this.jStart).set(this.j);
        this.forColumnBlocks(DOT_COLUMNS, false, () => this.dotBlock(rows, DOT_COLUMNS));
        if (DOT_COLUMNS > 1) this.forColumnBlocks(1, false, () => this.dotBlock(rows, 1));
      });
    });
  }

  /** C[i .. i+rows, j .. j+columns] as rows·columns dot products of length k. */
  private dotBlock(rows: number, columns: number): void {
    const { f, p, e, pa, pb, j } = this;
    const acc = (r: number, c: number) => this.accumulators[r * columns + c]!;
    const bVector = (c: number) => this.vectors[c]!;
    const aVector = this.vectors[columns]!;

    // The first block along k starts from zero; later ones from (C[i, j], 0, ...), which the lane
    // reduction below adds in.
    f.get(this.kStart).op(Op.i32_eqz).if();
    for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) f.get(this.zero).set(acc(r, c));
    f.else();
    this.forBlockRows(rows, (r) => {
      for (let c = 0; c < columns; c++)
        f.get(this.scratch)
          .simdMem(LOAD_ZERO[e.bytes as 4 | 8], e.log2Bytes, c * e.bytes)
          .set(acc(r, c));
    });
    f.end();
    f.get(this.aBlockStart).set(pa);
    f.get(this.bK).get(j).get(p.bCol).op(Op.i32_mul).op(Op.i32_add).set(pb);

    const step = (width: Width) => {
      for (let c = 0; c < columns; c++) {
        if (width === e.lanes) {
          this.address(pb, this.bColMultiple, c);
          f.simdMem(SimdOp.v128_load, e.log2Bytes).set(bVector(c));
        } else {
          this.loadPartial(bVector(c), () => this.address(pb, this.bColMultiple, c), width, 0);
        }
      }
      for (let r = 0; r < rows; r++) {
        if (width === e.lanes) {
          this.address(pa, this.aRowMultiple, r);
          f.simdMem(SimdOp.v128_load, e.log2Bytes).set(aVector);
        } else {
          this.loadPartial(aVector, () => this.address(pa, this.aRowMultiple, r), width, 0);
        }
        for (let c = 0; c < columns; c++) this.multiplyAdd(acc(r, c), aVector, bVector(c));
      }
    };

    // Full vectors along p, then the kBlock mod lanes tail as one zero-filled partial vector.
    f.get(this.kBlock).i32(Math.log2(e.lanes)).op(Op.i32_shr_s);
    this.countedLoop(() => {
      step(e.lanes);
      f.get(pa).i32(VECTOR_BYTES).op(Op.i32_add).set(pa);
      f.get(pb).i32(VECTOR_BYTES).op(Op.i32_add).set(pb);
    });
    f.get(this.kBlock)
      .i32(e.lanes - 1)
      .op(Op.i32_and)
      .tee(this.width)
      .if();
    step(this.width);
    f.end();

    // Reduce each accumulator across its lanes and store it.
    this.forBlockRows(rows, (r) => {
      for (let c = 0; c < columns; c++) {
        f.get(this.scratch);
        for (let lane = 0; lane < e.lanes; lane++) {
          f.get(acc(r, c)).simdLane(e.extractLane, lane);
          if (lane > 0) f.op(e.addScalar);
        }
        f.mem(e.storeScalar, e.log2Bytes, c * e.bytes);
      }
    });
  }
}
