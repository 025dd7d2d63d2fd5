// Cutting a wide sum (src/schedule/wide-sums.ts) on synthetic loop kernels: the pieces, run one after
// another by a small interpreter written here, store what the whole kernel stores (bit for bit where
// the cut keeps the additions' association), each piece stays within its budget, and kernels it
// is unsafe to cut stay whole.

import { describe, expect, it } from "vitest";
import { Op } from "../../src/ir/ops.js";
import type { Access, LoopKernel, Value } from "../../src/schedule/program.js";
import { cutWideSum } from "../../src/schedule/wide-sums.js";

const length = 4;
const at = (name: string, stride = 1): Access => ({ storage: { kind: "buffer", name }, offset: 0, strides: [stride] });
const load = (name: string): Value => ({ kind: "load", access: at(name) });
const add = (a: number, b: number): Value => ({ kind: "op", op: Op.Add, args: [a, b] });
const mul = (a: number, b: number): Value => ({ kind: "op", op: Op.Mul, args: [a, b] });

const kernel = (values: Value[], target = at("out")): LoopKernel => ({
  kind: "loop",
  comment: "sum",
  dims: [{ factor: length, perExample: false }],
  values,
  target,
  mode: "assign",
  unrolled: 0,
});

/** Buffers term0, term1, … of `length` values each (awkward magnitudes, so association shows), and out. */
function memory(terms: number): Map<string, Float64Array> {
  const buffers = new Map<string, Float64Array>();
  for (let t = 0; t < terms; t++)
    buffers.set(
      `term${t}`,
      Float64Array.from({ length }, (_, i) => Math.sin(1.7 * t + i) * 10 ** ((t * 7 + i) % 9)),
    );
  buffers.set("out", new Float64Array(length).fill(Number.NaN));
  return buffers;
}

/** Runs loop kernels of one dim in order, as the emitters print them (values in order, then the store). */
function run(kernels: readonly LoopKernel[], buffers: Map<string, Float64Array>): Float64Array {
  for (const k of kernels) {
    const target = buffers.get((k.target.storage as { name: string }).name)!;
    for (let i = 0; i < k.dims[0]!.factor; i++) {
      const v: number[] = [];
      for (const value of k.values) {
        if (value.kind === "load") {
          const a = value.access;
          v.push(buffers.get((a.storage as { name: string }).name)![a.offset + i * a.strides[0]!]!);
        } else {
          const [x, y] = value.args.map((arg) => v[arg]!) as [number, number];
          v.push(value.op === Op.Add ? x + y : value.op === Op.Mul ? x * y : Number.NaN);
        }
      }
      const index = k.target.offset + i * k.target.strides[0]!;
      target[index] = k.mode === "add" ? target[index]! + v[v.length - 1]! : v[v.length - 1]!;
    }
  }
  return buffers.get("out")!;
}

/** Σ of `terms` loads as a mixed tree: term t joins on the left or the right of the sum so far, by t's parity. */
function mixedSum(
  terms: number,
  term = (t: number, values: Value[]) => (values.push(load(`term${t}`)), values.length - 1),
  values: Value[] = [],
): Value[] {
  let sum = term(0, values);
  for (let t = 1; t < terms; t++) {
    const next = term(t, values);
    values.push(t % 2 === 0 ? add(sum, next) : add(next, sum));
    sum = values.length - 1;
  }
  return values;
}

/** A balanced tree of adds over `terms` loads. */
function balancedSum(terms: number): Value[] {
  const values: Value[] = [];
  const build = (from: number, to: number): number => {
    if (to - from === 1) {
      values.push(load(`term${from}`));
      return values.length - 1;
    }
    const middle = (from + to) >> 1;
    const [a, b] = [build(from, middle), build(middle, to)];
    values.push(add(a, b));
    return values.length - 1;
  };
  build(0, terms);
  return values;
}

describe("cutWideSum", () => {
  it("a mixed chain of 200 adds: pieces of at most 30 values, the same f64 sums bit for bit", () => {
    const whole = kernel(mixedSum(200));
    const pieces = cutWideSum(whole, 1, 30, 60);
    expect(pieces.length).toBeGreaterThan(10);
    for (const piece of pieces) expect(piece.values.length).toBeLessThanOrEqual(31); // + the target's load
    expect(pieces.map((p) => p.mode)).toEqual(pieces.map(() => "assign"));
    expect([...run(pieces, memory(200))]).toEqual([...run([whole], memory(200))]);
  });

  it("terms that are products, sharing a load: the same sums", () => {
    const term = (t: number, values: Value[]) => {
      values.push(load(`term${t}`), load("term0"));
      values.push(mul(values.length - 2, values.length - 1));
      return values.length - 1;
    };
    const whole = kernel(mixedSum(120, term));
    const pieces = cutWideSum(whole, 1, 40, 80);
    expect(pieces.length).toBeGreaterThan(5);
    expect([...run(pieces, memory(120))]).toEqual([...run([whole], memory(120))]);
  });

  it("a balanced tree: consecutive chunks, the first assigned and the rest added, the sum to rounding", () => {
    const whole = kernel(balancedSum(256));
    const pieces = cutWideSum(whole, 1, 40, 80);
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.map((p) => p.mode)).toEqual(["assign", ...pieces.slice(1).map(() => "add")]);
    for (const piece of pieces) expect(piece.values.length).toBeLessThanOrEqual(40);
    const expected = run([whole], memory(256));
    // Σ|terms| bounds the rounding of any association of the sum.
    const magnitude = Array.from({ length }, (_, i) =>
      [...memory(256).entries()].reduce((s, [name, b]) => s + (name === "out" ? 0 : Math.abs(b[i]!)), 0),
    );
    run(pieces, memory(256)).forEach((value, i) =>
      expect(Math.abs(value - expected[i]!)).toBeLessThanOrEqual(256 * Number.EPSILON * magnitude[i]!),
    );
  });

  it("stays whole: narrow, reading its target, sharing a computed value between terms, or accumulating", () => {
    expect(cutWideSum(kernel(mixedSum(20)), 1, 30, 60)).toHaveLength(1);
    const readsTarget = mixedSum(100);
    readsTarget[0] = { kind: "load", access: at("out") };
    expect(cutWideSum(kernel(readsTarget), 1, 30, 60)).toHaveLength(1);
    // Every term multiplies by one shared product.
    const shared: Value[] = [load("term0"), load("term1"), mul(0, 1)];
    const term = (t: number, values: Value[]) => {
      values.push(load(`term${t}`));
      values.push(mul(values.length - 1, 2));
      return values.length - 1;
    };
    expect(cutWideSum(kernel(mixedSum(100, term, shared)), 1, 30, 60)).toHaveLength(1);
    // (the same with each term its own product is cut)
    const own = (t: number, values: Value[]) => {
      values.push(load(`term${t}`), load("term1"));
      values.push(mul(values.length - 2, values.length - 1));
      return values.length - 1;
    };
    expect(cutWideSum(kernel(mixedSum(100, own)), 1, 30, 60).length).toBeGreaterThan(1);
    expect(cutWideSum({ ...kernel(mixedSum(100)), mode: "add" }, 1, 30, 60)).toHaveLength(1);
    // A target element stored by two iterations.
    expect(cutWideSum(kernel(mixedSum(100), at("out", 0)), 1, 30, 60)).toHaveLength(1);
  });
});
