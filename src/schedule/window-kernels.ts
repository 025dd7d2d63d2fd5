// Sliding windows (convolution, pooling) as strided views and loop kernels. Without padding,
// patches(x) (im2col) is a view: window element (o…, c, k…) of x sits at Σ (oₐ·strideₐ + kₐ·dilationₐ)·x's
// stride, affine in every index, so reductions (pooling) read x in place and a matrix product's copy of
// it is the im2col buffer. With padding, and for the adjoint (col2im), one loop kernel per window offset
// (k₁, …, k_d) covers the rectangle of outputs whose element lies inside the image: each is a plain
// strided copy (or scatter-add) that writes every element at most once, so it runs in parallel on a GPU
// too, and overlapping windows accumulate kernel after kernel.

import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { validRange, type WindowSpec } from "../ir/window.js";
import type { Access, Extent, FillKernel, LoopKernel } from "./program.js";
import { coalesce, type View } from "./views.js";

/** patches(x) as a view onto x's storage, when there is no padding to supply. */
export function patchesView(image: View | undefined, node: Node): View | undefined {
  const window = node.attrs.window!;
  if (!image || [...window.padBefore, ...window.padAfter].some((p) => p !== 0)) return undefined;
  const spatial = image.strides.slice(1);
  const strides = [
    ...spatial.map((s, a) => s * window.stride[a]!),
    image.strides[0]!,
    ...spatial.map((s, a) => s * window.dilation[a]!),
  ];
  return {
    ...image,
    shape: node.shape,
    strides: image.storage.kind === "scalar" ? strides.map(() => 0) : strides,
  };
}

/** Every window offset (k₁, …, k_d), row-major. */
function offsets(kernel: readonly number[]): number[][] {
  let all: number[][] = [[]];
  for (const k of kernel) all = all.flatMap((prefix) => Array.from({ length: k }, (_, i) => [...prefix, i]));
  return all;
}

/**
 * The kernels that write a window op's buffer `target`: patches (im2col, from the image view `operand`)
 * or patchesAdjoint (col2im, from the patches view `operand`). A fill first where not every element is
 * written by a copy (padding) or where kernels accumulate (the adjoint).
 */
export function windowKernels(node: Node, operand: View, target: View, comment: string): (LoopKernel | FillKernel)[] {
  const window: WindowSpec = node.attrs.window!;
  const gather = node.op === Op.Patches;
  const image = gather ? operand : target;
  const columns = gather ? target : operand;
  const imageShape = gather ? node.inputs[0]!.shape : node.shape;
  const d = window.kernel.length;
  const perExample = node.batched;
  const strides = (view: View, inner: number[]): number[] => {
    const all = [...(perExample ? [view.batchStride] : []), ...inner];
    return view.storage.kind === "scalar" ? all.map(() => 0) : all;
  };
  const kernels: (LoopKernel | FillKernel)[] = [];
  let partial = !gather;
  for (const offset of offsets(window.kernel)) {
    const ranges = offset.map((k, a) => validRange(imageShape[1 + a]!, window, a, k));
    const outputs = node.attrs.window!.kernel.map((_, a) => (gather ? node.shape : node.inputs[0]!.shape)[a]!);
    if (ranges.some(([, count], a) => count !== outputs[a])) partial = true;
    if (ranges.some(([, count]) => count === 0)) continue;
    let imageOffset = image.offset;
    let columnsOffset = columns.offset;
    for (let a = 0; a < d; a++) {
      const [first] = ranges[a]!;
      const at = first * window.stride[a]! + offset[a]! * window.dilation[a]! - window.padBefore[a]!;
      imageOffset += at * image.strides[1 + a]!;
      columnsOffset += first * columns.strides[a]! + offset[a]! * columns.strides[d + 1 + a]!;
    }
    const imageAccess: Access = {
      storage: image.storage,
      offset: image.storage.kind === "scalar" ? 0 : imageOffset,
      strides: strides(image, [...ranges.map((_, a) => image.strides[1 + a]! * window.stride[a]!), image.strides[0]!]),
    };
    const columnsAccess: Access = {
      storage: columns.storage,
      offset: columns.storage.kind === "scalar" ? 0 : columnsOffset,
      strides: strides(columns, [...ranges.map((_, a) => columns.strides[a]!), columns.strides[d]!]),
    };
    const dims: Extent[] = [
      ...(perExample ? [{ factor: 1, perExample: true }] : []),
      ...ranges.map(([, count]) => ({ factor: count, perExample: false })),
      { factor: imageShape[0]!, perExample: false },
    ];
    kernels.push(
      coalesce({
        kind: "loop",
        comment: `${comment}, window offset (${offset.join(", ")})`,
        dims,
        values: [{ kind: "load", access: gather ? imageAccess : columnsAccess }],
        target: gather ? columnsAccess : imageAccess,
        mode: gather ? "assign" : "add",
        unrolled: 0,
      }),
    );
  }
  if (!partial) return kernels;
  const buffer = (target.storage as { name: string }).name;
  return [{ kind: "fill", buffer, length: { factor: node.size, perExample }, value: 0 }, ...kernels];
}
