// Integer inputs and gathers (issue 11), beyond the op table's central differences: forward values
// from the definitions (a gather copies rows, oneHot is the identity's rows, the sparse cross-entropy
// is −log softmax(z)[label]), the parameter gradient as one shared scatter (O(T·d) per example, never
// a per-example [vocab, d] buffer), and every refusal: ids out of range at the call (RangeError naming
// input, example, position, value and range), a float tensor as ids, arithmetic on ids, { grad: true }
// on ids, a Float32Array where an Int32Array belongs — the model-time ones with this file's line.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compile, GradgenError, model, nn, type ModelBuilder, type Tensor } from "gradgen";
import { traceModel } from "../src/dsl/model.js";
import * as ir from "../src/ir/build.js";
import { evaluate } from "../src/ir/evaluate.js";
import { makeNode, type Node } from "../src/ir/node.js";
import { Op } from "../src/ir/ops.js";
import { simplify } from "../src/passes/simplify.js";
import { loadGenerated } from "./support/load-generated.js";

const thisFile = fileURLToPath(import.meta.url);
const sourceLines = readFileSync(thisFile, "utf8").split("\n");
const INT = { dtype: "int32" } as const;
let count = 0;

/** Int32Array ids where the test helpers' types say Float64Array (the generated module takes Int32Array). */
const ids = (values: readonly number[]) => Int32Array.from(values) as unknown as Float64Array;

const logSumExp = (z: readonly number[]) => {
  const m = Math.max(...z);
  return m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
};

describe("forward values from the definitions", () => {
  it("gather copies table rows (ids repeat and run in any order); oneHot is rows of the identity", async () => {
    const E = [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]; // [4, 3]: row r holds 10r, 10r + 1, 10r + 2
    const definition = model(`ids_${count++}`, ({ input, param }) => {
      const t = input("t", [3], INT);
      const g = nn.gather(param("E", [4, 3]), t);
      return { loss: g.sum(), outputs: { g, h: nn.oneHot(t, 4) } };
    });
    const trainer = (await loadGenerated(definition, 2)).createTrainer({ params: { E } });
    const out = trainer.predict({ t: ids([3, 0, 3, 2, 2, 1]) });
    expect([...out.g!]).toEqual([30, 31, 32, 0, 1, 2, 30, 31, 32, 20, 21, 22, 20, 21, 22, 10, 11, 12]);
    const row = (k: number) => [0, 1, 2, 3].map((j) => (j === k ? 1 : 0));
    expect([...out.h!]).toEqual([3, 0, 3, 2, 2, 1].flatMap(row));
  });

  it("sparseSoftmaxCrossEntropy is −log softmax(z)[label], finite for logits near ±1000; its gradient is softmax − onehot", async () => {
    const definition = model(`ids_${count++}`, ({ input }) => {
      const z = input("z", [2, 3], { grad: true });
      return { loss: nn.sparseSoftmaxCrossEntropy(z, input("y", [2], INT)) };
    });
    const trainer = (await loadGenerated(definition, 2)).createTrainer();
    const z = [
      [1000, 999, 998],
      [-1000, 0, 1000],
      [0.5, -0.25, 2],
      [1, 1, 1],
    ];
    const labels = [2, 0, 1, 1];
    const batch = { z: Float64Array.from(z.flat()), y: ids(labels) };
    const expected = (z[0]! && [0, 2].map((e) => z.slice(e, e + 2))).map((rows, e) =>
      rows.reduce((s, r, t) => s + logSumExp(r) - r[labels[2 * e + t]!]!, 0),
    );
    const loss = trainer.gradient(batch);
    expect(loss).toBeCloseTo((expected[0]! + expected[1]!) / 2, 9);
    const gradient = z.flatMap((r, t) => r.map((v, c) => (Math.exp(v - logSumExp(r)) - (c === labels[t] ? 1 : 0)) / 2));
    [...trainer.inputGrads.z!].forEach((g, i) => expect(g).toBeCloseTo(gradient[i]!, 12));
  });
});

describe("the simplifier folds a scatter into zeros into the sum it feeds", () => {
  it("x + scatterAdd(0, v, ids) = scatterAdd(x, v, ids), with the same values (repeated ids add up)", () => {
    const tokens = makeNode(Op.Input, [], { name: "i", shape: [3], dtype: "int32" });
    const x = makeNode(Op.Param, [], { name: "x", shape: [4, 2] });
    const v = makeNode(Op.Input, [], { name: "v", shape: [3, 2] });
    const sum = ir.add(x, ir.scatterAdd(ir.broadcastTo(ir.constant(0), [4, 2]), v, tokens));
    const [simplified] = simplify([sum]);
    expect(simplified!.op).toBe(Op.ScatterAdd);
    expect(simplified!.inputs[0]).toBe(x);
    const leaves = new Map<Node, ArrayLike<number>>([
      [tokens, [2, 0, 2]],
      [x, [1, 2, 3, 4, 5, 6, 7, 8]],
      [v, [10, 20, 30, 40, 50, 60]],
    ]);
    const expected = [1 + 30, 2 + 40, 3, 4, 5 + 10 + 50, 6 + 20 + 60, 7, 8]; // row 2 gets v rows 0 and 2
    expect([...evaluate([sum], leaves)[0]!]).toEqual(expected);
    expect([...evaluate([simplified!], leaves)[0]!]).toEqual(expected);
  });
});

