// The WGSL plan as data, without a GPU: which products take the elementwise loop after them into
// their epilogue, which fills a loop absorbs, and how a step's tasks group into dispatches.
import { describe, expect, it } from "vitest";
import xor from "../../../examples/xor.js";
import mlp from "../../../examples/mlp.js";
import mnist from "../../../examples/mnist.js";
import { describeWgslPlan, planWgsl, printShaders, summarizeDispatches } from "../../../src/emit/wgsl/index.js";
import { compile } from "../../../src/compile.js";
import { programOf } from "../../wgsl/support.js";

const xorPlan = planWgsl(programOf(xor, { batch: 4, learningRate: 2 }));
const mlpPlan = planWgsl(programOf(mlp, { batch: 64, learningRate: 0.05 }));
const mnistPlan = planWgsl(programOf(mnist, { batch: 64 }));

describe("the WGSL plan of xor (batch 4)", () => {
  it("a step is 9 dispatches: the forward products with bias + sigmoid in their epilogues, one for the updates", () => {
    expect(xorPlan.sequences.step).toHaveLength(9);
    expect(printShaders(xorPlan).dispatches.step).toHaveLength(9);
  });

  it("prints as data", () => {
    expect(describeWgslPlan(xorPlan, ["step"])).toMatchInlineSnapshot(`
      "wgsl plan of xor: 4 storage chunk(s) of [12, 20, 20, 88] f32
      epilogue fusions:
        loss: kernel 0 → 1 (sigmoid [4] per example  (examples/xor.ts:11))
        gradient: kernel 0 → 1 (sigmoid [4] per example  (examples/xor.ts:11))
        gradient: kernel 2 → 3 (sigmoid [1] per example  (examples/xor.ts:12))
        gradient: kernel 12 → 13 (mul [4] per example  (examples/xor.ts:11))
        predict: kernel 0 → 1 (sigmoid [4] per example  (examples/xor.ts:11))
        predict: kernel 2 → 3 (sigmoid [1] per example  (examples/xor.ts:12))
      step: 9 dispatch(es)
        dispatch 0: 1 workgroup(s) at n = 4
          gemm "matmul [1, 4] per example  (examples/xor.ts:11)": tile 8×8; 1 workgroups (fewer than 264: a small product (32 multiply-adds at batch 4, under 1048576): one 8×8 tile per workgroup, k not split); epilogue sigmoid [4] per example  (examples/xor.ts:11), C not stored
        dispatch 1: 1 workgroup(s) at n = 4
          gemm "matmul [1, 1] per example  (examples/xor.ts:12)": tile 8×8; 1 workgroups (fewer than 264: a small product (16 multiply-adds at batch 4, under 1048576): one 8×8 tile per workgroup, k not split); epilogue sigmoid [1] per example  (examples/xor.ts:12), C not stored, f32 only
        dispatch 2: 1 workgroup(s) at n = 4
          loop "sub [1] per example  (examples/xor.ts:13)": parallel dims [0], f32 only
        dispatch 3: 1 workgroup(s) at n = 4
          loop "sum [] per example  (examples/xor.ts:13)": parallel dims [0], f32 only
        dispatch 4: 1 workgroup(s) at n = 4
          one workgroup runs:
            loop "batchSum []": parallel dims []; tree over a workgroup; absorbs fill work4, f32 only
            local "div [] (local s0)", f32 only
            local "mul [] (local s1)", f32 only
            local "mul []  (examples/xor.ts:13) (local s2)", f32 only
        dispatch 5: 1 workgroup(s) at n = 4
          loop "mul [1] per example  (examples/xor.ts:12)": parallel dims [0], f32 only
        dispatch 6: 1 workgroup(s) at n = 4
          gemm "matmul [1, 4] per example  (examples/xor.ts:12)": tile 8×8; 1 workgroups (fewer than 264: a small product (16 multiply-adds at batch 4, under 1048576): one 8×8 tile per workgroup, k not split); epilogue mul [4] per example  (examples/xor.ts:11), C not stored, f32 only
        dispatch 7: 1 + 4 + 1 + 1 workgroup(s) at n = 4
          gemm "batchSum [2, 4]  (examples/xor.ts:11): Σ over examples of matmul [2, 4] per example  (examples/xor.ts:11)": tile 8×8; 1 workgroups (fewer than 264: a small product (32 multiply-adds at batch 4, under 1048576): one 8×8 tile per workgroup, k not split), f32 only
          loop "batchSum [4]  (examples/xor.ts:11)": parallel dims [1]; tree over a workgroup; absorbs fill grad_b1, f32 only
          gemm "batchSum [4, 1]  (examples/xor.ts:12): Σ over examples of matmul [4, 1] per example  (examples/xor.ts:12)": tile 8×8; 1 workgroups (fewer than 264: a small product (16 multiply-adds at batch 4, under 1048576): one 8×8 tile per workgroup, k not split), f32 only
          one workgroup runs:
            loop "batchSum [1]  (examples/xor.ts:12)": parallel dims []; tree over a workgroup; absorbs fill grad_b2, f32 only
            result "the loss gradient returns", f32 only
        dispatch 8: 1 + 1 + 1 + 1 workgroup(s) at n = 4
          loop "sgd: W1": parallel dims [0], f32 only
          loop "sgd: b1": parallel dims [0], f32 only
          loop "sgd: W2": parallel dims [0], f32 only
          loop "sgd: b2": parallel dims [], f32 only"
    `);
  });
});

