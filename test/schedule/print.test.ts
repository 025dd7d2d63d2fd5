// The lowered program as text (src/schedule/print.ts), snapshotted for small programs as jax-js
// snapshots its jaxprs, and the model lines backward kernels carry.

import { describe, expect, it } from "vitest";
import { model, nn } from "gradgen";
import xor from "../../examples/xor.ts";
import { programOf } from "../wgsl/support.js";
import { printProgram } from "../../src/schedule/print.js";
import type { Program } from "../../src/schedule/program.js";

/** Model lines written as `(line)`, so editing this file above a model does not churn the snapshots. */
const withoutPaths = (text: string) => text.replace(/\(\S+:(\d+)\)/g, "(line $1)");

const entry = (program: Program, name: string) => {
  const text = printProgram(program);
  const start = text.indexOf(`\nentry ${name}`);
  const end = text.indexOf("\nentry ", start + 1);
  return withoutPaths(text.slice(start + 1, end < 0 ? undefined : end));
};

describe("printProgram", () => {
  it("a bias and an activation after a matrix product: one GEMM, then one fused loop", () => {
    const layer = model("layer", ({ input, param }) => {
      const x = input("x", [3]);
      const W = param("W", [3, 2]);
      const b = param("b", [2]);
      return { loss: nn.tanh(x.matmul(W).add(b)).sum() };
    });
    expect(entry(programOf(layer, { batch: 4 }), "loss")).toMatchInlineSnapshot(`
      "entry loss (reads x)
        gemm rows matmul [1, 2] per example  (line 27)
          m = n, n = 2, k = 3
          work0[0 + 2·row + 1·col] = input_x[0 + 3·row + 1·col] · param_W[0 + 2·row + 1·col]
        loop sum [] per example  (line 27)
          for i0 < n, i1 < 2, sum over the innermost 1 (1 written out)
            v0 = work0[2·i0 + i1]
            v1 = param_b[i1]
            v2 = add(v0, v1)
            v3 = tanh(v2)
          work1[i0] = v3
        fill work0[0 … 1] = 0
        loop batchSum []
          for i0 < n
            v0 = work1[i0]
          work0[0] += v0
        local s0 div []
            v0 = 1
            v1 = n
            v2 = div(v0, v1)
          s0 = v2
        local s1 mul []
            v0 = work0[0]
            v1 = s0
            v2 = mul(v0, v1)
          s1 = v2
        return s1"
    `);
  });

  it("a sum over a short batch: the extents scale with n, the run-time example count", () => {
    const total = model("total", ({ input }) => {
      const x = input("x", [5]);
      return { loss: x.sum(), outputs: { s: x.sum() } };
    });
    const program = programOf(total, { batch: 3 });
    expect(withoutPaths(printProgram(program))).toMatchInlineSnapshot(`
      "program total: batch 3, f32, sgd (learningRate 0.1, weightDecay 0)
      buffers (12 elements at batch 3)
        output_s: output, 1·n at 0
        work0: work, 3 at 4
        work1: work, 1 at 8
      entry loss (reads x)
        local s0 div []
            v0 = 1
            v1 = n
            v2 = div(v0, v1)
          s0 = v2
        loop sum [] per example  (line 63)
          for i0 < n, i1 < 5, sum over the innermost 1 (1 written out)
            v0 = input_x[5·i0 + i1]
          work0[i0] = v0
        fill work1[0 … 1] = 0
        loop batchSum []
          for i0 < n
            v0 = work0[i0]
          work1[0] += v0
        local s1 mul []
            v0 = s0
            v1 = work1[0]
            v2 = mul(v0, v1)
          s1 = v2
        return s1
      entry gradient (reads x)
        local s0 div []
            v0 = 1
            v1 = n
            v2 = div(v0, v1)
          s0 = v2
        loop sum [] per example  (line 63)
          for i0 < n, i1 < 5, sum over the innermost 1 (1 written out)
            v0 = input_x[5·i0 + i1]
          work0[i0] = v0
        fill work1[0 … 1] = 0
        loop batchSum []
          for i0 < n
            v0 = work0[i0]
          work1[0] += v0
        local s1 mul []
            v0 = s0
            v1 = work1[0]
            v2 = mul(v0, v1)
          s1 = v2
        return s1
      entry predict (reads x)
        loop sum [] per example  (line 63)
          for i0 < n, i1 < 5, sum over the innermost 1 (1 written out)
            v0 = input_x[5·i0 + i1]
          output_s[i0] = v0
      entry update"
    `);
  });

  it("xor: buffers with their arena offsets and the loss entry point", () => {
    const text = printProgram(programOf(xor, { batch: 4, learningRate: 2 }));
    expect(withoutPaths(text.slice(0, text.indexOf("\nentry gradient")))).toMatchInlineSnapshot(`
      "program xor: batch 4, f32, sgd (learningRate 2, weightDecay 0)
      buffers (100 elements at batch 4)
        param_W1: param, 8 at 0
        param_b1: param, 4 at 8
        param_W2: param, 4 at 12
        param_b2: param, 1 at 16
        grad_W1: grad, 8 at 20
        grad_b1: grad, 4 at 28
        grad_W2: grad, 4 at 32
        grad_b2: grad, 1 at 36
        output_y: output, 1·n at 40
        work0: work, 16 at 44
        work1: work, 16 at 60
        work2: work, 16 at 76
        work3: work, 4 at 92
        work4: work, 1 at 96
      entry loss (reads x, t)
        gemm rows matmul [1, 4] per example  (line 11)
          m = n, n = 4, k = 2
          work0[0 + 4·row + 1·col] = input_x[0 + 2·row + 1·col] · param_W1[0 + 4·row + 1·col]
        loop sigmoid [4] per example  (line 11)
          for i0 < n, i1 < 4 (1 written out)
            v0 = param_b1[i1]
            v1 = work0[4·i0 + i1]
            v2 = add(v0, v1)
            v3 = sigmoid(v2)
          work1[4·i0 + i1] = v3
        gemm rows matmul [1, 1] per example  (line 12)
          m = n, n = 1, k = 4
          work0[0 + 1·row + 1·col] = work1[0 + 4·row + 1·col] · param_W2[0 + 1·row + 1·col]
        loop sum [] per example  (line 13)
          for i0 < n, sum over the innermost 0
            v0 = work0[i0]
            v1 = param_b2[0]
            v2 = add(v0, v1)
            v3 = sigmoid(v2)
            v4 = input_t[i0]
            v5 = sub(v3, v4)
            v6 = powConst[2](v5)
          work1[i0] = v6
        fill work0[0 … 1] = 0
        loop batchSum []
          for i0 < n
            v0 = 0.5
            v1 = work1[i0]
            v2 = mul(v0, v1)
          work0[0] += v2
        local s0 div []
            v0 = 1
            v1 = n
            v2 = div(v0, v1)
          s0 = v2
        local s1 mul []
            v0 = work0[0]
            v1 = s0
            v2 = mul(v0, v1)
          s1 = v2
        return s1"
    `);
  });

  it("lists every buffer once, in the arena one after another on 16-byte boundaries", () => {
    const program = programOf(xor, { batch: 4, learningRate: 2 });
    const lines = printProgram(program)
      .split("\n")
      .filter((line) => /^ {2}\S+: \w+, /.test(line));
    let end = 0;
    for (const line of lines) {
      const [, size, perExample, offset] = /, (\d+)(·n)? at (\d+)$/.exec(line)!.map((v) => v);
      expect(Number(offset)).toBe(end);
      const elements = Number(size) * (perExample ? program.batch : 1);
      end = Number(offset) + Math.ceil(Math.max(1, elements) / 4) * 4; // f32: 4 elements = 16 bytes
    }
    expect(lines).toHaveLength(program.buffers.length);
    expect(printProgram(program)).toContain(`buffers (${end} elements at batch 4)`);
  });
});

describe("provenance of backward kernels", () => {
  it("every kernel of xor's gradient names a line of the model, except the compiler's batch mean", () => {
    const program = programOf(xor, { batch: 4, learningRate: 2 });
    const gradient = program.entryPoints.find((e) => e.name === "gradient")!;
    const comments = gradient.kernels.flatMap((kernel) => (kernel.kind === "fill" ? [] : [kernel.comment]));
    // The mean over the examples (Σₙ, ·1/n) is the compiler's, not a line of the model.
    const unnamed = comments.filter((comment) => !/\(\S*examples\/xor\.ts:1[123]\)/.test(comment));
    expect(unnamed.every((comment) => /^(batchSum|mul|div) \[\]/.test(comment))).toBe(true);
    expect(comments.length - unnamed.length).toBeGreaterThanOrEqual(14);
  });
});
