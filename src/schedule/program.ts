// The scheduled, buffer-planned program: what the emitters print. Everything here is decided;
// an emitter only chooses spelling (TypeScript loops, WGSL kernels), never what to compute.

import type { Op } from "../ir/ops.js";
import type { Shape } from "../ir/shape.js";
import type { Fans } from "../initializers.js";
import type { InitSpec } from "../ir/node.js";
import type { OptimizerSpec } from "../optimizers.js";

/** A loop extent: `factor`, times the run-time example count n when `perExample`. */
export interface Extent {
  readonly factor: number;
  readonly perExample: boolean;
}

export type BufferRole = "param" | "grad" | "input" | "inputGrad" | "output" | "work" | "state" | "mask" | "constant";

export interface BufferDecl {
  readonly name: string;
  readonly role: BufferRole;
  /** Elements for one example (batched buffers) or in all (shared buffers). */
  readonly size: number;
  readonly perExample: boolean;
  /** Where it starts in the trainer's one block of memory, in elements. */
  readonly offset: number;
}

/** Where values live: a buffer, or a scalar expression (literal, n, a local). */
export type Storage =
  { readonly kind: "buffer"; readonly name: string } | { readonly kind: "scalar"; readonly code: ScalarCode };

export type ScalarCode =
  | { readonly kind: "literal"; readonly value: number }
  | { readonly kind: "batchSize" }
  | { readonly kind: "learningRate" } // settable at run time
  | { readonly kind: "local"; readonly name: string };

/** Element at loop indices (i₀, i₁, …) is storage[offset + Σ iₖ·strides[k]]. */
export interface Access {
  readonly storage: Storage;
  readonly offset: number;
  readonly strides: readonly number[];
  /** Plus ids[indirect.access]·indirect.stride: gather's load, scatterAdd's and oneHot's store (issue 11). */
  readonly indirect?: IndirectIndex;
  /** Inside a scan kernel: plus t·stepStride, t the scan's step (its x_t read, its y_t stored). */
  readonly stepStride?: number;
}

/** An index read from integer ids at the loop indices (an int32 input's element, never out of range: checked at the call). */
export interface IndirectIndex {
  readonly access: Access;
  readonly stride: number;
}

/** One fused computation step: `v<index> = op(args)` or a load. */
export type Value =
  | { readonly kind: "load"; readonly access: Access }
  | { readonly kind: "op"; readonly op: Op; readonly args: readonly number[]; readonly exponent?: number };

export interface LoopKernel {
  readonly kind: "loop";
  readonly comment: string;
  readonly dims: readonly Extent[];
  /** Computed in order inside the innermost loop; args refer to earlier indices. */
  readonly values: readonly Value[];
  /** The innermost `dims` loops reduce `values`' last entry into one value per outer index. */
  readonly reduction?: { readonly op: "sum" | "max" | "logSumExp"; readonly dims: number };
  readonly target: Access;
  /** "add" accumulates into the target (which a fill kernel zeroed first). */
  readonly mode: "assign" | "add";
  /** How many of the innermost loops are written out as straight-line code (tiny, static extents). */
  readonly unrolled: number;
  /** Further values stored in the same iteration (an optimizer updates a parameter and its moments together). */
  readonly extraStores?: readonly { readonly target: Access; readonly value: number }[];
  /**
   * Sparse rows (issue 11; src/schedule/sparse-rows.ts): only the rows of parameter `rows`'s touched set
   * need visiting — one dim of extent rows·rowSize, every buffer access at offset 0 with stride 1.
   */
  readonly rows?: string;
  /** Sparse rows: add the row each id at the loop indices names to parameter `rows`'s touched set. */
  readonly touches?: TouchRecord;
}

/** The ids a scatter into a gradient reads, over the loop dims where they vary: the rows it touches. */
export interface TouchRecord {
  readonly rows: string;
  readonly dims: readonly Extent[];
  readonly ids: Access;
}

