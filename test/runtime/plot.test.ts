// gradgen/train's SVG charts: parsed with an XML parser (well-formed, the elements expected, labels).
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { lineChart, lossChart, panelChart, type History } from "gradgen/train";

interface Element {
  readonly tag: string;
  readonly attrs: Record<string, string>;
  readonly children: Element[];
  /** Text content, concatenated. */
  readonly text: string;
}

/** Parse an SVG document into a small element tree (fast-xml-parser's ordered form, reshaped). */
function parseSvg(svg: string): Element {
  const valid = XMLValidator.validate(svg);
  expect(valid, JSON.stringify(valid)).toBe(true);
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: "",
    trimValues: false,
    parseAttributeValue: false,
    processEntities: true,
  });
  type Ordered = Record<string, unknown> & { ":@"?: Record<string, string> };
  const convert = (node: Ordered): Element | undefined => {
    const tag = Object.keys(node).find((k) => k !== ":@")!;
    if (tag === "#text") return undefined;
    const children = (node[tag] as Ordered[]) ?? [];
    const elements = children.map(convert).filter((e): e is Element => e !== undefined);
    const text = children.map((c) => (c["#text"] !== undefined ? String(c["#text"]) : "")).join("");
    return { tag, attrs: node[":@"] ?? {}, children: elements, text };
  };
  const roots = (parser.parse(svg) as Ordered[]).map(convert).filter((e): e is Element => e !== undefined);
  expect(roots.map((r) => r.tag)).toEqual(["svg"]);
  return roots[0]!;
}

function all(root: Element, predicate: (e: Element) => boolean): Element[] {
  const found: Element[] = [];
  const walk = (e: Element) => {
    if (predicate(e)) found.push(e);
    e.children.forEach(walk);
  };
  walk(root);
  return found;
}

const byClass = (root: Element, name: string) => all(root, (e) => (e.attrs.class ?? "").split(" ").includes(name));
const seriesPaths = (root: Element) => all(root, (e) => e.tag === "path" && e.attrs.class === "series");

/** The points of an SVG path made of M/L commands. */
function pathPoints(d: string): [number, number][] {
  expect(d).toMatch(/^M[-\d.,eL]+$/);
  return d
    .slice(1)
    .split("L")
    .map((pair) => pair.split(",").map(Number) as [number, number]);
}

function plotArea(panel: Element): { left: number; top: number; right: number; bottom: number } {
  const frame = panel.children.find((e) => e.tag === "rect")!;
  const left = Number(frame.attrs.x);
  const top = Number(frame.attrs.y);
  return { left, top, right: left + Number(frame.attrs.width), bottom: top + Number(frame.attrs.height) };
}

const falling = (n: number, start: number, rate: number) =>
  Array.from({ length: n }, (_, i) => start * Math.exp(-rate * i));