describe("the WGSL plan of the MNIST MLP (examples/mlp.ts, batch 64)", () => {
  it("a step is 10 dispatches", () => {
    expect(mlpPlan.sequences.step).toHaveLength(10);
    expect(printShaders(mlpPlan).dispatches.step).toHaveLength(10);
  });

  it("prints as data", () => {
    expect(describeWgslPlan(mlpPlan, ["step"])).toMatchInlineSnapshot(`
      "wgsl plan of mlp: 4 storage chunk(s) of [50816, 101772, 101772, 248092] f32
      epilogue fusions:
        gradient: kernel 1 → 2 (maximum [128] per example  (examples/mlp.ts:11))
        gradient: kernel 3 → 4 (add [10] per example  (examples/mlp.ts:12))
        gradient: kernel 12 → 13 (mul [128] per example  (examples/mlp.ts:11))
        predict: kernel 1 → 2 (maximum [128] per example  (examples/mlp.ts:11))
        predict: kernel 3 → 4 (add [10] per example  (examples/mlp.ts:12))
      step: 10 dispatch(es)
        dispatch 0: 448 workgroup(s) at n = 64
          gemm "matmul [1, 128] per example  (examples/mlp.ts:11)": tile 16×8; split-K 7 × 128, partial sums stored; 448 workgroups
        dispatch 1: 128 workgroup(s) at n = 64
          splitSum "matmul [1, 128] per example  (examples/mlp.ts:11)": epilogue maximum [128] per example  (examples/mlp.ts:11), C not stored
        dispatch 2: 2 workgroup(s) at n = 64
          gemm "matmul [1, 10] per example  (examples/mlp.ts:12)": tile 32×16; 2 workgroups (fewer than 264: a small product (81920 multiply-adds at batch 64, under 1048576): one 32×16 tile per workgroup, k not split); epilogue add [10] per example  (examples/mlp.ts:12), C not stored, f32 only
        dispatch 3: 1 workgroup(s) at n = 64
          loop "logSumExp [] per example  (examples/mlp.ts:13)": parallel dims [0], f32 only
        dispatch 4: 1 workgroup(s) at n = 64
          loop "sum [] per example  (examples/mlp.ts:13)": parallel dims [0], f32 only
        dispatch 5: 1 workgroup(s) at n = 64
          one workgroup runs:
            loop "batchSum []": parallel dims []; tree over a workgroup; absorbs fill work5, f32 only
            local "div [] (local s0)", f32 only
            local "mul [] (local s1)", f32 only
        dispatch 6: 10 workgroup(s) at n = 64
          loop "mul [10] per example  (examples/mlp.ts:13)": parallel dims [0, 1], f32 only
        dispatch 7: 8 workgroup(s) at n = 64
          gemm "matmul [1, 128] per example  (examples/mlp.ts:12)": tile 32×32; 8 workgroups (fewer than 264: a small product (81920 multiply-adds at batch 64, under 1048576): one 32×32 tile per workgroup, k not split); epilogue mul [128] per example  (examples/mlp.ts:11), C not stored, f32 only
        dispatch 8: 392 + 128 + 4 + 10 + 1 workgroup(s) at n = 64
          gemm "batchSum [784, 128]  (examples/mlp.ts:11): Σ over examples of matmul [784, 128] per example  (examples/mlp.ts:11)": tile 16×16; 392 workgroups, f32 only
          loop "batchSum [128]  (examples/mlp.ts:11)": parallel dims [1]; tree over a workgroup; absorbs fill grad_b1, f32 only
          gemm "batchSum [128, 10]  (examples/mlp.ts:12): Σ over examples of matmul [128, 10] per example  (examples/mlp.ts:12)": tile 32×16; 4 workgroups (fewer than 264: a small product (81920 multiply-adds at batch 64, under 1048576): one 32×16 tile per workgroup, k not split), f32 only
          loop "batchSum [10]  (examples/mlp.ts:12)": parallel dims [1]; tree over a workgroup; absorbs fill grad_b2, f32 only
          result "the loss gradient returns", f32 only
        dispatch 9: 1568 + 2 + 20 + 1 workgroup(s) at n = 64
          loop "sgd: W1": parallel dims [0], f32 only
          loop "sgd: b1": parallel dims [0], f32 only
          loop "sgd: W2": parallel dims [0], f32 only
          loop "sgd: b2": parallel dims [0], f32 only"
    `);
  });
});

