// The WGSL plan's kernels, without a GPU, for the four models of bench/peers.mjs: every matrix
// product launches enough workgroups to fill a large GPU (or the plan says why it cannot), no
// invocation adds more than 256 elements of a reduction one after another, and no shader binds a
// storage buffer read_write that it only reads.
import { describe, expect, it } from "vitest";
import xor from "../../../examples/xor.js";
import mlp from "../../../examples/mlp.js";
import small from "../../../bench/models/small.js";
import wide from "../../../bench/models/wide.js";
import { planWgsl, printShaders, type WgslPlan } from "../../../src/emit/wgsl/index.js";
import { sequenceNames } from "../../../src/emit/wgsl/plan.js";
import { workgroupsOf, type Phase } from "../../../src/emit/wgsl/phases.js";
import { alignedForVec4 } from "../../../src/emit/wgsl/tiling.js";
import { vec4Binding, vec4Loads } from "../../../src/emit/wgsl/shaders.js";
import type { Task } from "../../../src/emit/wgsl/tasks.js";
import type { Extent } from "../../../src/schedule/program.js";
import { programOf } from "../../wgsl/support.js";

const peers = { xor, small, mnist: mlp, wide } as const;
const batches = [64, 128, 1024];
const plans: [string, number, WgslPlan][] = Object.entries(peers).flatMap(([name, definition]) =>
  batches.map((batch) => [name, batch, planWgsl(programOf(definition, { batch }))] as [string, number, WgslPlan]),
);
const at = (e: Extent, batch: number) => e.factor * (e.perExample ? batch : 1);
const tasksOf = (plan: WgslPlan): Task[] => sequenceNames.flatMap((name) => plan.sequences[name].flat(2));

/** Each dispatch of every sequence: its phase, its shader's index and code, and the chunks its tasks write. */
function forEachDispatch(
  plan: WgslPlan,
  shaders: readonly string[],
  dispatches: ReturnType<typeof printShaders>["dispatches"],
  visit: (at: { name: string; d: number; phase: Phase; shader: number; code: string; written: Set<number> }) => void,
): void {
  for (const name of sequenceNames)
    plan.sequences[name].forEach((phase, d) => {
      const shader = dispatches[name][d]!.shader;
      const written = new Set(
        phase
          .flat()
          .flatMap((t) => [...t.writes].filter((w) => w !== "control").map((w) => plan.layout.regions.get(w)!.chunk)),
      );
      visit({ name, d, phase, shader, code: shaders[shader]!, written });
    });
}

describe("matrix products fill a large GPU (≥ 264 workgroups) at batch ≥ 64, or the plan says why not", () => {
  it.each(plans.map(([name, batch, plan]) => [`${name}, batch ${batch}`, batch, plan] as const))(
    "%s",
    (_, batch, plan) => {
      const products = tasksOf(plan).filter((t) => t.work.kind === "gemm");
      expect(products.length).toBeGreaterThan(0);
      for (const task of products) {
        if (task.work.kind !== "gemm") continue;
        const { kernel, tiling } = task.work;
        const [m, n, k] = [at(kernel.m, batch), at(kernel.n, batch), at(kernel.k, batch)];
        const repeat = kernel.repeat ? at(kernel.repeat.count, batch) : 1;
        // Workgroups from the definition: one per tile of C and part of k; the host launches as many.
        const workgroups = repeat * Math.ceil(m / tiling.rows) * Math.ceil(n / tiling.columns) * tiling.split;
        expect(workgroupsOf(task.count, batch), task.comment).toBe(workgroups);
        expect(tiling.workgroups).toBe(workgroups);
        // The parts of k cover it exactly once.
        expect((tiling.split - 1) * tiling.kChunk, task.comment).toBeLessThan(k);
        expect(tiling.split * tiling.kChunk, task.comment).toBeGreaterThanOrEqual(k);
        if (workgroups < 264) expect(tiling.short, task.comment).toMatch(/small product|splits into at most/);
        else expect(tiling.short).toBeUndefined();
        // Short only where the product is small (under 2²⁰ multiply-adds), or where even 8×8 tiles with k
        // split in parts of 128 are fewer than 264.
        const most = repeat * Math.ceil(m / 8) * Math.ceil(n / 8) * Math.max(1, Math.floor(k / 128));
        if (workgroups < 264) expect(repeat * m * n * k < 1 << 20 || most < 264, task.comment).toBe(true);
      }
    },
  );

  it("the wide model's products at batch 128 all reach 264 workgroups but its last layer's (10 outputs)", () => {
    const plan = plans.find(([name, batch]) => name === "wide" && batch === 128)![2];
    const gemms = plan.sequences.step.flat(2).flatMap((t) => (t.work.kind === "gemm" ? [t.work] : []));
    const short = gemms.filter((g) => g.tiling.workgroups < 264).map((g) => [g.kernel.m, g.kernel.n, g.kernel.k]);
    for (const extents of short) expect(extents.some((e) => !e.perExample && e.factor === 10)).toBe(true);
    expect(gemms.length - short.length).toBeGreaterThanOrEqual(4);
  });
});

