// Model-level inspection (`gradgen inspect model.ts`): the forward equations and the backward
// equations in the lectures' form — zₗ = a·Wₗ + bₗ, aₗ = σ(zₗ), δₗ = ∂C/∂zₗ, ∂C/∂Wₗ = aᵀ·δₗ,
// ∂C/∂bₗ = δₗ — for one example (the trainer averages over the batch), and the report of which
// forward values the backward pass reads (JAX's print_saved_residuals).

import type { TracedModel } from "../dsl/model.js";
import { gradients } from "../grad/reverse.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { simplify } from "../passes/simplify.js";
import { GradgenError } from "../errors.js";
import { displayChildren, displayOrder, formatBoth, type Formatted } from "./format.js";
import { adjointsBetween } from "./expression.js";
import { ComputationGraph } from "./graph.js";
import { texName } from "./names.js";

export interface Residual {
  readonly name: string;
  readonly shape: readonly number[];
  /** What it is, as text. */
  readonly definition: string;
  /** How many backward expressions read it directly. */
  readonly readers: number;
}

export interface ModelInspection {
  readonly name: string;
  readonly forward: Formatted;
  readonly forwardTex: Formatted;
  readonly backward: Formatted;
  readonly backwardTex: Formatted;
  /** Labels of backward results: ∂C/∂W1, … */
  readonly gradientLabels: readonly string[];
  readonly residuals: readonly Residual[];
  /** Leaves the backward pass reads (inputs and parameters). */
  readonly leavesRead: readonly string[];
  readonly graph: ComputationGraph;
  toText(): string;
  toTex(): string;
}

const activationOps = new Set<Op>([Op.Sigmoid, Op.Tanh, Op.Softplus, Op.Exp, Op.Sin, Op.Cos, Op.Abs, Op.Sqrt, Op.Log]);

function see(node: Node): Node {
  while (node.op === Op.Broadcast || (node.op === Op.Reshape)) node = node.inputs[0]!;
  return node;
}

function isAffine(node: Node): boolean {
  if (node.op === Op.MatMul) return true;
  return node.op === Op.Add && node.inputs.some((input) => see(input).op === Op.MatMul);
}

function isActivationOf(node: Node, z: Node): boolean {
  if (activationOps.has(node.op)) return see(node.inputs[0]!) === z;
  // relu = max(z, 0); leakyRelu and elu = select(z > 0, z, …)
  if (node.op === Op.Maximum) return node.inputs.some((input) => see(input) === z);
  if (node.op === Op.Select) return see(node.inputs[1]!) === z;
  return false;
}