describe("lineChart", () => {
  it("is a well-formed SVG with one path per series, axis labels, title and legend", () => {
    const svg = lineChart(
      [
        { name: "a", values: falling(20, 2, 0.1) },
        { name: "b", values: falling(20, 1.5, 0.2) },
        { name: "c", values: falling(20, 1, 0.05), dashed: true },
      ],
      { title: "Three curves", xLabel: "epoch", yLabel: "loss" },
    );
    const root = parseSvg(svg);
    expect(root.attrs.xmlns).toBe("http://www.w3.org/2000/svg");
    expect(Number(root.attrs.width)).toBeGreaterThan(0);
    expect(Number(root.attrs.height)).toBeGreaterThan(0);
    const paths = seriesPaths(root);
    expect(paths.map((p) => p.attrs["data-name"])).toEqual(["a", "b", "c"]);
    expect(new Set(paths.map((p) => p.attrs.stroke)).size).toBe(3); // distinct colours
    expect(paths[2]!.attrs["stroke-dasharray"]).toBeDefined();
    expect(byClass(root, "title").map((e) => e.text)).toEqual(["Three curves"]);
    expect(byClass(root, "x-label").map((e) => e.text)).toEqual(["epoch"]);
    expect(byClass(root, "y-label").map((e) => e.text)).toEqual(["loss"]);
    expect(
      byClass(root, "legend")[0]!
        .children.filter((e) => e.tag === "text")
        .map((e) => e.text),
    ).toEqual(["a", "b", "c"]);
    // Tick labels: numbers, at least two per axis.
    const ticks = byClass(root, "tick-labels")[0]!.children.map((e) => e.text);
    expect(ticks.length).toBeGreaterThanOrEqual(4);
    for (const t of ticks) expect(Number(t.replace("−", "-")), t).not.toBeNaN();
  });

  it("draws every point inside the plot area, in order, larger values higher", () => {
    const values = falling(30, 3, 0.1);
    const root = parseSvg(lineChart([{ name: "loss", values }]));
    const [panel] = byClass(root, "panel");
    const area = plotArea(panel!);
    const points = pathPoints(seriesPaths(root)[0]!.attrs.d!);
    expect(points).toHaveLength(30);
    for (const [x, y] of points) {
      expect(x).toBeGreaterThanOrEqual(area.left - 0.01);
      expect(x).toBeLessThanOrEqual(area.right + 0.01);
      expect(y).toBeGreaterThanOrEqual(area.top - 0.01);
      expect(y).toBeLessThanOrEqual(area.bottom + 0.01);
    }
    for (let i = 1; i < points.length; i++) {
      expect(points[i]![0]).toBeGreaterThan(points[i - 1]![0]); // x increases
      expect(points[i]![1]).toBeGreaterThan(points[i - 1]![1]); // falling values go down the screen
    }
    // The x range is exactly the data's: the first point on the left edge, the last on the right.
    expect(points[0]![0]).toBeCloseTo(area.left, 1);
    expect(points.at(-1)![0]).toBeCloseTo(area.right, 1);
  });

  it("skips non-finite values (a diverged run) and, on a log axis, non-positive ones", () => {
    const root = parseSvg(
      lineChart([{ name: "x", values: [1, 0.5, NaN, 0.25, Infinity, 0, -1, 0.1] }], { logY: true }),
    );
    const d = seriesPaths(root)[0]!.attrs.d!;
    expect(d).not.toMatch(/NaN|Infinity/);
    expect(pathPoints(d)).toHaveLength(4);
    const ticks = byClass(root, "tick-labels")[0]!.children.map((e) => e.text);
    expect(ticks).toEqual(expect.arrayContaining(["0.1", "1"]));
  });

  it("escapes names and titles", () => {
    const root = parseSvg(lineChart([{ name: `a<b & "c"`, values: [1, 2] }], { title: "x < y & z", yLabel: "'q'" }));
    expect(seriesPaths(root)[0]!.attrs["data-name"]).toBe(`a<b & "c"`);
    expect(byClass(root, "title")[0]!.text).toBe("x < y & z");
    expect(byClass(root, "y-label")[0]!.text).toBe("'q'");
  });

  it("uses the x positions given, and rejects a length mismatch", () => {
    const root = parseSvg(lineChart([{ name: "s", values: [3, 2, 1], x: [0, 10, 100] }]));
    const [p0, p1, p2] = pathPoints(seriesPaths(root)[0]!.attrs.d!);
    expect((p1![0] - p0![0]) / (p2![0] - p0![0])).toBeCloseTo(0.1, 3);
    expect(() => lineChart([{ name: "s", values: [1, 2], x: [1] }])).toThrow(/2 values but 1 x positions/);
  });
});

describe("lossChart", () => {
  const history = (validation: boolean): Pick<History, "loss" | "validationLoss"> => ({
    loss: falling(10, 2, 0.3),
    validationLoss: validation ? falling(10, 2.2, 0.2) : [],
  });

  it("training and validation loss per epoch: two paths, epoch and loss labels", () => {
    const root = parseSvg(lossChart(history(true), { title: "MNIST" }));
    expect(seriesPaths(root).map((p) => p.attrs["data-name"])).toEqual(["training loss", "validation loss"]);
    expect(seriesPaths(root).every((p) => pathPoints(p.attrs.d!).length === 10)).toBe(true);
    expect(byClass(root, "x-label")[0]!.text).toBe("epoch");
    expect(byClass(root, "y-label")[0]!.text).toBe("loss");
    expect(byClass(root, "title")[0]!.text).toBe("MNIST");
  });

  it("without validation data: one path", () => {
    const root = parseSvg(lossChart(history(false)));
    expect(seriesPaths(root).map((p) => p.attrs["data-name"])).toEqual(["training loss"]);
  });
});

describe("panelChart", () => {
  it("puts panels side by side with titles, one shared y range and one legend", () => {
    const names = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"];
    const svg = panelChart(
      names.map((name, i) => ({ title: name, series: [{ name, values: falling(40, 1 + i, 0.05 * (i + 1)) }] })),
      { columns: 3, xLabel: "epoch", yLabel: "training loss", logY: true },
    );
    const root = parseSvg(svg);
    const panels = byClass(root, "panel");
    expect(panels).toHaveLength(6);
    expect(byClass(root, "panel-title").map((e) => e.text)).toEqual(names);
    expect(seriesPaths(root)).toHaveLength(6);
    expect(byClass(root, "x-label")).toHaveLength(6);
    expect(
      byClass(root, "legend")[0]!
        .children.filter((e) => e.tag === "text")
        .map((e) => e.text),
    ).toEqual(names);
    // Three columns, two rows: the frames' positions.
    const frames = panels.map(plotArea);
    expect(new Set(frames.map((f) => f.left)).size).toBe(3);
    expect(new Set(frames.map((f) => f.top)).size).toBe(2);
    // Shared y range: every panel has the same tick labels.
    const tickLabels = panels.map((p) =>
      p.children
        .find((e) => e.attrs.class === "tick-labels")!
        .children.filter((e) => e.attrs["text-anchor"] === "end")
        .map((e) => e.text)
        .join(" "),
    );
    expect(new Set(tickLabels).size).toBe(1);
  });

  it("rejects an empty chart", () => {
    expect(() => panelChart([])).toThrow(/no panels/);
  });
});
