// How each op is called when printed: as a function in text and in LaTeX (σ(z), \sigma\left(z\right))
// and as a box label in graph drawings (+, ×, σ). One row per op, so a new op is a type error here
// until it has its names. Ops the printers spell structurally (a + b, x^p, Σ…) still carry names:
// they are what an unknown pattern of that op falls back to.

import { Op } from "../ir/ops.js";

export interface OpNames {
  /** The function name in plain text. */
  readonly text: string;
  /** The function name in LaTeX (math mode). */
  readonly tex: string;
  /** The label of the op's box in a graph drawing. */
  readonly graph: string;
  /** Printed as a named function, f(x), so a small power of it prints as f²(x). */
  readonly isFunction: boolean;
}

/** Named in every form after the op itself: text "add", LaTeX \operatorname{add}, graph "add". */
const plain = (op: Op): OpNames => ({ text: op, tex: `\\operatorname{${op}}`, graph: op, isFunction: false });
/** A named function: text, LaTeX and graph names (the graph's defaults to the text's). */
const fn = (text: string, tex: string, graph = text): OpNames => ({ text, tex, graph, isFunction: true });

export const opNames: { readonly [K in Op]: OpNames } = {
  [Op.Input]: plain(Op.Input),
  [Op.Param]: plain(Op.Param),
  [Op.Const]: plain(Op.Const),
  [Op.BatchSize]: plain(Op.BatchSize),
  [Op.DropoutMask]: plain(Op.DropoutMask),
  [Op.Neg]: { ...plain(Op.Neg), graph: "−x" },
  [Op.Exp]: fn("exp", "\\exp"),
  [Op.Log]: fn("log", "\\log"),
  [Op.Sin]: fn("sin", "\\sin"),
  [Op.Cos]: fn("cos", "\\cos"),
  [Op.Sqrt]: { ...plain(Op.Sqrt), graph: "√" },
  [Op.Abs]: { ...plain(Op.Abs), graph: "|x|" },
  [Op.Sign]: fn("sign", "\\operatorname{sign}"),
  [Op.Sigmoid]: fn("σ", "\\sigma"),
  [Op.Tanh]: fn("tanh", "\\tanh"),
  [Op.Softplus]: fn("softplus", "\\operatorname{softplus}"),
  [Op.PowConst]: plain(Op.PowConst),
  [Op.Add]: { ...plain(Op.Add), graph: "+" },
  [Op.Sub]: { ...plain(Op.Sub), graph: "−" },
  [Op.Mul]: { ...plain(Op.Mul), graph: "×" },
  [Op.Div]: { ...plain(Op.Div), graph: "÷" },
  [Op.Maximum]: fn("max", "\\max"),
  [Op.Minimum]: fn("min", "\\min"),
  [Op.Greater]: plain(Op.Greater),
  [Op.Equal]: plain(Op.Equal),
  [Op.Select]: plain(Op.Select),
  [Op.Reshape]: plain(Op.Reshape),
  [Op.Transpose]: { ...plain(Op.Transpose), graph: "ᵀ" },
  [Op.Broadcast]: plain(Op.Broadcast),
  [Op.Slice]: plain(Op.Slice),
  [Op.Pad]: plain(Op.Pad),
  [Op.Concat]: plain(Op.Concat),
  [Op.Sum]: { ...plain(Op.Sum), graph: "Σ" },
  [Op.Max]: fn("max", "\\max"),
  [Op.LogSumExp]: fn("logsumexp", "\\operatorname{logsumexp}", "logΣexp"),
  [Op.MatMul]: { ...plain(Op.MatMul), graph: "·" },
  [Op.BatchSum]: { ...plain(Op.BatchSum), graph: "Σₙ" },
  [Op.SoftmaxCrossEntropy]: fn("CE", "\\operatorname{CE}"),
  [Op.CustomGradient]: plain(Op.CustomGradient),
  [Op.RunningStat]: plain(Op.RunningStat),
  [Op.BatchStatistic]: { ...plain(Op.BatchStatistic), graph: "batch|running" },
  [Op.Gather]: fn("gather", "\\operatorname{gather}"),
  [Op.ScatterAdd]: fn("scatterAdd", "\\operatorname{scatterAdd}"),
  [Op.OneHot]: fn("onehot", "\\operatorname{onehot}"),
  [Op.Patches]: fn("im2col", "\\operatorname{im2col}"),
  [Op.PatchesAdjoint]: fn("col2im", "\\operatorname{col2im}"),
  [Op.ConstTensor]: fn("constant", "\\operatorname{constant}"),
  [Op.StopGradient]: fn("stopGradient", "\\operatorname{sg}", "sg"),
  [Op.Scan]: fn("scan", "\\operatorname{scan}"),
  [Op.ScanArg]: plain(Op.ScanArg),
};
