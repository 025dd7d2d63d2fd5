// Model-level inspection (`gradgen inspect model.ts`): the forward equations and the backward
// equations in the lectures' form — zₗ = a·Wₗ + bₗ, aₗ = σ(zₗ), δₗ = ∂C/∂zₗ, ∂C/∂Wₗ = aᵀ·δₗ,
// ∂C/∂bₗ = δₗ — for one example (the trainer averages over the batch), and the report of which
// forward values the backward pass reads (JAX's print_saved_residuals). In a notebook a model
// definition displays as this view: equations with shapes (text, LaTeX), then its drawing.

import { isModelDefinition, setModelViewer, traceModel, type ModelDefinition, type TracedModel } from "../dsl/model.js";
import { gradients } from "../grad/reverse.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { simplify } from "../passes/simplify.js";
import { GradgenError } from "../errors.js";
import { formatBoth, type Formatted } from "../print/format.js";
import { displayChildren, displayOrder } from "../print/display-order.js";
import { isRowColumnFlip } from "../print/layout.js";
import { adjointsBetween, latexMime, type MimeBundle } from "../print/expression.js";
import { ComputationGraph } from "./graph.js";
import { texName } from "../print/names.js";
import { inspectText, type Displayable } from "../print/notebook.js";

export interface Residual {
  readonly name: string;
  readonly shape: readonly number[];
  /** What it is, as text. */
  readonly definition: string;
  /** How many backward expressions read it directly. */
  readonly readers: number;
}

/** A value's shape in the view: `W1 : [784, 128]`, `δ1 : [128] per example`. */
export interface ValueShape {
  readonly shape: readonly number[];
  /** One per example of the batch (depends on an input), as opposed to shared by all (parameters). */
  readonly perExample: boolean;
}

export interface ShowOptions {
  /** Each equation with the shape of what it defines, and a line of the inputs' and parameters' shapes. */
  readonly shapes?: boolean;
}

export interface InspectOptions {
  /** Only the backward equations for these parameters (or inputs). */
  readonly wrt?: string | readonly string[];
}

export interface ModelInspection extends Displayable {
  readonly name: string;
  readonly forward: Formatted;
  readonly forwardTex: Formatted;
  readonly backward: Formatted;
  readonly backwardTex: Formatted;
  /** The values forward.results print: the loss C, then each output. */
  readonly forwardRoots: readonly Node[];
  /** The values backward.results print: ∂C/∂p for each parameter p. */
  readonly backwardRoots: readonly Node[];
  /** Labels of backward results: ∂C/∂W1, … */
  readonly gradientLabels: readonly string[];
  readonly residuals: readonly Residual[];
  /** Leaves the backward pass reads (inputs and parameters). */
  readonly leavesRead: readonly string[];
  /** Shapes of the inputs, parameters and every value the equations name (z1, δ1, ∂C/∂W1, C, …). */
  readonly shapes: ReadonlyMap<string, ValueShape>;
  readonly graph: ComputationGraph;
  toText(options?: ShowOptions): string;
  toTex(options?: ShowOptions): string;
  /** The equations with shapes, as text and LaTeX (a cell's value shows this). */
  toMimeBundle(): MimeBundle;
  /** The equations, then the drawing (display() shows both). */
  toMimeBundles(): MimeBundle[];
}

const activationOps = new Set<Op>([Op.Sigmoid, Op.Tanh, Op.Softplus, Op.Exp, Op.Sin, Op.Cos, Op.Abs, Op.Sqrt, Op.Log]);

function see(node: Node): Node {
  while (node.op === Op.Broadcast || node.op === Op.Reshape) node = node.inputs[0]!;
  return node;
}

/** A layer's pre-activation: a matmul, or a sum with a matmul among its terms (x·W + b, bh + h·Wh + x·Wx). */
function isAffine(node: Node, memo: Map<Node, boolean>): boolean {
  const known = memo.get(node);
  if (known !== undefined) return known;
  const result =
    node.op === Op.MatMul || (node.op === Op.Add && node.inputs.some((input) => isAffine(see(input), memo)));
  memo.set(node, result);
  return result;
}

