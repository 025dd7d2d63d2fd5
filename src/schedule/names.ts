// Every name that generated code introduces, in one place: buffer identifiers (shared by the
// scheduler, both emitters and the WGSL host's `readBuffer`), work buffers, shared scalar locals,
// WGSL region keys, and how a user's name is written into generated code.
//
// The namespace rule. A user name (input, parameter, output) is any JavaScript identifier: reserved
// words, `$`, `__proto__` and template identifiers such as `n` or `batch` included. In generated code
// it appears only
//   - as a string: a property key (`propertyKey`) or a string literal (`stringLiteral`), and
//   - at the end of an identifier that starts with one of `rolePrefixes` (`param_W1`, `input_x`, …).
// No identifier that the emitters or templates introduce on their own (`n`, `rate`, `spec`,
// `checkInput`, `v0_1`, `s0`, `work0`, …) starts with a role prefix, so the two sets never meet;
// test/names.test.ts checks that over every identifier of the templates and of emitted modules.
// Prefixes rather than a `$` namespace: `$` is legal in user names (refusing it would refuse names
// that can work), and prefixed names keep generated code readable.

/** No prefix is a prefix of another, so (role, name) → identifier is one-to-one across roles. */
export const rolePrefixes = [
  "input_",
  "inputGrad_",
  "param_",
  "grad_",
  "output_",
  "state_",
  "mask_",
  "snapshot_",
  "running_",
  "batchStat_",
  "touched_",
  "touchedMark_",
  "touchedCount_",
] as const;

/** Per-parameter optimizer slots ("m", "velocity", …) contain no "_", so state_<param>_<slot> is one-to-one. */
const slotName = /^[A-Za-z0-9]+$/;

const statisticLabelPattern = /^[A-Za-z0-9]+\.[A-Za-z0-9]+$/;
function statisticLabel(label: string): string {
  if (!statisticLabelPattern.test(label))
    throw new Error(
      `internal: running statistic label ${JSON.stringify(label)} must be <letters and digits>.<letters and digits>`,
    );
  return label.replace(".", "_");
}

export const bufferName = {
  /** A batch field (the TypeScript trainer's entry-function argument; a WGSL input buffer). */
  input: (name: string) => `input_${name}`,
  param: (name: string) => `param_${name}`,
  grad: (name: string) => `grad_${name}`,
  inputGrad: (name: string) => `inputGrad_${name}`,
  output: (name: string) => `output_${name}`,
  /** A dropout mask (mask names are the compiler's: dropout0, dropout1, …). */
  mask: (name: string) => `mask_${name}`,
  /** An optimizer slot of one parameter, e.g. Adam's m of W1. */
  state: (param: string, slot: string) => {
    if (!slotName.test(slot))
      throw new Error(`internal: optimizer slot name ${JSON.stringify(slot)} must be letters and digits`);
    return `state_${param}_${slot}`;
  },
  /** Optimizer state shared by all parameters (Adam's β₁ᵗ): no second "_", unlike every per-parameter slot. */
  optimizerScalar: (name: string) => {
    if (!slotName.test(name))
      throw new Error(`internal: optimizer state name ${JSON.stringify(name)} must be letters and digits`);
    return `state_${name}`;
  },
  /**
   * A running statistic of nn.batchNorm, by its label "batchNorm<k>.runningMean" (labels are the
   * compiler's: letters and digits around one "."), and the batch statistic step() folds into it.
   */
  running: (label: string) => `running_${statisticLabel(label)}`,
  batchStatistic: (label: string) => `batchStat_${statisticLabel(label)}`,
  /** A constant tensor baked into the module, named by its structural hash (no user name involved). */
  constant: (hash: number) => `constant${hash.toString(36)}`,
  /** A work buffer that temporaries share. */
  work: (index: number) => `work${index}`,
  /**
   * Sparse rows of a parameter's gradient (src/schedule/sparse-rows.ts): the rows the last gradient()
   * touched (an Int32Array), a mark per row (Uint8Array), and how many (−1: any row may be nonzero).
   */
  touchedRows: (param: string) => `touched_${param}`,
  touchedMarks: (param: string) => `touchedMark_${param}`,
  touchedCount: (param: string) => `touchedCount_${param}`,
  /** The TypeScript trainer's copy of a buffer for snapshot()/restore(). */
  snapshot: (buffer: string) => `snapshot_${buffer}`,
};

/** A shared scalar computed once per call (`const s0 = …`). */
export const localName = (index: number) => `s${index}`;

/** WGSL region keys of values that are not buffers of the Program (never user-visible). */
export const wgslRegion = {
  local: (entry: string, name: string) => `local_${entry}_${name}`,
  result: (entry: string) => `result_${entry}`,
  /** A split-K product's partial sums (kernel `index` of entry point `entry`). */
  split: (entry: string, index: number) => `split_${entry}_${index}`,
  isBuffer: (region: string) =>
    !region.startsWith("local_") && !region.startsWith("result_") && !region.startsWith("split_"),
};

