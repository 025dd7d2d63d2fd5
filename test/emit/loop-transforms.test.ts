// The JavaScript emitter's loop reordering keeps every iteration's work: a bias + ReLU reading the
// product transposed, with its channel loop moved innermost (src/emit/loop-order.ts), stores the same
// value at the same element. Checked on the kernels the scheduler makes for a small convolution,
// iteration by iteration: the multiset of (stored element, elements read) is the same before and after.

import { describe, expect, it } from "vitest";
import { model, nn } from "gradgen";
import { programOf } from "../wgsl/support.js";
import type { Access, Kernel, LoopKernel } from "../../src/schedule/program.js";
import { withContiguousReads } from "../../src/emit/loop-order.js";

const conv = model("conv", ({ input, param }) => {
  const x = input("x", [2, 7, 7], { grad: true });
  const h = nn.relu(nn.conv2d(x, param("K", [3, 2, 3, 3], { init: "he" })).add(param("c", [3, 1, 1])));
  return { loss: h.square().sum() };
});

/** Every iteration's (stored element, elements read), as sorted strings, for n examples. */
function iterations(kernels: readonly LoopKernel[], n: number): string[] {
  const rows: string[] = [];
  for (const kernel of kernels) {
    const extents = kernel.dims.map((e) => e.factor * (e.perExample ? n : 1));
    const loads = kernel.values.flatMap((v) =>
      v.kind === "load" && v.access.storage.kind === "buffer" ? [v.access] : [],
    );
    const at = (a: Access, index: readonly number[]) =>
      `${(a.storage as { name: string }).name}[${index.reduce((sum, i, d) => sum + i * a.strides[d]!, a.offset)}]`;
    const index = extents.map(() => 0);
    for (;;) {
      rows.push(`${at(kernel.target, index)} ${kernel.mode} ${loads.map((a) => at(a, index)).join(" ")}`);
      let d = extents.length - 1;
      while (d >= 0 && ++index[d]! === extents[d]!) index[d--] = 0;
      if (d < 0) break;
    }
  }
  return rows.sort();
}

const gradient = () => programOf(conv, { batch: 4 }).entryPoints.find((e) => e.name === "gradient")!.kernels;
const loops = (kernels: readonly Kernel[]) => kernels.filter((k): k is LoopKernel => k.kind === "loop");

describe("the JavaScript emitter's loop order", () => {
  it("moves a bias + ReLU's channel loop innermost where it reads the product's rows contiguously, storing the same values", () => {
    const epilogue = loops(gradient()).find((k) => k.comment.startsWith("maximum [3, 5, 5]"))!;
    const reordered = withContiguousReads(epilogue);
    expect(reordered).not.toBe(epilogue);
    expect(reordered.dims.at(-1)!.factor).toBe(3); // the channels, written out as straight-line code
    expect(reordered.unrolled).toBe(1);
    const product = (k: LoopKernel) =>
      k.values.flatMap((v) =>
        v.kind === "load" && v.access.storage.kind === "buffer" && v.access.strides.at(-1) ? [v.access] : [],
      );
    expect(product(reordered).some((a) => a.strides.at(-1) === 1)).toBe(true);
    for (const n of [1, 3]) expect(iterations([reordered], n)).toEqual(iterations([epilogue], n));
  });

  it("leaves reductions and accumulations in their order", () => {
    for (const kernel of loops(gradient())) {
      if (kernel.reduction || kernel.mode === "add") expect(withContiguousReads(kernel)).toBe(kernel);
    }
  });
});
