// customGradient(f, rule): a function whose derivative the user writes (JAX's custom_vjp,
// TensorFlow's customGrad): for numerically delicate functions, or gradient tricks such as
// straight-through estimators. Values f closes over are treated as constants.

import { makeNode } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { customRules } from "../grad/custom-rules.js";
import { Tensor, traced } from "./tensor.js";
import { nextCustomRuleKey } from "./trace.js";

export interface CustomGradientContext {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /** ∂C/∂output, shaped like the output. */
  readonly adjoint: Tensor;
}

/**
 * Wraps `f` so that its value is f's and its derivative is `rule`'s: rule returns ∂C/∂input for each
 * input, given ∂C/∂output (a vector-Jacobian product). The name appears in error messages.
 */
export function customGradient(
  name: string,
  f: (...inputs: Tensor[]) => Tensor,
  rule: (context: CustomGradientContext) => readonly Tensor[],
): (...inputs: Tensor[]) => Tensor {
  return (...inputs: Tensor[]) => {
    const value = f(...inputs);
    const key = nextCustomRuleKey(name);
    customRules.register(key, ({ inputs: nodes, out, adjoint }) =>
      rule({ inputs: nodes.map((n) => new Tensor(n)), output: new Tensor(out), adjoint: new Tensor(adjoint) }).map(
        (t) => t.node,
      ),
    );
    return traced(() => makeNode(Op.CustomGradient, [value.node, ...inputs.map((x) => x.node)], { rule: key }));
  };
}
