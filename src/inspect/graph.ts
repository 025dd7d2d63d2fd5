// The computational graph drawn like the backpropagation lectures' circuits: one box per variable
// or operation, the forward value above it (green), the accumulated adjoint ∂f/∂v below it (red),
// and on each wire the local derivative ∂y_j/∂y_i. Layout by dagre; the SVG is self-contained
// (inline styles, ids unique per drawing) so notebooks, browsers and Chromium render it alike.

import { createRequire } from "node:module";
import { constant } from "../ir/build.js";
import { evaluate as evaluateGraph } from "../ir/evaluate.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { derivativeRules } from "../grad/rules.js";
import { gradients } from "../grad/reverse.js";
import { simplify } from "../passes/simplify.js";
import { formatText, joinText } from "../print/format.js";
import { formatNumber } from "../print/names.js";
import { opNames } from "../print/op-names.js";
import type { MimeBundle } from "../print/expression.js";
import { inspectText } from "../print/notebook.js";

export interface GraphNode {
  readonly id: string;
  readonly node: Node;
  /** What the box says: a variable's name, a constant, or the operation (+, ×, σ, …). */
  readonly label: string;
  readonly kind: "variable" | "constant" | "operation";
  /** The value's name in the printed equations (z1, a1, C), when it has one. */
  readonly name?: string;
  /** The value's shape ([] for a scalar). */
  readonly shape: readonly number[];
  /** Forward value at the given point, when values were given: a number, a few elements, or range and mean. */
  readonly value?: string;
  /**
   * ∂f/∂(this value): a number at the point when values were given, else its expression (named values
   * and temporaries print by name; `where` defines the temporaries and the adjoints too long to draw).
   */
  readonly adjoint?: string;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** Operand position in the consumer (w·w has two wires from w). */
  readonly slot: number;
  /** The local derivative ∂to/∂from, as a value at the point or a short expression. */
  readonly local?: string;
}

function labelOf(node: Node): string {
  // named leaves (a dropout mask too) as the printed equations name them
  if (node.inputs.length === 0 && node.attrs.name !== undefined) return node.attrs.name;
  if (node.op === Op.Param || node.op === Op.Input) return "?";
  if (node.op === Op.Const) return formatNumber(node.attrs.value!);
  if (node.op === Op.PowConst) return `x^${formatNumber(node.attrs.exponent!)}`;
  return opNames[node.op].graph;
}

function skipLayout(node: Node): Node {
  while (node.op === Op.Broadcast || node.op === Op.Reshape) node = node.inputs[0]!;
  return node;
}

/** Text sizes the drawing lays out with (Helvetica's average advance is about 0.56 em; 0.62 leaves room). */
const charWidth = (fontSize: number) => fontSize * 0.62;
/** No box and no text beside it is wider than this: long labels, values and adjoints are cut with "…". */
const maxNodeWidth = 220;

function fit(text: string, fontSize: number, width = maxNodeWidth): string {
  const chars = Math.floor(width / charWidth(fontSize));
  return text.length <= chars ? text : `${text.slice(0, Math.max(1, chars - 1))}…`;
}

const round3 = (v: number) => formatNumber(Number(v.toPrecision(3)));

/** A value in a few characters: a scalar or up to four elements in full, else range and mean. */
function showValue(values: Float64Array): string {
  if (values.length === 1) return round3(values[0]!);
  if (values.length <= 4) return `[${Array.from(values, round3).join(", ")}]`;
  let min = Infinity,
    max = -Infinity,
    sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return `${round3(min)} … ${round3(max)}, mean ${round3(sum / values.length)}`;
}

const shapeText = (shape: readonly number[]) => `[${shape.join(", ")}]`;

/** What a box says in text forms: `W1 : [2, 4]`, `z1 = + : [4]`, `σ`. */
function boxTitle(n: GraphNode): string {
  const head = n.name ? `${n.name} = ${n.label}` : n.label;
  return n.shape.length > 0 && n.kind !== "constant" ? `${head} : ${shapeText(n.shape)}` : head;
}

function shortText(node: Node, limit = 18): string | undefined {
  const text = joinText(formatText([node]));
  return text.includes("\n") || text.length > limit ? undefined : text;
}

let drawings = 0;

