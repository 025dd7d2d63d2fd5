// Convolution and pooling, channels first per example: x is [C, L] (1-D) or [C, H, W] (2-D). Written
// with the window ops: conv = im2col(x) [P, C·K] times the filters [O, C·K]ᵀ, one matrix product (so
// the backward pass is two more: δ·W for col2im, and Σ over examples of colᵀ·δ for ∂W); pooling = a
// max or mean over each window of im2col(x), which without padding is a view of x (no copy); windows
// that tile x exactly (stride = size, sizes dividing x's) are reduced through a reshape of x instead,
// so neither pass transposes and the gradient needs no col2im.

import * as ir from "../ir/build.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { GradgenError } from "../errors.js";
import { formatShape, sizeOf } from "../ir/shape.js";
import { windowOutputs, type WindowSpec } from "../ir/window.js";
import { describeValue, traced, type Tensor } from "./tensor.js";
import { activeTrace } from "./trace.js";

export type Padding = "valid" | "same" | number;

export interface ConvOptions {
  /** Step between windows (default 1), one number for every spatial axis or one per axis. */
  readonly stride?: number | readonly number[];
  /** "valid" (default: no padding), "same" (output ⌈size/stride⌉, extra zero at the end as TensorFlow), or zeros on both sides. */
  readonly padding?: Padding;
  /** Spacing of the kernel's taps (default 1). */
  readonly dilation?: number | readonly number[];
}

function perAxis(fn: string, argument: string, value: unknown, axes: number, fallback: number): number[] {
  const values = value === undefined ? new Array<number>(axes).fill(fallback) : value;
  const list = typeof values === "number" ? new Array<number>(axes).fill(values) : values;
  if (
    !Array.isArray(list) ||
    list.length !== axes ||
    !list.every((v) => typeof v === "number" && Number.isInteger(v) && v >= 1)
  )
    throw new GradgenError(
      `${fn}: ${argument} must be a positive integer${axes > 1 ? ` or ${axes} of them, one per spatial axis` : ""}, got ${describeValue(Array.isArray(value) ? `[${value.join(", ")}]` : value)}.`,
    );
  return list as number[];
}

function requireRank(fn: string, what: string, x: Node, rank: number, layout: string): void {
  if (x.shape.length !== rank)
    throw new GradgenError(
      `${fn}: ${what} must be ${layout} (channels first, per example), got ${formatShape(x.shape)}. Reshape it to that layout.`,
    );
}

/** The window of a convolution or pooling over `spatial`, with padding resolved; errors name `fn`. */
function windowOf(
  fn: string,
  image: Node,
  kernel: number[],
  stride: number[],
  dilation: number[],
  padding: unknown,
): WindowSpec {
  const spatial = image.shape.slice(1);
  let padBefore: number[];
  let padAfter: number[];
  if (padding === undefined || padding === "valid") {
    padBefore = padAfter = spatial.map(() => 0);
  } else if (padding === "same") {
    const total = spatial.map((size, a) => {
      const outputs = Math.ceil(size / stride[a]!);
      return Math.max(0, (outputs - 1) * stride[a]! + dilation[a]! * (kernel[a]! - 1) + 1 - size);
    });
    padBefore = total.map((t) => Math.floor(t / 2));
    padAfter = total.map((t, a) => t - padBefore[a]!);
  } else if (typeof padding === "number" && Number.isInteger(padding) && padding >= 0) {
    padBefore = padAfter = spatial.map(() => padding);
  } else {
    throw new GradgenError(
      `${fn}: padding must be "valid", "same" or a non-negative integer (zeros on each side), got ${describeValue(padding)}.`,
    );
  }
  const window = { kernel, stride, dilation, padBefore, padAfter };
  const outputs = windowOutputs(image.shape, window);
  if (typeof outputs === "string")
    throw new GradgenError(
      `${fn}: the kernel does not fit the input ${formatShape(image.shape)}: ${outputs}. Use a smaller kernel or dilation, or more padding.`,
    );
  return window;
}

