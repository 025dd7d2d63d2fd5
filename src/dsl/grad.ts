// grad() inside a model or an inspection session: derivatives are tensors like any other. A gradient
// remembers its function, so it prints with δ names and the label ∂f/∂w (src/print/expression.ts).

import { GradgenError } from "../errors.js";
import { formatShape } from "../ir/shape.js";
import { gradients } from "../grad/reverse.js";
import { recordGradient } from "../print/expression.js";
import { Tensor, traced } from "./tensor.js";
import { inheritOrigin } from "./trace.js";

/** ∂f/∂wrt for a scalar f, shaped like wrt; with an array, one gradient per entry (a tuple for a tuple). */
export function grad(f: Tensor, wrt: Tensor): Tensor;
export function grad<const W extends readonly Tensor[]>(f: Tensor, wrt: W): { -readonly [K in keyof W]: Tensor };
export function grad(f: Tensor, wrt: Tensor | readonly Tensor[]): Tensor | Tensor[] {
  const list = wrt instanceof Tensor ? [wrt] : [...wrt];
  if (f.shape.length !== 0) {
    return traced(() => {
      throw new GradgenError(
        `grad: f must be a scalar (per example), got shape ${formatShape(f.shape)}; sum or average it first.`,
      );
    });
  }
  const results = gradients(
    f.node,
    list.map((w) => w.node),
    undefined,
    inheritOrigin,
  ).map((node) => traced(() => node));
  results.forEach((g, i) => recordGradient(g.node, f.node, list[i]!.node));
  return wrt instanceof Tensor ? results[0]! : results;
}