export interface GraphOptions {
  /** Values of the variables by name: the drawing then shows forward values and adjoints as numbers. */
  readonly values?: Readonly<Record<string, number | ArrayLike<number>>>;
  /** Label of the output, for the legend (default "f"). */
  readonly output?: string;
  /** Names of values (the model view's z1, a1, δ1, …): named boxes, and adjoints printed with these names. */
  readonly names?: ReadonlyMap<Node, string>;
}

/** An adjoint expression longer than this is drawn as a name (g1, g2, …) defined under the drawing. */
const adjointChars = 26;

export class ComputationGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly output: string;
  /** Definitions the drawn adjoint expressions use: temporaries, and g1, g2, … for adjoints too long to draw. */
  readonly where: readonly { readonly name: string; readonly body: string }[];

  constructor(
    readonly root: Node,
    options: GraphOptions = {},
  ) {
    this.output = options.output ?? "f";
    const order: Node[] = [];
    const seen = new Set<Node>();
    const visit = (start: Node) => {
      const stack: { node: Node; next: number }[] = [{ node: start, next: 0 }];
      seen.add(start);
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const child = top.node.inputs[top.next++];
        if (child === undefined) {
          order.push(top.node);
          stack.pop();
          continue;
        }
        const shown = skipLayout(child);
        if (!seen.has(shown)) {
          seen.add(shown);
          stack.push({ node: shown, next: 0 });
        }
      }
    };
    visit(skipLayout(root));
    const ids = new Map(order.map((node, i) => [node, `n${i}`]));

    let values: Map<Node, Float64Array> | undefined;
    const leaves = new Map<Node, ArrayLike<number>>();
    // a dropout mask is a leaf like an input: it needs a value too (dropout0: [1, 0, 1, …])
    const isLeaf = (node: Node) => node.op === Op.Param || node.op === Op.Input || node.op === Op.DropoutMask;
    if (options.values) {
      for (const node of order) {
        if (isLeaf(node) && node.attrs.name !== undefined) {
          const given = options.values[node.attrs.name];
          if (given !== undefined) leaves.set(node, typeof given === "number" ? [given] : given);
        }
      }
      const complete = order.every((node) => !isLeaf(node) || leaves.has(node));
      if (complete) {
        const results = evaluateGraph(order, leaves);
        values = new Map(order.map((node, i) => [node, results[i]!]));
      }
    }
    const differentiable = order.filter((node) => node !== skipLayout(root) && node.op !== Op.Const);
    const seed = skipLayout(root);
    const adjointNodes = seed.shape.length === 0 ? simplify(gradients(seed, differentiable)) : [];
    const adjointOf = new Map<Node, Node>(adjointNodes.map((adjoint, i) => [differentiable[i]!, adjoint]));
    if (seed.shape.length === 0) adjointOf.set(seed, constant(1));
    const numeric = (node: Node): string | undefined =>
      values ? showValue(evaluateGraph([node], leaves)[0]!) : undefined;
    const names = options.names ?? new Map<Node, string>();

    // without values, every adjoint prints as an expression, all together so they share temporaries
    const where: { name: string; body: string }[] = [];
    const symbolic = new Map<Node, string>();
    if (!values) {
      const shown = order.filter((node) => adjointOf.has(node) && node.op !== Op.Const);
      const printed = formatText(
        shown.map((node) => adjointOf.get(node)!),
        { known: names, simplify: false, reserved: names.values() },
      );
      for (const d of printed.definitions) where.push({ name: d.label, body: d.body });
      let long = 0;
      const taken = new Set([...names.values(), ...where.map((d) => d.name), ...order.map(labelOf)]);
      shown.forEach((node, i) => {
        let text = printed.results[i]!;
        if (text.length > adjointChars) {
          let name: string;
          do name = `g${++long}`;
          while (taken.has(name));
          where.push({ name, body: text });
          text = name;
        }
        symbolic.set(node, text);
      });
    }
    this.where = where;

    this.nodes = order.map((node) => {
      const adjoint = adjointOf.get(node);
      return {
        id: ids.get(node)!,
        node,
        label: labelOf(node),
        kind: node.op === Op.Const ? "constant" : node.inputs.length === 0 ? "variable" : "operation",
        name: node.inputs.length > 0 ? names.get(node) : undefined,
        shape: node.shape,
        value: values ? showValue(values.get(node)!) : undefined,
        adjoint: adjoint && node.op !== Op.Const ? (numeric(adjoint) ?? symbolic.get(node)) : undefined,
      } satisfies GraphNode;
    });

    const edges: GraphEdge[] = [];
    for (const node of order) {
      if (node.inputs.length === 0) continue;
      let locals: readonly (Node | undefined)[] = [];
      if (node.shape.length === 0 && node.inputs.every((input) => input.shape.length === 0)) {
        locals = simplify(
          derivativeRules[node.op]({ inputs: node.inputs, out: node, adjoint: constant(1) }).map(
            (d) => d ?? constant(0),
          ),
        );
      }
      node.inputs.forEach((input, slot) => {
        const local = locals[slot];
        edges.push({
          from: ids.get(skipLayout(input))!,
          to: ids.get(node)!,
          slot,
          local: local && skipLayout(input).op !== Op.Const ? (numeric(local) ?? shortText(local)) : undefined,
        });
      });
    }
    this.edges = edges;
  }

  /** Graphviz DOT. */
  toDot(): string {
    const quote = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
    const lines = ["digraph gradgen {", "  rankdir=LR;", '  node [fontname="Helvetica"];'];
    for (const n of this.nodes) {
      const extra = [
        n.value !== undefined ? `value ${n.value}` : "",
        n.adjoint !== undefined ? `∂${this.output}/∂· ${n.adjoint}` : "",
      ].filter(Boolean);
      const label = [boxTitle(n), ...extra].join("\\n");
      const shape = n.kind === "operation" ? "ellipse" : n.kind === "constant" ? "plaintext" : "box";
      lines.push(`  ${n.id} [label=${quote(label).replace(/\\\\n/g, "\\n")}, shape=${shape}];`);
    }
    for (const e of this.edges)
      lines.push(`  ${e.from} -> ${e.to}${e.local !== undefined ? ` [label=${quote(e.local)}]` : ""};`);
    lines.push("}");
    return lines.join("\n");
  }

  /** A self-contained SVG drawing. */
  toSVG(): string {
    const dagre = createRequire(import.meta.url)("@dagrejs/dagre") as typeof import("@dagrejs/dagre");
    const g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: "LR", nodesep: 30, ranksep: 64, edgesep: 16, marginx: 20, marginy: 20 });
    g.setDefaultEdgeLabel(() => ({}));
    const esc = (s: string) =>
      s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
    const textWidth = (text: string, fontSize: number) => text.length * charWidth(fontSize);
    // what each box says, cut to the bound; the box is the shape edges meet, the layout box adds the
    // value above it and the adjoint below
    const drawn = new Map<
      string,
      { title: string; caption?: string; value?: string; adjoint?: string; width: number; height: number }
    >();
    for (const n of this.nodes) {
      const tensor = n.shape.length > 0;
      const title = fit(
        n.kind === "variable" && tensor
          ? `${n.label} : ${shapeText(n.shape)}`
          : n.name
            ? `${n.name} = ${n.label}`
            : n.label,
        13,
        maxNodeWidth - 24,
      );
      const caption = n.kind === "operation" && tensor ? fit(shapeText(n.shape), 11, maxNodeWidth - 24) : undefined;
      const inner = Math.max(textWidth(title, 13), caption ? textWidth(caption, 11) : 0);
      // an ellipse holds its text's corners when its half-axes are √2 × the text's half-box
      const width = Math.min(
        maxNodeWidth,
        n.kind === "operation" ? Math.max(36, inner * 1.2 + 16) : Math.max(30, inner + 16),
      );
      const height = n.kind === "operation" ? (caption ? 44 : 34) : 28;
      drawn.set(n.id, {
        title,
        caption,
        value: n.value && fit(n.value, 12),
        adjoint: n.adjoint && fit(n.adjoint, 12),
        width,
        height,
      });
    }
    for (const n of this.nodes) {
      const box = drawn.get(n.id)!;
      const beside = Math.max(
        box.width,
        box.value ? textWidth(box.value, 12) : 0,
        box.adjoint ? textWidth(box.adjoint, 12) : 0,
      );
      g.setNode(n.id, { width: beside, height: box.height + 36 });
    }
    const locals = this.edges.map((e) => (e.local === undefined ? undefined : fit(e.local, 11, 120)));
    this.edges.forEach((e, i) => {
      const local = locals[i];
      g.setEdge(
        e.from,
        e.to,
        { width: local ? textWidth(local, 11) + 6 : 0, height: local ? 14 : 0, labelpos: "c" },
        `e${i}`,
      );
    });
    dagre.layout(g);
    const graph = g.graph() as { width?: number; height?: number };
    const hasValues = this.nodes.some((n) => n.value !== undefined);
    const hasAdjoints = this.nodes.some((n) => n.adjoint !== undefined);
    const whereLines = this.where.map((d) => fit(`${d.name} = ${d.body}`, 12, Math.max(560, (graph.width ?? 0) - 24)));
    const notes = hasAdjoints
      ? []
      : [`no adjoints: ∂${this.output}/∂value is drawn only when ${this.output} is a scalar`];
    const footer = [...(whereLines.length > 0 ? ["where", ...whereLines] : []), ...notes];
    const legendWidth = (hasValues ? 100 : 0) + 110 + 260;
    const width = Math.ceil(
      Math.max((graph.width ?? 100) + 20, legendWidth, ...footer.map((line) => textWidth(line, 12) + 36)),
    );
    const graphHeight = (graph.height ?? 100) + 28;
    const height = Math.ceil(graphHeight + 20 + footer.length * 17);
    const prefix = `gg${++drawings}x${(this.root.hash % 100000).toString(36)}`;
    const center = (id: string) => g.node(id) as { x: number; y: number };
    /** Where the ray from a box's centre towards `toward` leaves its drawn shape (rectangle or ellipse). */
    const boundary = (id: string, toward: { x: number; y: number }) => {
      const c = center(id);
      const { width: w, height: h } = drawn.get(id)!;
      const kind = this.nodes.find((n) => n.id === id)!.kind;
      const dx = toward.x - c.x;
      const dy = toward.y - c.y;
      if (dx === 0 && dy === 0) return { x: c.x, y: c.y };
      const t =
        kind === "operation"
          ? 1 / Math.hypot(dx / (w / 2), dy / (h / 2))
          : Math.min(dx === 0 ? Infinity : w / 2 / Math.abs(dx), dy === 0 ? Infinity : h / 2 / Math.abs(dy));
      return { x: c.x + t * dx, y: c.y + t * dy };
    };
    const out: string[] = [];
    out.push(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    );
    // the arrow's tip is the path's end, so the tip touches the box
    out.push(
      `<defs><marker id="${prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`,
    );
    out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
    out.push(`<g transform="translate(0, 28)">`);
    this.edges.forEach((e, i) => {
      const edge = g.edge({ v: e.from, w: e.to, name: `e${i}` }) as {
        points: { x: number; y: number }[];
        x?: number;
        y?: number;
      };
      // dagre clips its ends to the layout box (which includes the value and adjoint rows): clip them to
      // the drawn shape instead, along the first and last legs
      const bends = edge.points.slice(1, -1);
      const start = boundary(e.from, bends[0] ?? center(e.to));
      const end = boundary(e.to, bends[bends.length - 1] ?? center(e.from));
      const points = [start, ...bends, end];
      const d = points.map((p, j) => `${j === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
      out.push(
        `<path class="edge" data-from="${e.from}" data-to="${e.to}" d="${d}" fill="none" stroke="#555" stroke-width="1.3" marker-end="url(#${prefix}-arrow)"/>`,
      );
      const local = locals[i];
      if (local !== undefined && edge.x !== undefined && edge.y !== undefined) {
        out.push(
          `<text class="local" x="${edge.x.toFixed(1)}" y="${(edge.y + 4).toFixed(1)}" text-anchor="middle" font-size="11" fill="#1f5fa8" font-style="italic" stroke="#ffffff" stroke-width="4" paint-order="stroke">${esc(local)}</text>`,
        );
      }
    });
    for (const n of this.nodes) {
      const { x, y } = center(n.id);
      const box = drawn.get(n.id)!;
      out.push(`<g class="node" data-node="${n.id}" data-kind="${n.kind}">`);
      const full = [
        n.name ? `${n.name} = ${n.label}` : n.label,
        n.shape.length > 0 ? shapeText(n.shape) : "",
        n.value ? `value ${n.value}` : "",
        n.adjoint ? `∂${this.output}/∂· ${n.adjoint}` : "",
      ]
        .filter(Boolean)
        .join("\n");
      out.push(`<title>${esc(full)}</title>`);
      const left = (x - box.width / 2).toFixed(1);
      const top = (y - box.height / 2).toFixed(1);
      if (n.kind === "operation") {
        out.push(
          `<ellipse cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" rx="${(box.width / 2).toFixed(1)}" ry="${(box.height / 2).toFixed(1)}" fill="#f4f1e8" stroke="#333" stroke-width="1.2"/>`,
        );
      } else if (n.kind === "variable") {
        out.push(
          `<rect x="${left}" y="${top}" width="${box.width.toFixed(1)}" height="${box.height}" rx="4" fill="#e8eef8" stroke="#333" stroke-width="1.2"/>`,
        );
      } else {
        out.push(
          `<rect x="${left}" y="${top}" width="${box.width.toFixed(1)}" height="${box.height}" rx="4" fill="#ffffff" stroke="#aaa" stroke-width="0.8" stroke-dasharray="3,2"/>`,
        );
      }
      const titleY = box.caption ? y - 1 : y + 4.5;
      out.push(
        `<text class="label" x="${x.toFixed(1)}" y="${titleY.toFixed(1)}" text-anchor="middle" font-weight="${n.kind === "constant" ? "normal" : "bold"}">${esc(box.title)}</text>`,
      );
      if (box.caption)
        out.push(
          `<text class="shape" x="${x.toFixed(1)}" y="${(y + 13).toFixed(1)}" text-anchor="middle" font-size="11" fill="#555">${esc(box.caption)}</text>`,
        );
      if (box.value !== undefined)
        out.push(
          `<text class="value" x="${x.toFixed(1)}" y="${(y - box.height / 2 - 5).toFixed(1)}" text-anchor="middle" font-size="12" fill="#1e7b34">${esc(box.value)}</text>`,
        );
      if (box.adjoint !== undefined)
        out.push(
          `<text class="adjoint" x="${x.toFixed(1)}" y="${(y + box.height / 2 + 14).toFixed(1)}" text-anchor="middle" font-size="12" fill="#c0392b">${esc(box.adjoint)}</text>`,
        );
      out.push(`</g>`);
    }
    out.push(`</g>`);
    footer.forEach((line, i) => {
      out.push(
        `<text class="where" x="${i === 0 || notes.includes(line) ? 12 : 24}" y="${(graphHeight + 14 + i * 17).toFixed(1)}" font-size="12" fill="#c0392b">${esc(line)}</text>`,
      );
    });
    const legend = [
      hasValues ? `<tspan fill="#1e7b34">green: value</tspan>` : "",
      hasAdjoints
        ? `<tspan fill="#c0392b">red: ∂${esc(this.output)}/∂value${hasValues ? "" : " (give values for numbers)"}</tspan>`
        : "",
      `<tspan fill="#1f5fa8" font-style="italic">blue: local derivative on each wire</tspan>`,
    ]
      .filter(Boolean)
      .join("   ");
    out.push(`<text x="12" y="18" font-size="11">${legend}</text>`);
    out.push(`</svg>`);
    return out.join("\n");
  }

  toString(): string {
    const name = new Map(this.nodes.map((n) => [n.id, n.label]));
    const lines = this.nodes.map((n) => {
      const operands = this.edges
        .filter((e) => e.to === n.id)
        .map((e) => `${name.get(e.from)}${e.local !== undefined ? ` (∂/∂ = ${e.local})` : ""}`);
      const extra = [
        n.value !== undefined ? `value ${n.value}` : "",
        n.adjoint !== undefined ? `∂${this.output}/∂ = ${n.adjoint}` : "",
      ]
        .filter(Boolean)
        .join(", ");
      return `${n.id}: ${boxTitle(n)}${operands.length ? `(${operands.join(", ")})` : ""}${extra ? `  [${extra}]` : ""}`;
    });
    if (this.where.length > 0) lines.push("where", ...this.where.map((d) => `  ${d.name} = ${d.body}`));
    return lines.join("\n");
  }

  toMimeBundle(): MimeBundle {
    return { "text/plain": this.toString(), "image/svg+xml": this.toSVG() };
  }

  [Symbol.for("Jupyter.display")](): MimeBundle {
    return this.toMimeBundle();
  }

  [Symbol.for("nodejs.util.inspect.custom")](depth: number, options: { depth?: number | null }): string {
    return inspectText(this, depth, options);
  }
}
