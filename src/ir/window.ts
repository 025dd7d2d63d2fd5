// Sliding windows over the spatial axes of a channels-first image [C, S₁, …, S_d]: the geometry shared
// by convolution and pooling. `patches` (im2col) gathers every window into [O₁, …, O_d, C, K₁, …, K_d]
// (zero outside the padded image); its adjoint (col2im) scatter-adds such a tensor back onto the image.

import { formatShape, sizeOf, type Shape } from "./shape.js";

export interface WindowSpec {
  /** Window extent per spatial axis. */
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  /** Zeros added before and after each spatial axis. */
  readonly padBefore: readonly number[];
  readonly padAfter: readonly number[];
}

export function windowKey(window: WindowSpec): string {
  const parts = [window.kernel, window.stride, window.dilation, window.padBefore, window.padAfter];
  return parts.map((p) => p.join(",")).join("/");
}

/** Span of one window along axis a: dilation·(k − 1) + 1. */
function windowSpan(window: WindowSpec, axis: number): number {
  return window.dilation[axis]! * (window.kernel[axis]! - 1) + 1;
}

/** Output positions along each spatial axis, or a reason the window does not fit. */
export function windowOutputs(image: Shape, window: WindowSpec): number[] | string {
  const spatial = image.slice(1);
  if (spatial.length !== window.kernel.length)
    return `the image ${formatShape(image)} needs ${window.kernel.length} spatial axes after its channel axis`;
  const outputs: number[] = [];
  for (let a = 0; a < spatial.length; a++) {
    const padded = spatial[a]! + window.padBefore[a]! + window.padAfter[a]!;
    const span = windowSpan(window, a);
    if (span > padded)
      return (
        `the window spans ${span} along spatial axis ${a} (kernel ${window.kernel[a]}, dilation ${window.dilation[a]}), ` +
        `more than the ${padded} of the padded input (${spatial[a]} + padding ${window.padBefore[a]} + ${window.padAfter[a]})`
      );
    outputs.push(Math.floor((padded - span) / window.stride[a]!) + 1);
  }
  return outputs;
}

/** The shape of patches(image): [O₁, …, O_d, C, K₁, …, K_d]. */
export function patchesShape(image: Shape, window: WindowSpec): Shape {
  const outputs = windowOutputs(image, window);
  if (typeof outputs === "string") throw new Error(`internal: ${outputs}`);
  return [...outputs, image[0]!, ...window.kernel];
}

/**
 * For each element of patches(image), row-major, the flat index of the image element it copies, or
 * −1 where the window lies on padding. The reference semantics of both window ops.
 */
export function patchSources(image: Shape, window: WindowSpec): Int32Array {
  const shape = patchesShape(image, window);
  const d = window.kernel.length;
  const spatial = image.slice(1);
  const map = new Int32Array(sizeOf(shape));
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < map.length; flat++) {
    let source = index[d]!; // channel
    let inside = true;
    for (let a = 0; a < d; a++) {
      const at = index[a]! * window.stride[a]! + index[d + 1 + a]! * window.dilation[a]! - window.padBefore[a]!;
      if (at < 0 || at >= spatial[a]!) inside = false;
      source = source * spatial[a]! + at;
    }
    map[flat] = inside ? source : -1;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++index[i]! < shape[i]!) break;
      index[i] = 0;
    }
  }
  return map;
}

/**
 * For one window offset (k₁, …, k_d): the range of output positions along each axis whose element
 * lies inside the image (not on padding), as [first, count]. Lowering copies each offset's rectangle.
 */
export function validRange(size: number, window: WindowSpec, axis: number, offset: number): [number, number] {
  const stride = window.stride[axis]!;
  const outputs =
    Math.floor((size + window.padBefore[axis]! + window.padAfter[axis]! - windowSpan(window, axis)) / stride) + 1;
  const shift = offset * window.dilation[axis]! - window.padBefore[axis]!; // image index of output 0
  const first = Math.max(0, Math.ceil(-shift / stride));
  const last = Math.min(outputs - 1, Math.floor((size - 1 - shift) / stride));
  return [first, Math.max(0, last - first + 1)];
}