describe("no invocation adds more than 256 elements of a reduction one after another", () => {
  it.each(plans.map(([name, batch, plan]) => [`${name}, batch ${batch}`, batch, plan] as const))(
    "%s",
    (_, batch, plan) => {
      for (const task of tasksOf(plan)) {
        if (task.work.kind !== "loop") continue;
        const { kernel, parallelDims, tree } = task.work;
        // Serial iterations: every dim not run in parallel (the outer ones left, the reduced ones).
        const outer = kernel.dims.length - (kernel.reduction?.dims ?? 0);
        const serial = kernel.dims.reduce(
          (p, e, d) => (d >= outer || !parallelDims.includes(d) ? p * at(e, batch) : p),
          1,
        );
        const perInvocation = tree ? Math.ceil(serial / 64) : serial;
        expect(perInvocation, `${task.comment} (${serial} serial${tree ? ", tree" : ""})`).toBeLessThanOrEqual(256);
      }
      // The mean loss and the bias gradients are trees over a workgroup.
      const sums = tasksOf(plan).filter((t) => t.work.kind === "loop" && t.work.kernel.comment.startsWith("batchSum"));
      expect(sums.length).toBeGreaterThan(0);
      for (const t of sums) expect(t.work.kind === "loop" && t.work.tree, t.comment).toBe(true);
    },
  );
});

describe("storage buffers a shader only reads are bound read-only", () => {
  it.each(plans.map(([name, batch, plan]) => [`${name}, batch ${batch}`, plan] as const))("%s", (_, plan) => {
    const { shaders, dispatches, bindings } = printShaders(plan);
    let readOnly = 0;
    forEachDispatch(plan, shaders, dispatches, ({ name, d, shader, code, written }) => {
      for (const [, binding, access, chunk] of code.matchAll(
        /@binding\((\d+)\) var<storage, (read|read_write)> c(\d+)/g,
      )) {
        expect(access, `${name} dispatch ${d}: chunk ${chunk}`).toBe(
          written.has(Number(chunk)) ? "read_write" : "read",
        );
        // The host's bind-group layout types the binding as the shader declares it.
        const type = bindings[shader]!.find(([b]) => b === Number(binding))![1];
        expect(type).toBe(access === "read" ? "read-only-storage" : "storage");
        if (access === "read") readOnly++;
      }
    });
    expect(readOnly).toBeGreaterThan(0);
    // predict reads the parameters and inputs and writes only work buffers: those chunks are read-only.
    for (const d of dispatches.predict) expect(shaders[d.shader]).not.toMatch(/read_write> c[01]:/);
  });

  it("the WebAssembly product's staging copy of an input is not dispatched on the GPU", () => {
    for (const [, , plan] of plans)
      for (const task of tasksOf(plan)) expect(task.comment).not.toMatch(/copied for the matrix product/);
  });
});

describe("f16 shaders multiply f16 operands exactly and accumulate in f32 (mixed precision)", () => {
  // A product of two f16 values (11 significand bits each) is exact in f32 (24 bits): in f16
  // precision each product is f32(a)·f32(b), added to an f32 accumulator; partial sums (split-K,
  // trees in workgroup memory) are f32.
  const cases = [
    ["mnist, batch 16 (split-K)", planWgsl(programOf(mlp, { batch: 16 }))],
    ...plans
      .filter(([name, batch]) => batch === 64 && name !== "xor")
      .map(([name, b, plan]) => [`${name}, batch ${b}`, plan]),
  ] as [string, WgslPlan][];
  it.each(cases)("%s", (_, plan) => {
    const { shadersF16 } = printShaders(plan);
    const code = shadersF16.join("\n");
    const updates = [...code.matchAll(/\b(c\d+_\d+) = \1 \+ (.*);/g)];
    expect(updates.length).toBeGreaterThan(0);
    for (const [line, , sum] of updates) {
      // A product's step (tile operands a, b) or a split-K sum of f32 partials (c[k][l] read from storage).
      expect(line).toMatch(/^c(\d+)_(\d+) = c\1_\2 \+ (f32\(a\1\) \* f32\(b\2\)|a\1 \* b\2|c\d+\[.*\]);$/);
      expect(sum).not.toMatch(/f32\(a\d+ \* b\d+\)/);
    }
    expect(code).toMatch(/f32\(a\d+\) \* f32\(b\d+\)/); // some product computes in f16 mode
    for (const [declaration] of code.matchAll(/var c\d+_\d+ = [^;]*;/g)) expect(declaration).toMatch(/= 0\.0f;$/);
    for (const [array] of code.matchAll(/var<workgroup> \w+: array<\w+/g)) expect(array).toMatch(/array<f32$/);
    expect(code).toMatch(/var<workgroup> partials: array<f32/);
  });
});

