// Bad convolution and pooling calls are refused where the model writes them: one paragraph naming the
// function and the problem, pointing at the model's file:line (here, this file).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GradgenError, model, nn, type ModelBuilder } from "gradgen";
import { traceModel } from "../src/dsl/model.js";

const thisFile = fileURLToPath(import.meta.url);
const sourceLines = readFileSync(thisFile, "utf8").split("\n");
const lineOf = (text: string): number => sourceLines.findIndex((line) => line.includes(text)) + 1;

interface Row {
  /** The call as written on its line below. */
  readonly call: string;
  readonly run: (b: ModelBuilder) => unknown;
  /** What the message must say. */
  readonly says: readonly string[];
}

// Each `call` is written once, on the line of its `run`.
const rows: Row[] = [
  {
    call: 'nn.conv2d(b.input("x", [3, 8, 8]), b.param("W", [4, 2, 3, 3]))',
    run: (b) => nn.conv2d(b.input("x", [3, 8, 8]), b.param("W", [4, 2, 3, 3])),
    says: ["nn.conv2d", "3 channels", "expect 2"],
  },
  {
    call: 'nn.conv1d(b.input("x", [1, 4]), b.param("W", [2, 1, 5]))',
    run: (b) => nn.conv1d(b.input("x", [1, 4]), b.param("W", [2, 1, 5])),
    says: ["nn.conv1d", "does not fit", "spans 5", "padded input"],
  },
  {
    call: 'nn.conv2d(b.input("x", [1, 5, 5]), b.param("W", [2, 1, 3, 3]), { dilation: 3 })',
    run: (b) => nn.conv2d(b.input("x", [1, 5, 5]), b.param("W", [2, 1, 3, 3]), { dilation: 3 }),
    says: ["nn.conv2d", "spans 7", "dilation 3"],
  },
  {
    call: 'nn.conv2d(b.input("x", [1, 5, 5]), b.param("W", [2, 1, 3, 3]), { stride: 0 })',
    run: (b) => nn.conv2d(b.input("x", [1, 5, 5]), b.param("W", [2, 1, 3, 3]), { stride: 0 }),
    says: ["nn.conv2d", "stride must be a positive integer", "0"],
  },
  {
    call: 'nn.conv2d(b.input("x", [1, 5, 5]), b.param("W", [2, 1, 3, 3]), { stride: 1.5 })',
    run: (b) => nn.conv2d(b.input("x", [1, 5, 5]), b.param("W", [2, 1, 3, 3]), { stride: 1.5 }),
    says: ["nn.conv2d", "stride", "1.5"],
  },
  {
    call: 'nn.conv2d(b.input("x", [25]), b.param("W", [2, 1, 3, 3]))',
    run: (b) => nn.conv2d(b.input("x", [25]), b.param("W", [2, 1, 3, 3])),
    says: ["nn.conv2d", "[C, H, W]", "[25]"],
  },
  {
    call: 'nn.conv2d(b.input("x", [1, 5, 5]), b.param("W", [2, 1, 3, 3]), { padding: -1 })',
    run: (b) => nn.conv2d(b.input("x", [1, 5, 5]), b.param("W", [2, 1, 3, 3]), { padding: -1 }),
    says: ["nn.conv2d", "padding", '"valid", "same"'],
  },
  {
    call: 'nn.maxPool2d(b.input("x", [2, 3, 3]), 4)',
    run: (b) => nn.maxPool2d(b.input("x", [2, 3, 3]), 4),
    says: ["nn.maxPool2d", "does not fit", "spans 4"],
  },
  {
    call: 'nn.avgPool1d(b.input("x", [2, 6]), 2, -1)',
    run: (b) => nn.avgPool1d(b.input("x", [2, 6]), 2, -1),
    says: ["nn.avgPool1d", "stride must be a positive integer", "-1"],
  },
];

function errorOf(run: (b: ModelBuilder) => unknown): unknown {
  const definition = model("conv_errors", (b) => {
    run(b);
    return { loss: b.input("t", []) };
  });
  try {
    traceModel(definition);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("bad convolution and pooling calls are refused at the call site", () => {
  for (const row of rows) {
    it(row.call, () => {
      const error = errorOf(row.run);
      expect(error).toBeInstanceOf(GradgenError);
      const { message, location } = error as GradgenError;
      for (const text of row.says) expect(message).toContain(text);
      expect(location?.file && path.resolve(location.file)).toBe(thisFile);
      expect(location?.line).toBe(lineOf(`run: (b) => ${row.call}`));
      expect(message).toContain(`${location!.file}:${location!.line}:`);
    });
  }

  it("the same calls with fitting arguments are accepted", () => {
    const accepted = [
      (b: ModelBuilder) => nn.conv2d(b.input("x", [2, 8, 8]), b.param("W", [4, 2, 3, 3]), { padding: "same" }),
      (b: ModelBuilder) => nn.conv1d(b.input("x", [1, 4]), b.param("W", [2, 1, 5]), { padding: 1 }),
      (b: ModelBuilder) => nn.maxPool2d(b.input("x", [2, 3, 3]), 3),
      (b: ModelBuilder) => nn.avgPool1d(b.input("x", [2, 6]), 2, 1),
    ];
    for (const run of accepted) expect(errorOf(run)).toBeUndefined();
  });
});