function convolution(fn: string, x: Tensor, w: Tensor, options: ConvOptions, axes: number): Tensor {
  return traced(() => {
    const layout = axes === 1 ? "[C, L]" : "[C, H, W]";
    requireRank(fn, "x", x.node, axes + 1, layout);
    requireRank(fn, "the filters W", w.node, axes + 2, axes === 1 ? "[O, C, k]" : "[O, C, kh, kw]");
    const [outChannels, inChannels, ...kernel] = w.node.shape as [number, number, ...number[]];
    if (inChannels !== x.node.shape[0])
      throw new GradgenError(
        `${fn}: x ${formatShape(x.node.shape)} has ${x.node.shape[0]} channels, but the filters W ${formatShape(w.node.shape)} ` +
          `expect ${inChannels} (W is [out channels, in channels, ${axes === 1 ? "k" : "kh, kw"}]). Make W's second dimension x's first.`,
      );
    const stride = perAxis(fn, "stride", options.stride, axes, 1);
    const dilation = perAxis(fn, "dilation", options.dilation, axes, 1);
    const window = windowOf(fn, x.node, kernel, stride, dilation, options.padding);
    // A parameter (or a frozen one, read through a stop-gradient) used as filters gets conv fans for init.
    const param = w.node.op === Op.StopGradient ? w.node.inputs[0]! : w.node;
    if (param.op === Op.Param)
      activeTrace()?.filterFans.set(param, {
        fanIn: inChannels * sizeOf(kernel),
        fanOut: outChannels * sizeOf(kernel),
      });
    const patches = ir.patches(x.node, window);
    const positions = patches.shape.slice(0, axes);
    const columns = ir.reshape(patches, [sizeOf(positions), inChannels * sizeOf(kernel)]);
    const filters = ir.transpose(ir.reshape(w.node, [outChannels, inChannels * sizeOf(kernel)]));
    const y = ir.reshape(ir.matmul(columns, filters), [...positions, outChannels]);
    return ir.transpose(y, [axes, ...positions.map((_, a) => a)]);
  });
}

function pooling(fn: string, x: Tensor, size: unknown, stride: unknown, axes: number, reduce: "max" | "mean"): Tensor {
  return traced(() => {
    requireRank(fn, "x", x.node, axes + 1, axes === 1 ? "[C, L]" : "[C, H, W]");
    const kernel = perAxis(fn, "size", size, axes, 1);
    const steps = perAxis(fn, "stride", stride ?? kernel, axes, 1);
    const window = windowOf(
      fn,
      x.node,
      kernel,
      steps,
      kernel.map(() => 1),
      "valid",
    );
    const pool = (windows: Node, windowAxes: number[]): Node =>
      reduce === "max" ? ir.max(windows, windowAxes) : ir.mul(ir.sum(windows, windowAxes), 1 / sizeOf(kernel));
    const [channels, ...spatial] = x.node.shape as [number, ...number[]];
    if (spatial.every((size, a) => steps[a] === kernel[a] && size % kernel[a]! === 0)) {
      // Windows that tile x exactly: x [C, S₁, …] seen as [C, O₁, K₁, O₂, K₂, …] (a view, no im2col), each
      // window reduced in place; the result is channels first already, and the gradient lands in x's layout.
      const split = spatial.flatMap((size, a) => [size / kernel[a]!, kernel[a]!]);
      return pool(
        ir.reshape(x.node, [channels, ...split]),
        kernel.map((_, a) => 2 + 2 * a),
      );
    }
    const patches = ir.patches(x.node, window);
    const pooled = pool(
      patches,
      kernel.map((_, a) => axes + 1 + a),
    );
    return ir.transpose(pooled, [axes, ...kernel.map((_, a) => a)]);
  });
}

export const convolutionOps = {
  /** 1-D convolution (cross-correlation, as every framework): x [C, L], W [O, C, k] → [O, L′]. */
  conv1d: (x: Tensor, w: Tensor, options: ConvOptions = {}): Tensor => convolution("nn.conv1d", x, w, options, 1),
  /** 2-D convolution (cross-correlation): x [C, H, W], W [O, C, kh, kw] → [O, H′, W′]. */
  conv2d: (x: Tensor, w: Tensor, options: ConvOptions = {}): Tensor => convolution("nn.conv2d", x, w, options, 2),
  /** Max over each window (stride defaults to the size); tied elements of a window share its gradient equally. */
  maxPool1d: (x: Tensor, size: number, stride?: number): Tensor => pooling("nn.maxPool1d", x, size, stride, 1, "max"),
  maxPool2d: (
    x: Tensor,
    size: number | readonly [number, number],
    stride?: number | readonly [number, number],
  ): Tensor => pooling("nn.maxPool2d", x, size, stride, 2, "max"),
  /** Mean over each window (stride defaults to the size). */
  avgPool1d: (x: Tensor, size: number, stride?: number): Tensor => pooling("nn.avgPool1d", x, size, stride, 1, "mean"),
  avgPool2d: (
    x: Tensor,
    size: number | readonly [number, number],
    stride?: number | readonly [number, number],
  ): Tensor => pooling("nn.avgPool2d", x, size, stride, 2, "mean"),
};
