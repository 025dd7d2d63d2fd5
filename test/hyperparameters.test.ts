// Non-finite hyperparameters and constants are refused where the model writes them: the error names
// the function, the argument and the value, and points at the model's file:line (here, this file),
// instead of a module that computes NaN later.
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
  readonly run: (x: Tensor) => unknown;
  /** What the message must name: the function, the argument and the value. */
  readonly names: readonly [fn: string, argument: string, value: string];
}

// One row per function and argument; each `call` is written once, on the line of its `run`.
const rows: Row[] = [
  { call: "nn.leakyRelu(x, NaN)", run: (x) => nn.leakyRelu(x, NaN), names: ["nn.leakyRelu", "alpha", "NaN"] },
  { call: "nn.elu(x, Infinity)", run: (x) => nn.elu(x, Infinity), names: ["nn.elu", "alpha", "Infinity"] },
  { call: "nn.swish(x, NaN)", run: (x) => nn.swish(x, NaN), names: ["nn.swish", "beta", "NaN"] },
  { call: "nn.maxout(x, NaN)", run: (x) => nn.maxout(x, NaN), names: ["nn.maxout", "k", "NaN"] },
  { call: "nn.maxout(x, Infinity)", run: (x) => nn.maxout(x, Infinity), names: ["nn.maxout", "k", "Infinity"] },
  { call: "nn.dropout(x, NaN)", run: (x) => nn.dropout(x, NaN), names: ["nn.dropout", "p", "NaN"] },
  { call: "nn.maximum(NaN, x)", run: (x) => nn.maximum(NaN, x), names: ["nn.maximum", "a", "NaN"] },
  { call: "nn.maximum(x, NaN)", run: (x) => nn.maximum(x, NaN), names: ["nn.maximum", "b", "NaN"] },
  { call: "nn.minimum(NaN, x)", run: (x) => nn.minimum(NaN, x), names: ["nn.minimum", "a", "NaN"] },
  { call: "nn.minimum(x, NaN)", run: (x) => nn.minimum(x, NaN), names: ["nn.minimum", "b", "NaN"] },
  { call: "x.add(NaN)", run: (x) => x.add(NaN), names: ["add", "other", "NaN"] },
  { call: "x.sub(Infinity)", run: (x) => x.sub(Infinity), names: ["sub", "other", "Infinity"] },
  { call: "x.mul(NaN)", run: (x) => x.mul(NaN), names: ["mul", "other", "NaN"] },
  { call: "x.div(-Infinity)", run: (x) => x.div(-Infinity), names: ["div", "other", "-Infinity"] },
  { call: "x.pow(NaN)", run: (x) => x.pow(NaN), names: ["pow", "exponent", "NaN"] },
  { call: "x.sum(NaN)", run: (x) => x.sum(NaN), names: ["sum", "axis", "NaN"] },
  { call: "x.mean(Infinity)", run: (x) => x.mean(Infinity), names: ["mean", "axis", "Infinity"] },
  { call: "x.max([0, NaN])", run: (x) => x.max([0, NaN]), names: ["max", "axis", "[0, NaN]"] },
  { call: "x.reshape([NaN, 6])", run: (x) => x.reshape([NaN, 6]), names: ["reshape", "shape", "[NaN, 6]"] },
  { call: "x.reshape([-2, -3])", run: (x) => x.reshape([-2, -3]), names: ["reshape", "shape", "[-2, -3]"] },
];

/** The line of this file that holds `run: (x) => <call>`. */
function lineOf(call: string): number {
  const index = sourceLines.findIndex((line) => line.includes(`run: (x) => ${call},`));
  if (index < 0) throw new Error(`${call} not found in ${thisFile}`);
  return index + 1;
}

/** The error tracing a model that makes the call throws. */
function errorOf(run: (x: Tensor) => unknown): unknown {
  const definition = model("hyper", ({ input }) => {
    const x = input("x", [2, 6]);
    run(x);
    return { loss: x.sum() };
  });
  try {
    traceModel(definition);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("non-finite hyperparameters and constants are refused at the call site", () => {
  for (const row of rows) {
    it(row.call, () => {
      const error = errorOf(row.run);
      expect(error).toBeInstanceOf(GradgenError);
      const { message, location } = error as GradgenError;
      const [fn, argument, value] = row.names;
      expect(message).toContain(`${fn}:`);
      expect(message).toMatch(new RegExp(`\\b${argument}\\b`));
      expect(message).toContain(value);
      expect(location?.file && path.resolve(location.file)).toBe(thisFile);
      expect(location?.line).toBe(lineOf(row.call));
      expect(message).toContain(`${location!.file}:${lineOf(row.call)}:`);
    });
  }

  it("finite hyperparameters and constants, and infinite bounds of maximum/minimum, are accepted", () => {
    const accepted = [
      (x: Tensor) => nn.leakyRelu(x, 0.3),
      (x: Tensor) => nn.elu(x, 0.5),
      (x: Tensor) => nn.swish(x, -2),
      (x: Tensor) => nn.maxout(x, 3),
      (x: Tensor) => nn.maximum(x, 1e300),
      (x: Tensor) => nn.minimum(-1e-300, x),
      // an infinite bound of maximum/minimum never binds: allowed (the WGSL tests print such literals)
      (x: Tensor) => nn.maximum(-Infinity, x),
      (x: Tensor) => nn.minimum(x, Infinity),
      (x: Tensor) => x.add(-0).mul(2).div(3).sub(4).pow(2),
      (x: Tensor) => x.sum(-1).mean(0),
      (x: Tensor) => x.reshape([3, 4]).max(1),
    ];
    for (const run of accepted) expect(errorOf(run)).toBeUndefined();
  });
});