describe("the WGSL plan of examples/mnist.ts (batch 64, dropout)", () => {
  it("a step is 12 dispatches: the dropout masks and their counter come first", () => {
    expect(mnistPlan.sequences.step).toHaveLength(12);
  });

  it("prints as data", () => {
    expect(describeWgslPlan(mnistPlan, ["step"])).toMatchInlineSnapshot(`
      "wgsl plan of mnist: 5 storage chunk(s) of [50816, 101772, 101772, 211744, 313648] f32
      epilogue fusions:
        gradient: kernel 1 → 2 (maximum [128] per example  (examples/mnist.ts:15))
        gradient: kernel 4 → 5 (add [10] per example  (examples/mnist.ts:16))
        gradient: kernel 13 → 14 (mul [128] per example  (examples/mnist.ts:15))
        predict: kernel 1 → 2 (maximum [128] per example  (examples/mnist.ts:15))
        predict: kernel 3 → 4 (add [10] per example  (examples/mnist.ts:16))
      step: 12 dispatch(es)
        dispatch 0: 128 workgroup(s) at n = 64
          mask "dropout mask mask_dropout0 (p = 0.2)", f32 only
        dispatch 1: 1 + 448 workgroup(s) at n = 64
          countMasks "count the masks drawn", f32 only
          gemm "matmul [1, 128] per example  (examples/mnist.ts:15)": tile 16×8; split-K 7 × 128, partial sums stored; 448 workgroups
        dispatch 2: 128 workgroup(s) at n = 64
          splitSum "matmul [1, 128] per example  (examples/mnist.ts:15)": epilogue maximum [128] per example  (examples/mnist.ts:15), C not stored
        dispatch 3: 128 workgroup(s) at n = 64
          loop "mul [128] per example  (examples/mnist.ts:15)": parallel dims [0]
        dispatch 4: 2 workgroup(s) at n = 64
          gemm "matmul [1, 10] per example  (examples/mnist.ts:16)": tile 32×16; 2 workgroups (fewer than 264: a small product (81920 multiply-adds at batch 64, under 1048576): one 32×16 tile per workgroup, k not split); epilogue add [10] per example  (examples/mnist.ts:16), C not stored, f32 only
        dispatch 5: 1 workgroup(s) at n = 64
          loop "logSumExp [] per example  (examples/mnist.ts:17)": parallel dims [0], f32 only
        dispatch 6: 1 workgroup(s) at n = 64
          loop "sum [] per example  (examples/mnist.ts:17)": parallel dims [0], f32 only
        dispatch 7: 1 workgroup(s) at n = 64
          one workgroup runs:
            loop "batchSum []": parallel dims []; tree over a workgroup; absorbs fill work6, f32 only
            local "div [] (local s0)", f32 only
            local "mul [] (local s1)", f32 only
        dispatch 8: 10 workgroup(s) at n = 64
          loop "mul [10] per example  (examples/mnist.ts:17)": parallel dims [0, 1], f32 only
        dispatch 9: 8 workgroup(s) at n = 64
          gemm "matmul [1, 128] per example  (examples/mnist.ts:16)": tile 32×32; 8 workgroups (fewer than 264: a small product (81920 multiply-adds at batch 64, under 1048576): one 32×32 tile per workgroup, k not split); epilogue mul [128] per example  (examples/mnist.ts:15), C not stored, f32 only
        dispatch 10: 392 + 128 + 4 + 10 + 1 workgroup(s) at n = 64
          gemm "batchSum [784, 128]  (examples/mnist.ts:15): Σ over examples of matmul [784, 128] per example  (examples/mnist.ts:15)": tile 16×16; 392 workgroups, f32 only
          loop "batchSum [128]  (examples/mnist.ts:15)": parallel dims [1]; tree over a workgroup; absorbs fill grad_b1, f32 only
          gemm "batchSum [128, 10]  (examples/mnist.ts:16): Σ over examples of matmul [128, 10] per example  (examples/mnist.ts:16)": tile 32×16; 4 workgroups (fewer than 264: a small product (81920 multiply-adds at batch 64, under 1048576): one 32×16 tile per workgroup, k not split), f32 only
          loop "batchSum [10]  (examples/mnist.ts:16)": parallel dims [1]; tree over a workgroup; absorbs fill grad_b2, f32 only
          one invocation runs:
            result "the loss gradient returns", f32 only
            loop "β₁ᵗ, β₂ᵗ": parallel dims [], f32 only
            local "bias correction 1 − beta1Power (local correction1)", f32 only
            local "bias correction 1 − beta2Power (local correction2)", f32 only
        dispatch 11: 1568 + 2 + 20 + 1 workgroup(s) at n = 64
          loop "adam: W1": parallel dims [0], f32 only
          loop "adam: b1": parallel dims [0], f32 only
          loop "adam: W2": parallel dims [0], f32 only
          loop "adam: b2": parallel dims [0], f32 only"
    `);
  });
});