export function inspectModel(model: TracedModel, options: { wrt?: readonly string[] } = {}): ModelInspection {
  const params = options.wrt && options.wrt.length > 0
    ? options.wrt.map((name) => {
      const found = [...model.params, ...model.inputs].find((p) => p.attrs.name === name);
      if (!found) {
        throw new GradgenError(`--wrt ${name}: model "${model.name}" has no parameter or input named ${name}; its parameters are ${model.params.map((p) => p.attrs.name).join(", ") || "(none)"}.`);
      }
      return found;
    })
    : model.params.length > 0 ? model.params : model.inputs.filter((x) => x.attrs.wantsGrad);
  const loss = model.loss;
  const rawGrads = gradients(loss, params);
  const outputs = model.outputs.filter((o) => o.node !== loss);
  const simplified = simplify([loss, ...outputs.map((o) => o.node), ...rawGrads]);
  const lossNode = see(simplified[0]!);
  const outputNodes = simplified.slice(1, 1 + outputs.length).map(see);
  const gradNodes = simplified.slice(1 + outputs.length);

  // names of forward values: outputs by name, layers as z1, a1, z2, …, the loss as C
  const names = new Map<Node, string>();
  const forwardOrder = displayOrder([lossNode, ...outputNodes]);
  const taken = new Set<string>([...model.params, ...model.inputs].map((n) => n.attrs.name!));
  const claim = (node: Node, name: string) => {
    if (names.has(node) || node.inputs.length === 0) return;
    let unique = name;
    for (let k = 2; taken.has(unique); k++) unique = `${name}_${k}`;
    taken.add(unique);
    names.set(node, unique);
  };
  outputs.forEach((o, i) => claim(outputNodes[i]!, o.name));
  let layer = 0;
  const zs: Node[] = [];
  for (const node of forwardOrder) {
    if (!isAffine(node)) continue;
    // a bare matmul inside an affine node is part of that layer
    if (node.op === Op.MatMul && forwardOrder.some((other) => other.op === Op.Add && other.inputs.some((input) => see(input) === node))) continue;
    layer++;
    zs.push(node);
    claim(node, `z${layer}`);
    const activation = forwardOrder.find((other) => isActivationOf(other, node));
    if (activation) claim(activation, `a${layer}`);
  }
  claim(lossNode, "C");

  // δ for each layer: the adjoint of its pre-activation z, for the whole set of parameters
  const deltaNames = new Map<Node, string>();
  if (zs.length > 0) {
    const zAdjoints = simplify(gradients(loss, zs.map((z) => z)));
    zAdjoints.forEach((adjoint, i) => {
      const node = see(adjoint);
      if (node.inputs.length > 0 && !deltaNames.has(node) && !names.has(node)) deltaNames.set(node, `δ${names.get(zs[i]!)!.slice(1)}`);
    });
  }

  // forward values the backward expressions read: the saved residuals
  const forwardSet = new Set(forwardOrder.filter((n) => n.inputs.length > 0));
  const readers = new Map<Node, number>();
  const leavesRead = new Set<string>();
  const backwardOnly = displayOrder(gradNodes).filter((n) => !forwardSet.has(n));
  for (const node of backwardOnly) {
    for (const child of displayChildren(node)) {
      if (forwardSet.has(child)) readers.set(child, (readers.get(child) ?? 0) + 1);
      else if ((child.op === Op.Param || child.op === Op.Input) && child.attrs.name) leavesRead.add(child.attrs.name);
    }
  }
  for (const root of gradNodes.map(see)) if (forwardSet.has(root)) readers.set(root, (readers.get(root) ?? 0) + 1);
  let saved = 0;
  for (const node of readers.keys()) if (!names.has(node)) claim(node, `s${++saved}`);

  // one layout for forward and backward, so temporaries are shared; then split the definitions
  const all = [lossNode, ...outputNodes, ...gradNodes];
  const both = formatBoth(all, { names: new Map([...names, ...deltaNames]), adjoints: adjointsBetween(loss, params), simplify: false });
  const split = (f: Formatted) => ({
    forward: { definitions: f.definitions.filter((d) => forwardSet.has(d.node)), results: f.results.slice(0, 1 + outputNodes.length) },
    backward: { definitions: f.definitions.filter((d) => !forwardSet.has(d.node)), results: f.results.slice(1 + outputNodes.length) },
  });
  const textParts = split(both.text);
  const texParts = split(both.tex);
  const forwardBoth = { text: textParts.forward, tex: texParts.forward };
  const backwardBoth = { text: textParts.backward, tex: texParts.backward };
  const forwardNames = new Map<Node, string>(both.text.definitions.map((d) => [d.node, d.label]));
  const textOf = new Map(both.text.definitions.map((d) => [d.node, d]));
  const residuals: Residual[] = [...readers.entries()].map(([node, count]) => ({
    name: forwardNames.get(node) ?? "(unnamed)",
    shape: node.shape,
    definition: textOf.get(node)?.body ?? "",
    readers: count,
  }));

  const gradientLabels = params.map((p) => `∂C/∂${p.attrs.name}`);
  const graph = new ComputationGraph(model.loss, { output: "C" });

  const inspection: ModelInspection = {
    name: model.name,
    forward: forwardBoth.text,
    forwardTex: forwardBoth.tex,
    backward: backwardBoth.text,
    backwardTex: backwardBoth.tex,
    gradientLabels,
    residuals,
    leavesRead: [...leavesRead].sort(),
    graph,
    toText() {
      const lines = [`model ${model.name}: one example's cost C (the trainer averages C over the n examples of a batch)`, "", "forward:"];
      for (const d of forwardBoth.text.definitions) lines.push(`  ${d.label} = ${d.body}`);
      if (!names.has(lossNode)) lines.push(`  C = ${forwardBoth.text.results[0]}`);
      lines.push("", "backward (δ = ∂C/∂z for each layer's pre-activation z):");
      for (const d of backwardBoth.text.definitions) lines.push(`  ${d.label} = ${d.body}`);
      backwardBoth.text.results.forEach((r, i) => lines.push(`  ${gradientLabels[i]} = ${r}`));
      lines.push("", "saved for the backward pass (forward values the gradient reads):");
      if (residuals.length === 0) lines.push("  (none)");
      for (const r of residuals) {
        const shape = `[${r.shape.join(",")}]`;
        lines.push(`  ${r.name.padEnd(6)} ${shape.padEnd(8)} ${r.definition}${r.readers > 1 ? `  (read ${r.readers}×)` : ""}`);
      }
      if (leavesRead.size > 0) lines.push(`  and the inputs and parameters ${[...leavesRead].sort().join(", ")}`);
      return lines.join("\n");
    },
    toTex() {
      const rows: string[] = [];
      for (const d of forwardBoth.tex.definitions) rows.push(`${d.name} &= ${d.body}`);
      if (!names.has(lossNode)) rows.push(`C &= ${forwardBoth.tex.results[0]}`);
      for (const d of backwardBoth.tex.definitions) rows.push(`${d.name} &= ${d.body}`);
      backwardBoth.tex.results.forEach((r, i) => rows.push(`\\frac{\\partial C}{\\partial ${texName(params[i]!.attrs.name!)}} &= ${r}`));
      return `\\begin{aligned}\n${rows.join(" \\\\\n")}\n\\end{aligned}`;
    },
  };
  return inspection;
}
