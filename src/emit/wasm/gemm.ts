// A WebAssembly SIMD128 matrix product, generated with the assembler in ./assembler.ts by the writer in
// ./gemm-writer.ts; this file holds its contract, options and entry point.
//
// The module imports `env.memory` and exports
//
//   gemm(m, n, k, aOffset, aRow, aCol, bOffset, bRow, bCol, cOffset, cRow)     (all i32, no result)
//
// which assigns C[i, j] = Σₚ A[i, p]·B[p, j] for 0 ≤ i < m, 0 ≤ j < n, where element (r, c) of X lies at
// element index xOffset + r·xRow + c·xCol of the memory viewed as a Float32Array (dtype "f32") or
// Float64Array ("f64"); C's columns are contiguous (cCol = 1). Offsets and strides count elements, not
// bytes. C must not overlap A or B. Elements of memory other than C's m×n targets are never written,
// and no element outside A's m×k, B's k×n and C's m×n targets (re-read after being written, when blocked
// over k) is read, so operands may end at the very end of memory.
//
// Three paths, chosen at run time from the strides:
//   • bCol = 1 (B's rows contiguous: forward X·W, weight gradient Xᵀ·δ): register blocks of
//     PANEL_ROWS (4) rows of C × PANEL_VECTORS (2) vectors of columns (4×8 for f32, 4×4 for f64). Per p,
//     each row's A[i, p] is loaded once and splatted (v128.load32_splat), each B vector loaded once,
//     and 8 vector multiply-adds run on accumulators held in registers. Left-over rows run in blocks of one row; left-over columns in
//     narrower blocks, down to one partial vector loaded and stored lane-exactly (load64_zero,
//     store32_lane...), so nothing past the last column is touched.
//   • aCol = 1 and bRow = 1 (both operands contiguous along p: δ·Wᵀ): blocks of dot products,
//     vectorized along p, each accumulator reduced across its lanes at the end; the k mod lanes tail
//     is one zero-filled partial vector.
//   • anything else (e.g. Aᵀ·Bᵀ): the first path with each B vector gathered lane by lane
//     (v128.load32_lane at stride bCol). Correct for every stride, slower.
//
// Cache blocking (GEMM_BLOCKING; off while B has at most `unblockedElements` elements): the panel paths
// run over blocks of nc columns and, inside each, over ⌈k / kc⌉ near-equal blocks of p, so that a
// kc×nc block of B stays in L2 while every row panel of A uses it (no packing: strided B is read in
// place). The first block along p assigns C; later ones load the C block they add to, so C's m×n
// targets are read as well as written (only after being written; nothing else outside A and B is read).
// The dot-product path can be blocked likewise (dotNc, dotKc; later blocks start from (C[i, j], 0, …)).
//
// Products and sums are rounded separately (f32x4.mul then f32x4.add: no fused multiply-add), in the
// element type: f32 accumulates in f32, unlike the JS routine's double-precision accumulators. Byte
// addresses are i32, so everything must lie in the first 2 GiB of memory.

import { encodeModule, FunctionBuilder, ValType } from "./assembler.js";
import { ELEMENTS, GemmWriter, type GemmParameterLocals } from "./gemm-writer.js";

export type GemmDtype = "f32" | "f64";

export interface GemmOptions {
  dtype: GemmDtype;
  /** Cache-block sizes in elements (for tuning; bench/gemm.mjs --sweep). Defaults: GEMM_BLOCKING. */
  blocking?: Partial<GemmBlocking>;
}

/**
 * Cache blocking, in elements: the panel paths (1 and 3) run over column blocks of `nc` columns of B
 * and C and, inside each, over blocks of `kc` rows of B, so that a kc×nc block of B stays in cache
 * while every row panel of A uses it; the dot-product path likewise with `dotNc` columns of C (rows
 * of Wᵀ's W) and `dotKc`. Blocks after the first along k add to C instead of assigning it.
 */
export interface GemmBlocking {
  nc: number;
  kc: number;
  dotNc: number;
  dotKc: number;
  /** Products whose B (k·n elements) has at most this many elements run unblocked (B fits in L2 as is). */
  unblockedElements: number;
}

/**
 * The defaults, chosen with `node bench/gemm.mjs --sweep` on a 2-core AMD EPYC (48 KiB L1d, 1 MiB L2 per
 * core, 32 MiB L3): a 384×128 f32 block of B (192 KiB) took the wide forward X·W1 (128×784·784×512,
 * B 1.6 MB) from ~38 to ~50 GFLOP/s; smaller shapes, whose B already fits in L2, gained nothing and lost
 * a little from re-reading A per column block, so B up to 128 Ki elements (512 KiB of f32) stays
 * unblocked. The dot-product path showed no gain from blocking (each row of B streams contiguously and
 * is reused by DOT_ROWS rows of A from L1), so it is off by default.
 */
export const GEMM_BLOCKING: GemmBlocking = {
  nc: 128,
  kc: 384,
  dotNc: 1 << 30,
  dotKc: 1 << 30,
  unblockedElements: 1 << 17,
};

/** The exported function's parameters, in order (all i32; offsets and strides in elements). */
export const GEMM_PARAMETERS = [
  "m",
  "n",
  "k",
  "aOffset",
  "aRow",
  "aCol",
  "bOffset",
  "bRow",
  "bCol",
  "cOffset",
  "cRow",
] as const;

/** The signature of the exported `gemm`, as seen from JavaScript. */
export type GemmFunction = (
  m: number,
  n: number,
  k: number,
  aOffset: number,
  aRow: number,
  aCol: number,
  bOffset: number,
  bRow: number,
  bCol: number,
  cOffset: number,
  cRow: number,
) => void;

/** The WebAssembly module (bytes) exporting `gemm`; see the top of this file for its contract. */
export function gemmModuleBytes(options: GemmOptions = { dtype: "f32" }): Uint8Array<ArrayBuffer> {
  const element = ELEMENTS[options.dtype];
  if (!element) throw new Error(`unknown dtype ${String(options.dtype)}`);
  const blocking = { ...GEMM_BLOCKING, ...options.blocking };
  for (const [name, size] of Object.entries(blocking)) {
    if (!Number.isInteger(size) || size < (name === "unblockedElements" ? 0 : 1) || size > 1 << 30)
      throw new Error(`bad block size ${name} = ${size}`);
  }
  const f = new FunctionBuilder(
    "gemm",
    GEMM_PARAMETERS.map((name) => [name, ValType.i32] as const),
  );
  const parameters = Object.fromEntries(GEMM_PARAMETERS.map((name) => [name, f.param(name)])) as GemmParameterLocals;
  new GemmWriter(f, element, blocking, parameters).write();
  return encodeModule({ memoryImport: { module: "env", field: "memory" }, functions: [f] });
}