describe("vec4 loads of a product's operand tiles: only where aligned, only from chunks a shader only reads", () => {
  const fixed = (factor: number): Extent => ({ factor, perExample: false });
  it("alignedForVec4: stride 1 along the load, other strides, offset and extent multiples of 4", () => {
    expect(alignedForVec4(1, 784, 0, 0, fixed(784))).toBe(true);
    expect(alignedForVec4(1, 784, 8, 128 * 784, fixed(128))).toBe(true);
    expect(alignedForVec4(1, 10, 0, 0, fixed(128))).toBe(false); // rows of 10: every other row starts mid-vec4
    expect(alignedForVec4(1, 128, 0, 0, fixed(10))).toBe(false); // a tile edge would cut a vec4
    expect(alignedForVec4(2, 128, 0, 0, fixed(128))).toBe(false); // not consecutive
    expect(alignedForVec4(-1, 128, 0, 0, fixed(128))).toBe(false);
    expect(alignedForVec4(1, 128, 2, 0, fixed(128))).toBe(false); // starts mid-vec4
    expect(alignedForVec4(1, 128, 0, 6, fixed(128))).toBe(false); // repeats start mid-vec4
    expect(alignedForVec4(1, 128, 0, 0, { factor: 4, perExample: true })).toBe(false); // n examples: not known to be whole vec4s
  });

  it("the 784-128-10 MLP at batch 64: vec4 where the operand's loaded direction has 784 or 128 elements, not 10", () => {
    const plan = plans.find(([name, batch]) => name === "mnist" && batch === 64)![2];
    const products = new Map<string, { a: boolean; b: boolean }>();
    for (const task of plan.sequences.step.flat(2)) {
      if (task.work.kind !== "gemm") continue;
      const { kernel, tiling } = task.work;
      products.set(`${at(kernel.m, 64)}×${at(kernel.n, 64)}×${at(kernel.k, 64)}`, tiling.vec4);
    }
    expect(products).toEqual(
      new Map([
        ["64×128×784", { a: true, b: true }], // X (along k = 784) · W1 (along its 128 columns)
        ["64×10×128", { a: true, b: false }], // H (along k = 128) · W2 (rows of 10)
        ["64×128×10", { a: false, b: false }], // δ2 (rows of 10) · W2ᵀ (along k = 10)
        ["784×128×64", { a: true, b: true }], // Xᵀ (along its 784 rows) · δ1 (along its 128 columns)
        ["128×10×64", { a: true, b: false }], // Hᵀ (along its 128 rows) · δ2 (rows of 10)
      ]),
    );
  });

  it.each(plans.map(([name, batch, plan]) => [`${name}, batch ${batch}`, plan] as const))(
    "%s: a shader's vec4 views are read-only bindings of chunks it does not write, within 8 storage buffers",
    (_, plan) => {
      const { shaders, dispatches, bindings } = printShaders(plan);
      let views = 0;
      forEachDispatch(plan, shaders, dispatches, ({ name, d, phase, shader, code, written }) => {
        const loads = vec4Loads(phase, plan.layout);
        for (const [task, operands] of loads) {
          if (task.work.kind !== "gemm") continue;
          const { kernel, tiling } = task.work;
          for (const side of ["a", "b"] as const) {
            const chunk = plan.layout.regions.get(kernel[side].buffer)!.chunk;
            if (operands[side]) expect(tiling.vec4[side] && !written.has(chunk), task.comment).toBe(true);
          }
        }
        for (const [, binding, chunk] of code.matchAll(
          /@binding\((\d+)\) var<storage, read> cv(\d+): array<vec4<f32>>/g,
        )) {
          views++;
          expect(written.has(Number(chunk)), `${name} dispatch ${d}: view of chunk ${chunk}`).toBe(false);
          expect(Number(binding)).toBe(vec4Binding(plan.layout, Number(chunk)));
          expect(bindings[shader]!.find(([b]) => b === Number(binding))![1]).toBe("read-only-storage");
        }
        expect([...code.matchAll(/var<storage/g)].length, `${name} dispatch ${d}`).toBeLessThanOrEqual(8);
      });
      // Each model's first product reads its inputs and parameters, which no forward shader writes.
      if (plan.modelName !== "xor") expect(views).toBeGreaterThan(0);
    },
  );
});