function isActivationOf(node: Node, z: Node): boolean {
  if (activationOps.has(node.op)) return see(node.inputs[0]!) === z;
  // relu = max(z, 0); leakyRelu and elu = select(z > 0, z, …)
  if (node.op === Op.Maximum) return node.inputs.some((input) => see(input) === z);
  if (node.op === Op.Select) return see(node.inputs[1]!) === z;
  return false;
}

/** The model view of a model(...) definition: `inspect(mlp)`, `inspect(mlp, { wrt: "W1" })`. */
export function inspect(model: ModelDefinition, options: InspectOptions = {}): ModelInspection {
  return inspectModel(model, options);
}

export function inspectModel(
  definitionOrTraced: ModelDefinition | TracedModel,
  options: InspectOptions = {},
): ModelInspection {
  const model = asTraced(definitionOrTraced);
  const wrt = typeof options.wrt === "string" ? [options.wrt] : options.wrt;
  const params =
    wrt && wrt.length > 0
      ? wrt.map((name) => {
          const found = [...model.params, ...model.inputs].find((p) => p.attrs.name === name);
          if (!found) {
            throw new GradgenError(
              `wrt ${name}: model "${model.name}" has no parameter or input named ${name}; its parameters are ${model.params.map((p) => p.attrs.name).join(", ") || "(none)"}.`,
            );
          }
          return found;
        })
      : model.params.length > 0
        ? model.params
        : model.inputs.filter((x) => x.attrs.wantsGrad);
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
  const affine = new Map<Node, boolean>();
  const consumers = new Map<Node, Node[]>();
  for (const node of forwardOrder) {
    for (const input of node.inputs) {
      const list = consumers.get(see(input));
      if (list) list.push(node);
      else consumers.set(see(input), [node]);
    }
  }
  for (const node of forwardOrder) {
    if (!isAffine(node, affine)) continue;
    // a matmul or partial sum inside a larger affine sum is part of that layer
    if ((consumers.get(node) ?? []).some((c) => c.op === Op.Add && isAffine(c, affine))) continue;
    layer++;
    zs.push(node);
    claim(node, `z${layer}`);
    const activation = (consumers.get(node) ?? []).find((other) => isActivationOf(other, node));
    if (activation) claim(activation, `a${layer}`);
  }
  claim(lossNode, "C");

  // δ for each layer: the adjoint of its pre-activation z (δ1 for z1, δ_logits for a layer output named logits)
  const deltaNames = new Map<Node, string>();
  if (zs.length > 0) {
    const zAdjoints = simplify(gradients(lossNode, zs));
    zAdjoints.forEach((adjoint, i) => {
      const node = see(adjoint);
      const z = names.get(zs[i]!)!;
      const numbered = /^z(\d+)$/.exec(z);
      if (node.inputs.length > 0 && !deltaNames.has(node) && !names.has(node))
        deltaNames.set(node, numbered ? `δ${numbered[1]}` : `δ_${z}`);
    });
  }

  // forward values the backward expressions read: the saved residuals (a row read as a column, xᵀ,
  // is its operand read)
  const forwardSet = new Set(forwardOrder.filter((n) => n.inputs.length > 0));
  const readers = new Map<Node, number>();
  const leavesRead = new Set<string>();
  const operand = (node: Node): Node => {
    while (isRowColumnFlip(node)) node = displayChildren(node)[0]!;
    return node;
  };
  const read = (node: Node): void => {
    if (forwardSet.has(node)) readers.set(node, (readers.get(node) ?? 0) + 1);
    else if ((node.op === Op.Param || node.op === Op.Input) && node.attrs.name) leavesRead.add(node.attrs.name);
  };
  const backwardOnly = displayOrder(gradNodes).filter((n) => !forwardSet.has(n));
  for (const node of backwardOnly) {
    if (isRowColumnFlip(node)) continue; // a view: its reader reads its operand
    for (const child of displayChildren(node)) read(operand(child));
  }
  for (const root of gradNodes.map(see)) if (forwardSet.has(root)) read(operand(root));
  // numbered in reading order: the order the forward equations print in
  let saved = 0;
  for (const node of forwardOrder) if (readers.has(node) && !names.has(node)) claim(node, `s${++saved}`);

  // one layout for forward and backward, so temporaries are shared; then split the definitions
  const all = [lossNode, ...outputNodes, ...gradNodes];
  const both = formatBoth(all, {
    names: new Map([...names, ...deltaNames]),
    adjoints: adjointsBetween(loss, params),
    simplify: false,
    reserved: zs.map((_, i) => `δ${i + 1}`),
  });
  const split = (f: Formatted) => ({
    forward: {
      definitions: f.definitions.filter((d) => forwardSet.has(d.node)),
      results: f.results.slice(0, 1 + outputNodes.length),
      resultShapes: f.resultShapes.slice(0, 1 + outputNodes.length),
    },
    backward: {
      definitions: f.definitions.filter((d) => !forwardSet.has(d.node)),
      results: f.results.slice(1 + outputNodes.length),
      resultShapes: f.resultShapes.slice(1 + outputNodes.length),
    },
  });
  const textParts = split(both.text);
  const texParts = split(both.tex);
  const forwardBoth = { text: textParts.forward, tex: texParts.forward };
  const backwardBoth = { text: textParts.backward, tex: texParts.backward };
  const forwardNames = new Map<Node, string>(both.text.definitions.map((d) => [d.node, d.label]));
  const textOf = new Map(both.text.definitions.map((d) => [d.node, d]));
  const residuals: Residual[] = forwardOrder
    .filter((node) => readers.has(node))
    .map((node) => [node, readers.get(node)!] as const)
    .map(([node, count]) => ({
      name: forwardNames.get(node) ?? "(unnamed)",
      shape: node.shape,
      definition: textOf.get(node)?.body ?? "",
      readers: count,
    }));

  const gradientLabels = params.map((p) => `∂C/∂${p.attrs.name}`);
  // drawn with the equations' names (z1, a1, C; adjoints as δ1, xᵀ·δ1)
  const graph = new ComputationGraph(lossNode, { output: "C", names: forwardNames });

  // shapes: the leaves, then every value the equations name, in the order printed
  const shapes = new Map<string, ValueShape>();
  const shapeOf = (node: Node): ValueShape => ({ shape: node.shape, perExample: node.batched });
  for (const leaf of [...model.inputs, ...model.params]) shapes.set(leaf.attrs.name!, shapeOf(leaf));
  for (const d of forwardBoth.text.definitions) shapes.set(d.label, shapeOf(d.node));
  if (!shapes.has("C")) shapes.set("C", shapeOf(lossNode));
  outputs.forEach((o, i) => {
    if (!shapes.has(o.name)) shapes.set(o.name, shapeOf(outputNodes[i]!));
  });
  for (const d of backwardBoth.text.definitions) shapes.set(d.label, shapeOf(d.node));
  gradientLabels.forEach((label, i) => shapes.set(label, shapeOf(gradNodes[i]!)));
  const shapeText = (name: string) => `${name} : ${describeShape(shapes.get(name)!)}`;
  const shapeTex = (name: string) => {
    const { shape, perExample } = shapes.get(name)!;
    const where = perExample ? " per example" : "";
    return shape.length === 0 ? `\\text{scalar${where}}` : `[${shape.join(", ")}]${where ? `\\text{${where}}` : ""}`;
  };
  const leafNames = [...model.inputs, ...model.params].map((leaf) => leaf.attrs.name!);

  const inspection: ModelInspection = {
    name: model.name,
    forward: forwardBoth.text,
    forwardTex: forwardBoth.tex,
    backward: backwardBoth.text,
    backwardTex: backwardBoth.tex,
    forwardRoots: [lossNode, ...outputNodes],
    backwardRoots: gradNodes,
    gradientLabels,
    residuals,
    leavesRead: [...leavesRead].sort(),
    graph,
    shapes,
    toText(show = {}) {
      const lines = [
        `model ${model.name}: one example's cost C (the trainer averages C over the n examples of a batch)`,
        "",
      ];
      if (show.shapes) lines.push(`inputs and parameters: ${leafNames.map(shapeText).join(", ")}`, "");
      const equations: [string, string][] = [];
      for (const d of forwardBoth.text.definitions) equations.push([d.label, d.body]);
      if (!names.has(lossNode)) equations.push(["C", forwardBoth.text.results[0]!]);
      const forwardCount = equations.length;
      for (const d of backwardBoth.text.definitions) equations.push([d.label, d.body]);
      backwardBoth.text.results.forEach((r, i) => equations.push([gradientLabels[i]!, r]));
      // shapes in one column, except after an equation too long for it
      const width = Math.min(44, Math.max(0, ...equations.map(([label, body]) => `${label} = ${body}`.length)));
      const line = ([label, body]: [string, string]) => {
        const equation = `  ${label} = ${body}`;
        return show.shapes ? `${equation.padEnd(width + 2)}    ${shapeText(label)}` : equation;
      };
      lines.push("forward:", ...equations.slice(0, forwardCount).map(line));
      lines.push(
        "",
        "backward (δ = ∂C/∂z for each layer's pre-activation z):",
        ...equations.slice(forwardCount).map(line),
      );
      lines.push("", "saved for the backward pass (forward values the gradient reads):");
      if (residuals.length === 0) lines.push("  (none)");
      const nameWidth = Math.max(6, ...residuals.map((r) => r.name.length));
      const shapeWidth = Math.max(8, ...residuals.map((r) => r.shape.join(",").length + 2));
      for (const r of residuals) {
        const shape = `[${r.shape.join(",")}]`;
        lines.push(
          `  ${r.name.padEnd(nameWidth)} ${shape.padEnd(shapeWidth)} ${r.definition}${r.readers > 1 ? `  (read ${r.readers}×)` : ""}`,
        );
      }
      if (leavesRead.size > 0) lines.push(`  and the inputs and parameters ${[...leavesRead].sort().join(", ")}`);
      return lines.join("\n");
    },
    toTex(show = {}) {
      const rows: string[] = [];
      const row = (label: string, lhs: string, body: string) =>
        rows.push(`${lhs} &= ${body}${show.shapes ? ` && ${shapeTex(label)}` : ""}`);
      if (show.shapes)
        rows.push(
          `&\\text{inputs and parameters: } ${leafNames.map((name) => `${texName(name)} : ${shapeTex(name)}`).join(",\\ ")}`,
        );
      for (const d of forwardBoth.tex.definitions) row(forwardNames.get(d.node) ?? d.name, d.name, d.body);
      if (!names.has(lossNode)) row("C", "C", forwardBoth.tex.results[0]!);
      for (const d of backwardBoth.tex.definitions) row(forwardNames.get(d.node) ?? d.name, d.name, d.body);
      backwardBoth.tex.results.forEach((r, i) =>
        row(gradientLabels[i]!, `\\frac{\\partial C}{\\partial ${texName(params[i]!.attrs.name!)}}`, r),
      );
      return `\\begin{aligned}\n${rows.join(" \\\\\n")}\n\\end{aligned}`;
    },
    toString() {
      return this.toText({ shapes: true });
    },
    toMimeBundle() {
      return { "text/plain": this.toText({ shapes: true }), "text/latex": latexMime(this.toTex({ shapes: true })) };
    },
    toMimeBundles() {
      return [this.toMimeBundle(), graph.toMimeBundle()];
    },
    [Symbol.for("Jupyter.display")]() {
      return this.toMimeBundle();
    },
    [Symbol.for("nodejs.util.inspect.custom")](depth: number, options: { depth?: number | null }) {
      return inspectText(this, depth, options);
    },
  } as ModelInspection;
  return inspection;
}

function asTraced(model: ModelDefinition | TracedModel): TracedModel {
  if (isModelDefinition(model)) return traceModel(model);
  const traced = model as Partial<TracedModel> | null;
  if (traced && Array.isArray(traced.params) && traced.loss !== undefined) return model as TracedModel;
  throw new GradgenError(
    `inspect expects a model definition, the value of model("name", ({ input, param }) => …), but got ${traced === null ? "null" : typeof traced === "object" ? 'an object without kind "gradgen.model"' : typeof traced}.`,
  );
}

function describeShape({ shape, perExample }: ValueShape): string {
  return `${shape.length === 0 ? "scalar" : `[${shape.join(", ")}]`}${perExample ? " per example" : ""}`;
}

setModelViewer((definition) => inspectModel(definition));
