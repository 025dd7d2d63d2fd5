// `gradgen inspect --hessian`: the Hessian of one example's cost C over the parameters (or the inputs
// declared { grad: true } of a model without parameters), as the
// second-order optimizers use it (the trainer's H is the mean over the batch of these). For a few
// scalar parameters, its entries ∂²C/∂θi∂θj (upper triangle; H is symmetric) and the matrix; otherwise
// the Hessian-vector product (H·v)_p = ∂(Σ_q ⟨∂C/∂q, v_q⟩)/∂p for direction symbols v_p, the graph
// --optimizer hessian-free and newton generate. Both symbolic, simplified, in the printer's text and LaTeX.

import type { TracedModel } from "../dsl/model.js";
import { GradgenError } from "../errors.js";
import { add, mul, sum } from "../ir/build.js";
import { makeNode } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { gradients } from "../grad/reverse.js";
import { formatBoth, joinTex, joinText } from "../print/format.js";
import { texName } from "../print/names.js";

/** Entries are printed when the parameters are scalars, at most this many. */
const hessianEntryLimit = 8;

export interface HessianInspection {
  /** "entries": ∂²C/∂θi∂θj for scalar parameters; "product": (H·v)_p. */
  readonly form: "entries" | "product";
  toText(): string;
  toTex(): string;
}

export function inspectHessian(model: TracedModel, wrt: readonly string[] = []): HessianInspection {
  // as inspect's backward equations: the parameters, else the inputs declared { grad: true }
  const leaves = [...model.params, ...model.inputs.filter((x) => x.attrs.wantsGrad)];
  const params =
    wrt.length === 0
      ? model.params.length > 0
        ? model.params
        : leaves
      : wrt.map((name) => {
          const found = leaves.find((p) => p.attrs.name === name);
          if (!found)
            throw new GradgenError(
              `--hessian --wrt ${name}: model "${model.name}" has no parameter (or input declared { grad: true }) named ${name}; it has ${leaves.map((p) => p.attrs.name).join(", ") || "none"}.`,
            );
          return found;
        });
  if (params.length === 0)
    throw new GradgenError(
      `model "${model.name}" has no parameters (nor inputs declared { grad: true }), so its cost C has no Hessian over them.`,
    );
  const names = params.map((p) => p.attrs.name!);
  const grads = gradients(model.loss, params);
  const scalars = params.every((p) => p.size === 1) && params.length <= hessianEntryLimit;
  const header = (what: string) =>
    `model ${model.name}: the Hessian H of one example's cost C over ${names.join(", ")} (the trainer's is its mean over the batch); ${what}`;

  if (scalars) {
    const pairs = params.flatMap((_, i) => params.slice(i).map((__, k) => [i, i + k] as const));
    const entries = pairs.map(([i, j]) => gradients(grads[j]!, [params[i]!])[0]!);
    const both = formatBoth(entries);
    const textLabel = ([i, j]: readonly [number, number]) =>
      i === j ? `∂²C/∂${names[i]}²` : `∂²C/∂${names[i]}∂${names[j]}`;
    const texLabel = ([i, j]: readonly [number, number]) =>
      i === j
        ? `\\frac{\\partial^2 C}{\\partial ${texName(names[i]!)}^2}`
        : `\\frac{\\partial^2 C}{\\partial ${texName(names[i]!)}\\,\\partial ${texName(names[j]!)}}`;
    const at = (results: readonly string[], i: number, j: number) =>
      results[pairs.findIndex(([a, b]) => a === Math.min(i, j) && b === Math.max(i, j))]!;
    const rows = (results: readonly string[]) => params.map((_, i) => params.map((__, j) => at(results, i, j)));
    return {
      form: "entries",
      toText: () =>
        [
          header("its entries (symmetric: the upper triangle)"),
          "",
          ...joinText(both.text, pairs.map(textLabel))
            .split("\n")
            .map((line) => `  ${line}`),
          "",
          `  H = [${rows(both.text.results)
            .map((row) => `[${row.join(", ")}]`)
            .join(", ")}]`,
        ].join("\n"),
      toTex: () =>
        [
          joinTex(both.tex, pairs.map(texLabel)),
          `H = \\begin{pmatrix} ${rows(both.tex.results)
            .map((row) => row.join(" & "))
            .join(" \\\\ ")} \\end{pmatrix}`,
        ].join("\n"),
    };
  }

  // (H·v)_p: one more reverse sweep over the gradient, with a direction symbol v_p per parameter
  const directions = params.map((p) => makeNode(Op.Param, [], { name: `v_${p.attrs.name!}`, shape: p.shape }));
  const dot = grads.map((g, q) => sum(mul(g, directions[q]!))).reduce((total, term) => add(total, term));
  const products = gradients(dot, params);
  const both = formatBoth(products);
  return {
    form: "product",
    toText: () =>
      [
        header(
          `${params.every((p) => p.size === 1) ? `more than ${hessianEntryLimit} parameters` : "tensor parameters"}, so the Hessian-vector product (H·v)_p for a direction v = (${directions.map((d) => d.attrs.name).join(", ")})`,
        ),
        "",
        ...joinText(
          both.text,
          names.map((name) => `(H·v)_${name}`),
        )
          .split("\n")
          .map((line) => `  ${line}`),
      ].join("\n"),
    toTex: () =>
      joinTex(
        both.tex,
        names.map((name) => `(H v)_{${texName(name)}}`),
      ),
  };
}