/** A string literal in generated TypeScript (JSON's escapes are JavaScript's). */
export const stringLiteral = (text: string) => JSON.stringify(text);

/**
 * An object literal's key for `name`. Quoted keys are plain own properties for every name except
 * `__proto__`, which an object literal takes as the prototype unless the key is computed.
 */
export const propertyKey = (name: string) => (name === "__proto__" ? `["__proto__"]` : stringLiteral(name));

/**
 * Locals of the TypeScript trainer's entry functions, per kernel (its index in the entry point):
 * value `i` of a kernel's expression list is `values(kernel, copy) + i`, one copy per unrolled
 * iteration; loop indices, hoisted index sums, accumulators and the matrix-product locals.
 */
export const typescriptLocal = {
  values: (kernel: number, copy?: number) => (copy === undefined ? `v${kernel}_` : `v${kernel}_${copy}_`),
  loopIndex: (kernel: number, dim: number) => `i${kernel}_${dim}`,
  hoisted: (kernel: number, dim: number, index: number) => `p${kernel}_${dim}_${index}`,
  sum: (kernel: number, copy: number) => `sum${kernel}_${copy}`,
  max: (kernel: number, copy: number) => `max${kernel}_${copy}`,
  repeat: (kernel: number) => `r${kernel}`,
  step: (kernel: number) => `t${kernel}`,
  row: (kernel: number) => `i${kernel}`,
  aRow: (kernel: number) => `aRow${kernel}`,
  cRow: (kernel: number) => `cRow${kernel}`,
  rowElement: (kernel: number, p: number) => `a${kernel}_${p}`,
  inner: (kernel: number) => `p${kernel}`,
  cell: (kernel: number, i: number, j: number) => `c${kernel}_${i}_${j}`,
  left: (kernel: number, i: number) => `x${kernel}_${i}`,
  right: (kernel: number, j: number) => `y${kernel}_${j}`,
  /** Sparse rows (src/emit/typescript-rows.ts): the position in a touched-rows list, and a row (or its first element). */
  touchedAt: (kernel: number) => `touchedAt${kernel}`,
  rowBase: (kernel: number) => `rowBase${kernel}`,
};

/**
 * Functions of the TypeScript trainer: entry point `name`'s function, its parts when it is split
 * (src/schedule/split.ts), and the Float64Array that carries shared scalar locals between parts.
 */
export const typescriptFunction = {
  entry: (name: string) => `${name}Program`,
  part: (name: string, part: number) => `${name}Program${part}`,
  carry: "carried",
  /** Two slots a branch-free maximum or minimum stores its operands in, then reads the chosen one back. */
  pick: "picked",
};

/** A TypeScript trainer's table of inputs, for models with many (src/emit/typescript-inputs.ts). */
export const typescriptInputTable = {
  names: "inputNames",
  sizes: "inputSizes",
  /** An int32 input's number of ids; −1 for a float input. */
  idBounds: "inputIdBounds",
  /** The call's fields, read into the table's order: the entry functions' arguments. */
  values: "inputValues",
  /** The model's input indices one entry point reads. */
  list: (k: number) => `inputList${k}`,
  read: "readInputs",
};

/** Locals of WGSL tasks: values (`values + i`), loop and epilogue indices, a product block's operands and accumulators. */
export const wgslLocal = {
  values: "v",
  index: (dim: number) => `i${dim}`,
  epilogueIndex: (dim: number) => `e${dim}`,
  blockRow: (k: number) => `i${k}`,
  blockColumn: (l: number) => `j${l}`,
  left: (k: number) => `a${k}`,
  right: (l: number) => `b${l}`,
  accumulator: (k: number, l: number) => `c${k}_${l}`,
  /** The storage buffer of chunk `chunk`. */
  chunk: (chunk: number) => `c${chunk}`,
  /** The same storage buffer viewed as array<vec4<f32>> (read-only; a product's operand tiles load through it). */
  chunkVec4: (chunk: number) => `cv${chunk}`,
  task: (k: number) => `task${k}`,
  /** Workgroup memory: a product's A and B tiles, a tree reduction's partial sums. */
  tileA: "tileA",
  tileB: "tileB",
  partials: "partials",
};

/**
 * The WGSL constant holding a region's first element within its chunk. Region names are buffer
 * names (role-prefixed, `work<i>`) or `local_…`/`result_…`: as typed where WGSL accepts them,
 * else spelled by code points (WGSL identifiers have no `$`); either way distinct and never a
 * shader's own local.
 */
export function wgslOffsetName(region: string): string {
  if (/^[A-Za-z][A-Za-z0-9_]*$/.test(region)) return region;
  return `region_${[...region].map((c) => c.codePointAt(0)!.toString(16)).join("_")}`;
}
