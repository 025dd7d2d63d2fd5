// The one list of IR operations. Every table keyed by Op (derivative rules, emitter op tables)
// is typed `{ [K in Op]: ... }`, so adding an op here without its rule or its code is a type error.

export enum Op {
  // Leaves
  Input = "input", // one value per example (batched)
  Param = "param", // trained, shared by all examples
  Const = "const", // scalar literal
  BatchSize = "batchSize", // the run-time example count n (scalar)
  DropoutMask = "dropoutMask", // per example: 0 or 1/(1 − p), drawn afresh for every training step

  // Elementwise, one operand
  Neg = "neg",
  Exp = "exp",
  Log = "log",
  Sin = "sin",
  Cos = "cos",
  Sqrt = "sqrt",
  Abs = "abs",
  Sign = "sign",
  Sigmoid = "sigmoid",
  Tanh = "tanh",
  Softplus = "softplus", // log(1 + e^x), evaluated stably
  PowConst = "powConst", // x^p for a constant p

  // Elementwise, two or three operands (numpy broadcasting)
  Add = "add",
  Sub = "sub",
  Mul = "mul",
  Div = "div",
  Maximum = "maximum",
  Minimum = "minimum",
  Greater = "greater", // 1 where a > b, else 0; no gradient
  Equal = "equal", // 1 where a == b, else 0; no gradient
  Select = "select", // cond != 0 ? a : b

  // Layout: never computed, read through strides
  Reshape = "reshape",
  Transpose = "transpose",
  Broadcast = "broadcast",

  // Slicing and joining
  Slice = "slice", // a window [begin, begin + size) per axis: never computed, read through strides at an offset
  Pad = "pad", // the operand inside a border of a constant value
  Concat = "concat", // operands joined along one axis

  // Reductions over per-example axes
  Sum = "sum",
  Max = "max",
  LogSumExp = "logSumExp", // over the last axis, stable

  // Linear algebra
  MatMul = "matmul", // [m,k]·[k,n], or [...L, m,k]·[...L, k,n] with leading dims broadcast (numpy)

  // Across the batch: batched operand → one shared value
  BatchSum = "batchSum",

  // Composite ops: one node with a hand-written stable derivative, expanded into primitives before scheduling
  SoftmaxCrossEntropy = "softmaxCrossEntropy", // Σ y·(logSumExp(z) − z); ∂/∂z = softmax(z) − y
  CustomGradient = "customGradient", // value of operand 0, derivative by a user rule for operands 1…

  // Batch statistics (nn.batchNorm): running values kept as non-trained state
  RunningStat = "runningStat", // leaf: a running statistic (shared), read by loss and predict, updated by step
  // operand 0 (the batch statistic) while training, operand 1 (its RunningStat) in loss and predict; step folds
  // operand 2 (the estimate kept: the unbiased variance for a variance) into operand 1 with the node's momentum
  BatchStatistic = "batchStatistic",
  // Integer ids (issue 11): operand `ids` is an int32 input; batchDims leading axes are shared by table and ids
  Gather = "gather", // gather(table [B…, V, R…], ids [B…, I…]) → [B…, I…, R…]: out[b, i, r] = table[b, ids[b, i], r]
  ScatterAdd = "scatterAdd", // scatterAdd(base [B…, V, R…], values [B…, I…, R…], ids): base plus values added at rows ids
  OneHot = "oneHot", // oneHot(ids [I…]) → [I…, depth]: 1 at ids, else 0; no gradient
  // Sliding windows (convolution and pooling; geometry in window.ts)
  Patches = "patches", // im2col: [C, S…] → [O…, C, K…], every window of the zero-padded image
  PatchesAdjoint = "patchesAdjoint", // col2im: [O…, C, K…] → [C, S…], each window scatter-added back
  // Issue 11 (batched products, constants, stop-gradient)
  StopGradient = "stopGradient", // identity forward, no gradient; removed before scheduling
  ConstTensor = "constTensor", // constant(values, shape): a tensor baked into the module (shared, not trained)
  // Loops over a leading time axis (issue 12; scan.ts): one body graph traced once, run T times
  Scan = "scan", // scan(init [c], xs [T, x], closures…) → [c + T·y]: the final carry, then each step's y
  ScanArg = "scanArg", // leaf: a scan body's placeholder (its carry, its x_t, or a closed-over value)
}

/** Ops that read integer ids (their last operand): an int32 input may appear only there. */
export const idOps: ReadonlySet<Op> = new Set<Op>([Op.Gather, Op.ScatterAdd, Op.OneHot]);

const unaryElementwise = [
  Op.Neg,
  Op.Exp,
  Op.Log,
  Op.Sin,
  Op.Cos,
  Op.Sqrt,
  Op.Abs,
  Op.Sign,
  Op.Sigmoid,
  Op.Tanh,
  Op.Softplus,
  Op.PowConst,
] as const;

const binaryElementwise = [Op.Add, Op.Sub, Op.Mul, Op.Div, Op.Maximum, Op.Minimum, Op.Greater, Op.Equal] as const;

const elementwiseOpList = [...unaryElementwise, ...binaryElementwise, Op.Select] as const;

/** An op computed one element at a time (derived from the lists above, so none is missed). */
export type ElementwiseOp = (typeof elementwiseOpList)[number];

/** Ops computed one element at a time; the emitter fuses chains of them into one loop. */
export const elementwiseOps: ReadonlySet<Op> = new Set<Op>(elementwiseOpList);

export function isElementwiseOp(op: Op): op is ElementwiseOp {
  return elementwiseOps.has(op);
}

/** Ops whose operands are interchangeable; interning sorts their operands so a·b and b·a are one node. */
export const commutativeOps: ReadonlySet<Op> = new Set<Op>([Op.Add, Op.Mul, Op.Maximum, Op.Minimum, Op.Equal]);

export const layoutOps: ReadonlySet<Op> = new Set<Op>([Op.Reshape, Op.Transpose, Op.Broadcast, Op.Slice]);

const leafOpList = [
  Op.Input,
  Op.Param,
  Op.Const,
  Op.BatchSize,
  Op.DropoutMask,
  Op.RunningStat,
  Op.ConstTensor,
  Op.ScanArg,
] as const;
export type LeafOp = (typeof leafOpList)[number];
export const leafOps: ReadonlySet<Op> = new Set<Op>(leafOpList);

export function isLeafOp(op: Op): op is LeafOp {
  return leafOps.has(op);
}
