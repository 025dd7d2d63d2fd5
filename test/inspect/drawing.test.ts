// The SVG drawings read as geometry: wires end on the boxes they join, boxes have a bounded width,
// tensors show their shapes, adjoints are shown (or defined under the drawing) without values, and
// the model view's drawing uses the equations' names.
import { describe, expect, it } from "vitest";
import { XMLParser } from "fast-xml-parser";
import { ComputationGraph, graph, inspect, model, nn, symbols } from "gradgen";
import mnist from "../../examples/mnist.js";
import xor from "../../examples/xor.js";
import { rnn } from "./models.js";
import { traceModel } from "../../src/dsl/model.js";

type Point = { x: number; y: number };
type Shape =
  | { kind: "rect"; x: number; y: number; width: number; height: number }
  | { kind: "ellipse"; cx: number; cy: number; rx: number; ry: number };
interface DrawnNode {
  id: string;
  shape: Shape;
  texts: Record<string, string>;
}
interface Drawing {
  nodes: Map<string, DrawnNode>;
  edges: { from: string; to: string; points: Point[] }[];
  where: string[];
}

type Element = Record<string, unknown>;
const list = (value: unknown): Element[] =>
  (value === undefined ? [] : Array.isArray(value) ? value : [value]) as Element[];
const text = (element: Element): string => String(element["#text"] ?? "");

function readDrawing(svg: string): Drawing {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    textNodeName: "#text",
    parseAttributeValue: false,
    parseTagValue: false,
  });
  const root = parser.parse(svg).svg as Element;
  const body = list(root.g)[0]!;
  const nodes = new Map<string, DrawnNode>();
  for (const group of list(body.g).filter((g) => g.class === "node")) {
    const rect = list(group.rect)[0];
    const ellipse = list(group.ellipse)[0];
    const shape: Shape = ellipse
      ? { kind: "ellipse", cx: +ellipse.cx!, cy: +ellipse.cy!, rx: +ellipse.rx!, ry: +ellipse.ry! }
      : { kind: "rect", x: +rect!.x!, y: +rect!.y!, width: +rect!.width!, height: +rect!.height! };
    const texts = Object.fromEntries(list(group.text).map((t) => [String(t.class), text(t)]));
    nodes.set(String(group["data-node"]), { id: String(group["data-node"]), shape, texts });
  }
  const edges = list(body.path)
    .filter((p) => p.class === "edge")
    .map((p) => ({
      from: String(p["data-from"]),
      to: String(p["data-to"]),
      points: [...String(p.d).matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) })),
    }));
  const where = list(root.text)
    .filter((t) => t.class === "where")
    .map(text);
  return { nodes, edges, where };
}

/** Distance from p to the outline of a rectangle or (along the ray from its centre) of an ellipse. */
function distanceToOutline(p: Point, shape: Shape): number {
  if (shape.kind === "ellipse") {
    const dx = p.x - shape.cx;
    const dy = p.y - shape.cy;
    const s = Math.hypot(dx / shape.rx, dy / shape.ry);
    return Math.hypot(dx, dy) * Math.abs(1 - 1 / s);
  }
  const left = shape.x,
    right = shape.x + shape.width,
    top = shape.y,
    bottom = shape.y + shape.height;
  const outside = Math.hypot(Math.max(left - p.x, 0, p.x - right), Math.max(top - p.y, 0, p.y - bottom));
  return outside > 0 ? outside : Math.min(p.x - left, right - p.x, p.y - top, bottom - p.y);
}

const shapeWidth = (shape: Shape) => (shape.kind === "rect" ? shape.width : 2 * shape.rx);

function xorWithValues(): ComputationGraph {
  // x = (1, 0), t = 1 and weights of a few digits each: every tensor has a value to show
  const traced = traceModel(xor);
  return graphOf(traced.loss, {
    x: [1, 0],
    t: [1],
    W1: [0.5, -0.25, 0.125, 1.5, -1, 2, 0.75, -0.5],
    b1: [0.1, 0.2, 0.3, 0.4],
    W2: [1, -1, 0.5, 2],
    b2: [0.25],
  });
}

function graphOf(loss: ReturnType<typeof traceModel>["loss"], values: Record<string, number[]>): ComputationGraph {
  return new ComputationGraph(loss, { values, output: "C" });
}

const drawings: [string, () => ComputationGraph][] = [
  ["the MNIST MLP's model view", () => inspect(mnist).graph],
  ["XOR's model view", () => inspect(xor).graph],
  ["XOR with values", xorWithValues],
  ["a three-step tanh RNN (bigger graph)", () => inspect(rnn).graph],
  [
    "the lecture neuron with values",
    () => {
      const [w0, x0, w1, x1, w2] = symbols("w0 x0 w1 x1 w2");
      const u = w0.mul(x0).add(w1.mul(x1)).add(w2);
      return graph(nn.sigmoid(u).add(u.mul(u)), { values: { w0: 2, x0: -1, w1: -3, x1: -2, w2: -3 } });
    },
  ],
];

