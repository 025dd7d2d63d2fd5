// Bad slicing, joining and axes are refused where the model writes them: one paragraph that names
// the op, the shapes, the axis at fault and a fix, pointing at the model's file:line (here, this file).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GradgenError, model, nn, type Tensor } from "gradgen";
import { traceModel } from "../src/dsl/model.js";

const thisFile = fileURLToPath(import.meta.url);
const sourceLines = readFileSync(thisFile, "utf8").split("\n");

interface Row {
  /** The call as written on its line below: the error must point at that line. */
  readonly call: string;
  /** x is a per-example [5, 3] input, y a [5, 4] one. */
  readonly run: (x: Tensor, y: Tensor) => unknown;
  /** What the message must say. */
  readonly says: readonly string[];
}

const negative: [number, number][] = [
  [1, -1],
  [0, 2],
];

// One row per refusal; each `call` is made on the line of its `run`.
const rows: Row[] = [
  {
    call: "x.slice([3, 0], [4, -1])",
    run: (x) => x.slice([3, 0], [4, -1]),
    says: ["slice:", "axis 0", "has 5", "[5, 3]", "−1"],
  },
  { call: "x.slice([0, -1], [1, 1])", run: (x) => x.slice([0, -1], [1, 1]), says: ["slice:", "axis 1", "0 ≤ begin"] },
  { call: "x.slice([0], [1])", run: (x) => x.slice([0], [1]), says: ["slice:", "2 integers", "[5, 3]"] },
  {
    call: "nn.concat([x, y], 0)",
    run: (x, y) => nn.concat([x, y], 0),
    says: ["nn.concat:", "[5, 3], [5, 4]", "axis 1", "3", "4"],
  },
  {
    call: "nn.concat([x, y], 2)",
    run: (x, y) => nn.concat([x, y], 2),
    says: ["nn.concat:", "axis 2 is out of range", "−2 to 1"],
  },
  { call: "nn.concat([], 0)", run: () => nn.concat([], 0), says: ["nn.concat:", "non-empty list"] },
  { call: "nn.stack([x, y])", run: (x, y) => nn.stack([x, y]), says: ["nn.stack:", "same shape", "[5, 3]", "[5, 4]"] },
  { call: "nn.pad(x, [[1, 1]])", run: (x) => nn.pad(x, [[1, 1]]), says: ["nn.pad:", "[before, after]", "2 pairs"] },
  {
    call: "nn.pad(x, negative)",
    run: (x) => nn.pad(x, negative),
    says: ["nn.pad:", "non-negative", "[[1, -1], [0, 2]]"],
  },
  { call: "nn.softmax(x, 2)", run: (x) => nn.softmax(x, 2), says: ["nn.softmax:", "axis 2 is out of range", "[5, 3]"] },
  { call: "nn.logSumExp(x, -3)", run: (x) => nn.logSumExp(x, -3), says: ["nn.logSumExp:", "axis -3", "[5, 3]"] },
  { call: "nn.argmax(x, 5)", run: (x) => nn.argmax(x, 5), says: ["nn.argmax:", "axis 5"] },
  { call: "x.min(4)", run: (x) => x.min(4), says: ["min:", "axis 4 is out of range"] },
  { call: "x.transpose([0, 0])", run: (x) => x.transpose([0, 0]), says: ["transpose:", "not a permutation"] },
];

function lineOf(call: string): number {
  const index = sourceLines.findIndex((line) => line.includes(`=> ${call}`));
  if (index < 0) throw new Error(`row ${call} not found in this file`);
  return index + 1;
}

function errorOf(run: Row["run"]): unknown {
  const definition = model("slicing", ({ input }) => {
    const x = input("x", [5, 3]);
    run(x, input("y", [5, 4]));
    return { loss: x.sum() };
  });
  try {
    traceModel(definition);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("slicing, joining and axes: bad arguments are one clear paragraph at the model's line", () => {
  for (const row of rows) {
    it(row.call, () => {
      const error = errorOf(row.run);
      expect(error).toBeInstanceOf(GradgenError);
      const { message, location } = error as GradgenError;
      for (const part of row.says) expect(message).toContain(part);
      expect(message).not.toContain("\n");
      expect(location?.file && path.resolve(location.file)).toBe(thisFile);
      expect(location?.line).toBe(lineOf(row.call));
    });
  }

  it("the same calls within range are accepted", () => {
    const accepted = [
      (x: Tensor) => x.slice([3, 0], [2, -1]),
      (x: Tensor, y: Tensor) => nn.concat([x, y], 1),
      (x: Tensor, y: Tensor) => nn.concat([x, y], -1),
      (x: Tensor) => nn.stack([x, x], 2),
      (x: Tensor) =>
        nn.pad(x, [
          [0, 0],
          [1, 2],
        ]),
      (x: Tensor) => nn.softmax(x, -2),
      (x: Tensor) => nn.argmax(x, 0),
    ];
    for (const run of accepted) expect(errorOf(run)).toBeUndefined();
  });
});

describe("slicing and joining print in numpy's notation (text and LaTeX)", () => {
  it("x[1:3, :], pad(…), concat(…; axis)", () => {
    let printed: string[] = [];
    traceModel(
      model("printing", ({ input }) => {
        const x = input("x", [5, 3]);
        const s = x.slice([1, 0], [2, -1]);
        const p = nn.pad(x, [
          [1, 0],
          [0, 2],
        ]);
        const c = nn.concat([x, x], 1);
        printed = [s.toString(), s.toTex(), p.toString(), c.toString(), c.toTex()];
        return { loss: x.sum() };
      }),
    );
    expect(printed[0]).toContain("x[1:3, :]");
    expect(printed[1]).toContain("\\left[1{:}3,\\, :\\right]");
    expect(printed[2]).toContain("pad(x, [[1, 0], [0, 2]])");
    expect(printed[3]).toContain("concat(x, x, axis 1)");
    expect(printed[4]).toContain("\\operatorname{concat}");
  });
});