describe("the plan decides, the printer follows", () => {
  it("every dispatch's shader binds exactly the chunks its tasks' reads and writes name", () => {
    const { shaders, dispatches } = printShaders(mnistPlan);
    mnistPlan.sequences.step.forEach((phase, d) => {
      const code = shaders[dispatches.step[d]!.shader]!;
      const named = new Set(
        phase
          .flat()
          .flatMap((t) => [...t.reads, ...t.writes])
          .filter((r) => r !== "control"),
      );
      for (const region of named)
        expect(code, region).toMatch(
          new RegExp(`\\bconst ${region} = ${mnistPlan.layout.regions.get(region)!.offset}u;`),
        );
    });
  });

  it("a step without fusion has more dispatches (fusion is a decision of the plan)", () => {
    const unfused = planWgsl(programOf(mnist, { batch: 64 }), { fuseEpilogues: false });
    expect([...unfused.fusions.values()].every((f) => f.size === 0)).toBe(true);
    expect(unfused.sequences.step.length).toBeGreaterThan(10);
  });
});

describe("the dispatch summary (what bench/wgsl.mjs names and counts FLOPs by)", () => {
  const summary = summarizeDispatches(mlpPlan, printShaders(mlpPlan).dispatches);

  it("a 784-128-10 step's products are the textbook five at batch B = 64, each 2·m·n·k FLOPs", () => {
    const B = 64;
    const products = summary.step.flatMap((d) => d.products);
    // Forward X·W1 (B×128 over 784) and H·W2 (B×10 over 128); backward δ2·W2ᵀ (B×128 over 10);
    // weight gradients Xᵀ·δ1 (784×128 over B) and Hᵀ·δ2 (128×10 over B). No input gradient.
    expect(products.map((p) => [p.repeat, p.m, p.n, p.k]).sort()).toEqual(
      [
        [1, B, 128, 784],
        [1, B, 10, 128],
        [1, B, 128, 10],
        [1, 784, 128, B],
        [1, 128, 10, B],
      ].sort(),
    );
    for (const p of products) expect(p.flops).toBe(2 * p.repeat * p.m * p.n * p.k);
    expect(products.reduce((sum, p) => sum + p.flops, 0)).toBe(2 * B * (2 * 784 * 128 + 3 * 128 * 10));
    expect(products.map((p) => p.name)).toContain("matmul [1, 10] per example (mlp.ts:12)"); // file:line, no folders
    // X·W1 reads the input and parameter chunks, which its shader does not write: both operands vec4.
    expect(products.find((p) => p.k === 784)!.vec4).toEqual({ a: true, b: true });
    // H·W2: H is in the work chunk that the same shader writes (the logits): H scalar; W2's rows of 10: scalar.
    expect(products.find((p) => p.n === 10 && p.k === 128)!.vec4).toEqual({ a: false, b: false });
  });

  it("one entry per dispatch, in order, with the shader the module dispatches and its workgroups", () => {
    const printed = printShaders(mlpPlan).dispatches;
    for (const name of ["step", "loss", "predict"] as const) {
      expect(summary[name].map((d) => d.shader)).toEqual(printed[name].map((d) => d.shader));
    }
    // describeWgslPlan prints the same workgroups per dispatch ("392 + 128 + 4 + 10 + 1 workgroup(s)").
    const described = [...describeWgslPlan(mlpPlan, ["step"]).matchAll(/dispatch \d+: ([\d + ]+) workgroup/g)].map(
      ([, groups]) => groups!.split(" + ").reduce((sum, g) => sum + Number(g), 0),
    );
    expect(summary.step.map((d) => d.workgroups)).toEqual(described);
    // A split-K product's partial sums are added by the next dispatch.
    const split = summary.step.findIndex((d) => d.products.some((p) => p.split > 1));
    expect(split).toBeGreaterThanOrEqual(0);
    expect(summary.step[split + 1]!.tasks[0]).toMatch(/^splitSum /);
  });

  it("compile() hands the summary back with the WGSL file", () => {
    const { files } = compile(mlp, { batch: 64, learningRate: 0.05, targets: ["wgsl"] });
    expect(files[0]!.dispatches!.step.map((d) => d.products.map((p) => p.flops))).toEqual(
      summary.step.map((d) => d.products.map((p) => p.flops)),
    );
  });
});
