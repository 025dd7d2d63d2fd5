// The compiler's stack use does not grow with the graph: every traversal (tracing, interning,
// differentiation, simplification, expansion, scheduling, emitting) is a loop. Deep graphs compile
// in a child process whose stack is too small for naive recursion that deep, and moderately deep
// ones (deeper than the recursive compiler could take) give the gradients calculus says they must.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as gradgen from "gradgen";
import { affineChain, parameterSum, sinTanhChain } from "../../bench/support/deep-graphs.mjs";
import { builtPackage, buildOnce, removeTempDirs, root } from "../cli-helpers.js";
import { loadGenerated } from "../support/load-generated.js";
import * as ir from "../../src/ir/build.js";
import { evaluate } from "../../src/ir/evaluate.js";
import { makeNode } from "../../src/ir/node.js";
import { Op } from "../../src/ir/ops.js";

/** About half of V8's default stack (984 KB): a graph-deep recursion overflows it long before 20,000 frames. */
const STACK_KB = 500;

interface DeepCompile {
  readonly recursionOverflows: boolean;
  /** By generated file name. */
  readonly generated: Record<
    string,
    {
      readonly length: number;
      readonly occurrences: Record<string, number>;
      /** WGSL: occurrences in the shaders a sequence's dispatches run (identical kernels share a shader). */
      readonly dispatched?: Record<string, number>;
    }
  >;
}

/** Compile bench/support/deep-graphs.mjs's `name` at `size` with the built package, under a STACK_KB stack. */
function compileWithSmallStack(
  name: string,
  size: number,
  targets: readonly string[],
  texts: readonly string[],
): DeepCompile {
  const script = path.join(root, "test", "support", "compile-deep-graph.mjs");
  const run = spawnSync(
    process.execPath,
    [`--stack-size=${STACK_KB}`, script, builtPackage(), name, String(size), targets.join(","), ...texts],
    {
      cwd: root,
      encoding: "utf8",
      timeout: 600_000,
      maxBuffer: 1 << 20,
      env: { ...process.env, NODE_OPTIONS: "" },
    },
  );
  if (run.error) throw run.error;
  expect(run.status, `compiling ${name}(${size}) failed:\n${run.stderr.slice(0, 2000)}`).toBe(0);
  return JSON.parse(run.stdout) as DeepCompile;
}

describe("deep graphs compile with a bounded stack", () => {
  beforeAll(() => buildOnce(), 120_000);
  afterAll(() => removeTempDirs());

  it("a chain of 100,000 ops: x ↦ 1.0001·x + 0.001, 50,000 times, to TypeScript and WGSL", () => {
    const result = compileWithSmallStack("affineChain", 50_000, ["ts", "wgsl"], [" * ", " + "]);
    expect(result.recursionOverflows).toBe(true);
    // Every multiplication and addition of the forward chain is in the generated code, none lost on the
    // way: in the TypeScript, and in the shaders the WGSL loss dispatches (loops of at most 32 ops,
    // src/schedule/fusion-limit.ts, so identical ones share a shader).
    const { occurrences } = result.generated["affineChain.ts"]!;
    const { dispatched } = result.generated["affineChain.wgsl.ts"]!;
    for (const counts of [occurrences, dispatched!]) {
      expect(counts[" * "]).toBeGreaterThanOrEqual(50_000);
      expect(counts[" + "]).toBeGreaterThanOrEqual(50_000);
    }
  }, 600_000);

  it("a chain of 100,000 ops: sin and tanh alternately", () => {
    const result = compileWithSmallStack("sinTanhChain", 100_000, ["ts"], ["Math.sin(", "Math.tanh("]);
    expect(result.recursionOverflows).toBe(true);
    const { occurrences } = result.generated["sinTanhChain.ts"]!;
    expect(occurrences["Math.sin("]).toBeGreaterThanOrEqual(50_000);
    expect(occurrences["Math.tanh("]).toBeGreaterThanOrEqual(50_000);
  }, 600_000);

  it("a sum of 20,000 scalar parameters", () => {
    const result = compileWithSmallStack("parameterSum", 20_000, ["ts"], ["grad_p19999"]);
    expect(result.recursionOverflows).toBe(true);
    expect(result.generated["parameterSum.ts"]!.occurrences["grad_p19999"]).toBeGreaterThan(0);
  }, 600_000);
});