describe("drawings: geometry", () => {
  it.each(drawings)("%s: every wire starts and ends on its boxes' outlines (within 1 px)", (_, make) => {
    const g = make();
    const drawing = readDrawing(g.toSVG());
    expect(drawing.nodes.size).toBe(g.nodes.length);
    expect(drawing.edges).toHaveLength(g.edges.length);
    const gaps = drawing.edges.map((e) => ({
      from: distanceToOutline(e.points[0]!, drawing.nodes.get(e.from)!.shape),
      to: distanceToOutline(e.points[e.points.length - 1]!, drawing.nodes.get(e.to)!.shape),
    }));
    expect(Math.max(...gaps.map((gap) => Math.max(gap.from, gap.to)))).toBeLessThanOrEqual(1);
  });

  it.each(drawings)("%s: no box wider than 220 px", (_, make) => {
    const g = make();
    const drawing = readDrawing(g.toSVG());
    expect(drawing.nodes.size).toBe(g.nodes.length);
    for (const node of drawing.nodes.values()) expect(shapeWidth(node.shape)).toBeLessThanOrEqual(220);
  });

  it("a 70-character parameter name and a 784-element value stay within the bound", () => {
    const long = "weights_of_the_first_hidden_layer_of_a_network_with_a_very_long_name_x";
    const m = model("long", ({ input, param }) => ({
      loss: input("x", [784])
        .matmul(param(long, [784, 1]))
        .sum(),
    }));
    const values = {
      x: Array.from({ length: 784 }, (_, i) => i / 784),
      [long]: Array.from({ length: 784 }, (_, i) => -i / 784),
    };
    const g = graphOf(traceModel(m).loss, values);
    const drawing = readDrawing(g.toSVG());
    expect(drawing.nodes.size).toBe(g.nodes.length);
    for (const node of drawing.nodes.values()) expect(shapeWidth(node.shape)).toBeLessThanOrEqual(220);
  });
});

describe("drawings: shapes, names, adjoints", () => {
  it.each(drawings)("%s: every tensor's box shows its shape", (_, make) => {
    const g = make();
    const drawing = readDrawing(g.toSVG());
    for (const n of g.nodes) {
      if (n.kind === "constant" || n.node.shape.length === 0) continue;
      const texts = drawing.nodes.get(n.id)!.texts;
      expect(`${texts.label} ${texts.shape ?? ""}`).toContain(`[${n.node.shape.join(", ")}]`);
    }
  });

  it("the MNIST MLP's boxes read as the model file declares them", () => {
    const labels = [...readDrawing(inspect(mnist).graph.toSVG()).nodes.values()].map((n) => n.texts.label);
    // examples/mnist.ts: x [784], label [10], W1 [784, 128], b1 [128], W2 [128, 10], b2 [10]
    expect(labels).toEqual(
      expect.arrayContaining([
        "x : [784]",
        "label : [10]",
        "W1 : [784, 128]",
        "b1 : [128]",
        "W2 : [128, 10]",
        "b2 : [10]",
      ]),
    );
  });

  it.each([
    ["XOR", xor],
    ["the MNIST MLP", mnist],
    ["the RNN", rnn],
  ] as const)("%s: the drawing names values as the equations do", (_, definition) => {
    const view = inspect(definition);
    const labels = [...readDrawing(view.graph.toSVG()).nodes.values()].map((n) => n.texts.label);
    // every forward equation whose value is drawn (probabilities = softmax(z2) is not on C's graph)
    const drawn = new Set(view.graph.nodes.map((n) => n.node));
    const named = view.forward.definitions.filter((d) => drawn.has(d.node)).map((d) => d.label);
    expect(named).toEqual(expect.arrayContaining(["z1", "a1", "C"]));
    for (const name of named)
      expect(
        labels.some((label) => label?.startsWith(`${name} = `)),
        name,
      ).toBe(true);
  });

  it("XOR without values: the adjoints are the lectures' δ forms", () => {
    const drawing = readDrawing(inspect(xor).graph.toSVG());
    const adjointOf = (label: string) =>
      [...drawing.nodes.values()].find((n) => n.texts.label === label || n.texts.label?.startsWith(`${label} = `))!
        .texts.adjoint;
    // δ1 = ∂C/∂z1, ∂C/∂W1 = xᵀ·δ1, ∂C/∂b1 = δ1, ∂C/∂W2 = a1ᵀ·δ2, ∂C/∂b2 = δ2, ∂C/∂y = y − t = s1
    expect([
      adjointOf("z1"),
      adjointOf("W1 : [2, 4]"),
      adjointOf("b1 : [4]"),
      adjointOf("W2 : [4, 1]"),
      adjointOf("b2 : [1]"),
      adjointOf("y"),
      adjointOf("C"),
    ]).toEqual(["δ1", "xᵀ·δ1", "δ1", "a1ᵀ·δ2", "δ2", "s1", "1"]);
  });

  it("without values, every adjoint is drawn, and every name it uses is defined under the drawing", () => {
    // ten nested sigmoids: adjoints far longer than a box
    const [w, x] = symbols("w x");
    let f = w.mul(x);
    for (let i = 0; i < 10; i++) f = nn.sigmoid(f).mul(w);
    for (const g of [graph(f), inspect(mnist).graph, inspect(rnn).graph]) {
      const drawing = readDrawing(g.toSVG());
      const defined = new Set(drawing.where.map((line) => /^(\S+) = /.exec(line)?.[1]).filter(Boolean));
      const known = new Set(g.nodes.flatMap((n) => [n.label, n.name ?? ""]));
      for (const n of g.nodes) {
        if (n.kind === "constant") continue;
        const adjoint = drawing.nodes.get(n.id)!.texts.adjoint;
        expect(adjoint, `adjoint of ${n.id} (${n.label})`).toBeTruthy();
        expect(adjoint).not.toContain("…");
        // temporaries (t1, g1, …) are defined in the where block
        for (const [name] of adjoint!.matchAll(/\b[tg]\d+\b/g))
          if (!known.has(name)) expect(defined.has(name), `${name} defined`).toBe(true);
      }
    }
  });
});