/** A matrix operand: element (row, col) at offset + row·rowStride + col·colStride. */
export interface MatrixAccess {
  readonly buffer: string;
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

/**
 * How a matrix product is written: "blocked" calls the 4×4 register-blocked routine; "rows" (small,
 * static n and k) writes each row of C as straight-line sums; "contraction" (small, static m and n,
 * long k such as a sum over examples) keeps all of C in locals while p runs.
 */
export type GemmForm = "blocked" | "rows" | "contraction";

/** C[m×n] = A[m×k]·B[k×n], repeated `repeat` times with per-repetition strides (one per example). */
export interface GemmKernel {
  readonly kind: "gemm";
  readonly form: GemmForm;
  readonly comment: string;
  readonly m: Extent;
  readonly n: Extent;
  readonly k: Extent;
  readonly a: MatrixAccess;
  readonly b: MatrixAccess;
  readonly c: MatrixAccess;
  readonly repeat?: {
    readonly count: Extent;
    readonly aStride: number;
    readonly bStride: number;
    readonly cStride: number;
  };
}

export interface FillKernel {
  readonly kind: "fill";
  readonly buffer: string;
  readonly length: Extent;
  readonly value: number;
  /** Sparse rows: only the touched set's rows of parameter `rows`'s gradient can be nonzero; zero them, then empty the set. */
  readonly rows?: string;
}

/** `const name = …` for a shared scalar, computed once per call. */
export interface LocalKernel {
  readonly kind: "local";
  readonly comment: string;
  readonly name: string;
  readonly values: readonly Value[];
}

/** A loop over a scan's steps t (T − 1 … 0 when `reverse`): its kernels run once per step (issue 12). */
export interface ScanKernel {
  readonly kind: "scan";
  readonly comment: string;
  readonly length: number;
  readonly reverse: boolean;
  readonly kernels: readonly Kernel[];
}

export type Kernel = LoopKernel | GemmKernel | FillKernel | LocalKernel | ScanKernel;

export type EntryPointName =
  "loss" | "trainingLoss" | "gradient" | "predict" | "beforeGradient" | "update" | "hessianVector"; // second-order optimizers: state_<p>_product = (H·v)_p for v in state_<p>_direction

export interface EntryPoint {
  readonly name: EntryPointName;
  readonly kernels: readonly Kernel[];
  /** Inputs the entry point reads (names of batch fields). */
  readonly inputs: readonly string[];
  /** The scalar it returns (the mean loss), if any. */
  readonly returns?: Access;
}

export interface ParamInfo {
  readonly name: string;
  readonly shape: Shape;
  readonly init: InitSpec;
  /** Used as conv filters [O, C, k…]: initialisers take these fans (C·∏k in, O·∏k out), not [in…, out]'s. */
  readonly filterFans?: Fans;
  /** param(…, { trainable: false }): no optimizer update (its gradient is 0). */
  readonly frozen?: boolean;
}

export interface TensorInfo {
  readonly name: string;
  readonly shape: Shape;
}

/** An int32 input (issue 11): every id must lie in 0 … bound − 1, checked at each call before any work. */
export interface IdsInfo {
  readonly bound: number;
}

export interface StateInfo {
  readonly buffer: string;
  /** Name in trainer.state.buffers, e.g. "W1.m". */
  readonly label: string;
  readonly size: number;
  readonly initial: number;
}

export interface DropoutInfo {
  readonly buffer: string;
  /** Elements per example. */
  readonly size: number;
  readonly dropProbability: number;
}

/**
 * A parameter whose gradient is a sum of scatter-adds (a gather table; src/schedule/sparse-rows.ts).
 * The kernels' `rows` and `touches` fields name it. An emitter honours all of them or none: without
 * them every kernel is the dense computation, which gives the same values.
 */
export interface RowSet {
  readonly param: string;
  readonly rows: number;
  readonly rowSize: number;
  /** Most distinct rows one gradient() can touch: min(rows, ids read per call at the compiled batch). */
  readonly capacity: number;
}

export interface Program {
  readonly modelName: string;
  readonly batch: number;
  readonly dtype: "f32" | "f64";
  readonly optimizer: OptimizerSpec;
  /** Identifies the model's structure (graph, shapes), for checkpoints. */
  readonly structureHash: string;
  readonly state: readonly StateInfo[];
  readonly dropout: readonly DropoutInfo[];
  /** Constant tensors (constant(values, shape)), written into their buffers once, when a trainer is made. */
  readonly constants?: readonly { readonly buffer: string; readonly values: readonly number[] }[];
  readonly params: readonly ParamInfo[];
  readonly inputs: readonly (TensorInfo & { readonly wantsGrad: boolean; readonly ids?: IdsInfo })[];
  readonly outputs: readonly TensorInfo[];
  readonly buffers: readonly BufferDecl[];
  /** Elements of the block of memory all buffers live in (WebAssembly memory when available). */
  readonly arenaSize: number;
  readonly entryPoints: readonly EntryPoint[];
  /** Parameters whose gradient zeroing (and SGD update) may visit only the rows the ids touched. */
  readonly rowSets: readonly RowSet[];
}