describe("the embedding gradient is one scatter-add shared by all examples", () => {
  it("zeroes ∂E once per call and adds T·d values per example; no per-example [vocab, d] buffer", () => {
    const [vocab, T, d] = [1000, 4, 8];
    const definition = model(`ids_${count++}`, ({ input, param }) => {
      const h = nn.gather(param("E", [vocab, d]), input("tokens", [T], INT));
      return { loss: nn.sparseSoftmaxCrossEntropy(h.matmul(param("W", [d, 5])), input("y", [T], INT)) };
    });
    const source = compile(definition, { batch: 16 }).files[0]!.contents;
    const gradient = source.slice(
      source.indexOf("function gradientProgram"),
      source.indexOf("function predictProgram"),
    );
    expect(gradient).toContain(`grad_E.fill(0, 0, ${vocab * d});`);
    // the scatter runs over the n·T ids, adding rows of d
    expect(gradient).toMatch(
      new RegExp(`for \\(let \\w+ = 0; \\w+ < n \\* ${T}; \\w+\\+\\+\\)[^}]*grad_E\\[[^\\]]*input_tokens\\[`),
    );
    // nothing of vocab·d per example: no fill or loop over n × vocab·d
    expect(gradient).not.toContain(`n * ${vocab * d}`);
    expect(gradient).not.toContain(`n * ${vocab}`);
  });
});

describe("ids out of range are refused at the call, before any work", () => {
  const definition = model(`ids_${count++}`, ({ input, param }) => {
    const tokens = input("tokens", [3], INT);
    const h = nn.gather(param("E", [5, 2], { init: "normal" }), tokens);
    return { loss: h.sum().add(nn.oneHot(tokens, 5).sum()), outputs: { h } };
  });
  it.each([
    [5, "id 5"],
    [-1, "id -1"],
  ])("id %i", async (bad, said) => {
    const trainer = (await loadGenerated(definition, 2)).createTrainer({ seed: 1 });
    const before = Float64Array.from(trainer.params.E!);
    const batch = { tokens: ids([0, 1, 2, 4, bad, 3]) };
    for (const call of [() => trainer.step(batch), () => trainer.loss(batch), () => trainer.predict(batch)]) {
      expect(call).toThrow(RangeError);
      expect(call).toThrow(`input "tokens", example 1, position 1: ${said} is out of range`);
      expect(call).toThrow("from 0 to 4");
    }
    expect([...trainer.params.E!]).toEqual([...before]); // step refused before its update
    expect(trainer.loss({ tokens: ids([0, 1, 2, 4, bad, 3]) }, 1)).toBeTypeOf("number"); // only the first n are read
  });

  it("a Float64Array for int32 ids is refused", async () => {
    const trainer = (await loadGenerated(definition, 2)).createTrainer();
    expect(() => trainer.loss({ tokens: new Float64Array([0, 1, 2]) })).toThrow(
      /needs an Int32Array, got \[object Float64Array\]/,
    );
  });
});

describe("model-time refusals name this file and line", () => {
  const refused: readonly [string, (b: ModelBuilder) => unknown, RegExp][] = [
    [
      "float ids to gather",
      (b) => nn.gather(b.param("E", [4, 2]), b.input("x", [3])),
      /nn\.gather: ids must be an int32 input, got the float input "x"/,
    ],
    [
      "a computed float tensor as labels",
      (b) => nn.sparseSoftmaxCrossEntropy(b.input("z", [3]), b.input("x", []).mul(2)),
      /labels must be an int32 input, got a float tensor \[\]/,
    ],
    [
      "arithmetic on ids",
      (b) => b.input("t", [3], INT).add(1),
      /"t" is an int32 input \(integer ids\), which can only be the ids of nn\.gather/,
    ],
    [
      "ids of the wrong shape for the labels",
      (b) => nn.sparseSoftmaxCrossEntropy(b.input("z", [4, 3]), b.input("t", [3], INT)),
      /labels have the logits' shape without its last axis/,
    ],
    ["a table without rows", (b) => nn.gather(b.param("E", []), b.input("t", [2], INT)), /needs an axis of rows/],
    ["oneHot depth 0", (b) => nn.oneHot(b.input("t", [2], INT), 0), /depth must be a positive integer/],
  ];
  for (const [what, build, message] of refused) {
    it(what, () => {
      const definition = model(`ids_${count++}`, (b) => {
        build(b);
        return { loss: b.input("other", [1]).sum() };
      });
      let error: unknown;
      try {
        traceModel(definition);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(GradgenError);
      const { location } = error as GradgenError;
      expect((error as Error).message).toMatch(message);
      expect(location?.file && path.resolve(location.file)).toBe(thisFile);
      // the row's own call: on the line naming the row, or the next few (where the formatter wraps it)
      const rowLine = sourceLines.findIndex((text) => text.includes(`"${what}"`)) + 1;
      expect(location!.line).toBeGreaterThanOrEqual(rowLine);
      expect(location!.line).toBeLessThanOrEqual(rowLine + 3);
      expect((error as Error).message).toContain(`${location!.file}:${location!.line}:`);
    });
  }

  it("{ grad: true } on an int32 input, and an unknown dtype", () => {
    for (const [options, message] of [
      [{ dtype: "int32", grad: true }, /an int32 input has no gradient/],
      [{ dtype: "int64" }, /dtype "int64" is not supported/],
    ] as const) {
      const definition = model(`ids_${count++}`, (b: ModelBuilder) => {
        const t: Tensor = b.input("t", [2], options as never);
        return { loss: nn.oneHot(t, 3).sum() };
      });
      expect(() => traceModel(definition)).toThrow(message);
    }
  });
});