// Deeper than the recursive compiler managed (it overflowed at about 1,100 op pairs or 2,000
// parameters), compiled in this process with its ordinary stack, and run in f64.
describe("deep graphs give the right gradients", () => {
  const relativeError = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

  it("x ↦ a·x + b repeated k = 1,500 times: loss = aᵏx + b(aᵏ − 1)/(a − 1), ∂loss/∂x = aᵏ", async () => {
    const [a, b, k, x] = [1.0001, 0.001, 1_500, 0.7];
    const trainer = (await loadGenerated(affineChain(gradgen, k, a, b), 1)).createTrainer();
    const loss = trainer.gradient({ x: new Float64Array([x]) });
    // 1,500 rounded steps against closed forms: the rounding errors add up to about k·2⁻⁵³ relative.
    expect(relativeError(loss, a ** k * x + (b * (a ** k - 1)) / (a - 1))).toBeLessThan(1e-11);
    expect(relativeError(trainer.inputGrads.x![0]!, a ** k)).toBeLessThan(1e-11);
  }, 120_000);

  it("3,000 alternating sin and tanh: ∂loss/∂w by the chain rule and by central differences", async () => {
    const [ops, w, x] = [3_000, 0.5, 1.3];
    const trainer = (await loadGenerated(sinTanhChain(gradgen, ops), 1)).createTrainer({ params: { w: [w] } });
    const batch = { x: new Float64Array([x]) };
    trainer.gradient(batch);
    const gradient = trainer.grads.w![0]!;
    // The chain rule written out: d(sin h) = cos h·dh, d(tanh h) = (1 − tanh² h)·dh, starting from d(w·x)/dw = x.
    let h = w * x;
    let derivative = x;
    for (let i = 0; i < ops; i++) {
      if (i % 2 === 0) {
        derivative *= Math.cos(h);
        h = Math.sin(h);
      } else {
        h = Math.tanh(h);
        derivative *= 1 - h * h;
      }
    }
    expect(relativeError(gradient, derivative)).toBeLessThan(1e-10);
    const step = 1e-5;
    const lossAt = (value: number) => {
      trainer.params.w!.set([value]);
      return trainer.loss(batch);
    };
    const centralDifference = (lossAt(w + step) - lossAt(w - step)) / (2 * step);
    expect(relativeError(gradient, centralDifference)).toBeLessThan(1e-6);
  }, 120_000);

  it("(x + Σ of 3,000 parameters)²: ∂loss/∂pᵢ = 2·(x + Σp) for every i", async () => {
    const [count, x] = [3_000, 0.25];
    const trainer = (await loadGenerated(parameterSum(gradgen, count), 1)).createTrainer();
    let sum = x;
    for (let i = 0; i < count; i++) sum += trainer.params[`p${i}`]![0]!;
    const loss = trainer.gradient({ x: new Float64Array([x]) });
    expect(relativeError(loss, sum * sum)).toBeLessThan(1e-12);
    for (let i = 0; i < count; i++) expect(relativeError(trainer.grads[`p${i}`]![0]!, 2 * sum)).toBeLessThan(1e-12);
  }, 120_000);
});

describe("long axes", () => {
  it("the reference interpreter takes the max over 300,000 elements (more than a call's arguments can hold)", () => {
    const count = 300_000;
    const values = Float64Array.from({ length: count }, (_, i) => Math.sin(i));
    let largest = -Infinity;
    for (const value of values) if (value > largest) largest = value;
    const x = makeNode(Op.Param, [], { name: "long", shape: [count] });
    const [max] = evaluate([ir.max(x)], new Map([[x, values]]));
    expect(max![0]).toBe(largest);
  });
});
