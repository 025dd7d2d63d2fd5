// nn.scan (issue 12), after JAX's lax.scan: `step(carry, x_t) → [carry, y_t]` traced once into a body
// graph (src/ir/scan.ts), run over the leading time axis of `xs`. The generated code is one loop over t.

import * as ir from "../ir/build.js";
import { extractClosures, scanArg, scanNode } from "../ir/scan-build.js";
import { GradgenError } from "../errors.js";
import { formatShape, sameShape, sizeOf } from "../ir/shape.js";
import { activeTrace } from "./trace.js";
import { describeValue, traced, Tensor } from "./tensor.js";

export interface ScanOptions {
  /** The number of steps: must equal the leading axis of `xs` (stated for the reader, checked). */
  readonly length?: number;
}

export type ScanStep = (carry: Tensor, x: Tensor) => readonly [Tensor, Tensor];

const scansInTrace = new WeakMap<object, number>();
let tracingBody = false;

/** A per-model number for the scan's placeholders (scan0, scan1, …), so generated code does not depend on what ran before. */
function nextScanName(): string {
  const trace = activeTrace();
  if (!trace) return "scan";
  const k = scansInTrace.get(trace) ?? 0;
  scansInTrace.set(trace, k + 1);
  return `scan${k}`;
}

function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}

/**
 * Runs `step` over the leading axis of `xs` (per example: [T, …]) from the carry `init`. Returns the
 * final carry and every step's output stacked: [T, …y].
 */
export function scan(step: ScanStep, init: Tensor, xs: Tensor, options: ScanOptions = {}): [Tensor, Tensor] {
  const fn = "nn.scan";
  let parts: { carry: Tensor; ys: Tensor } | undefined;
  traced(() => {
    if (typeof step !== "function")
      throw new GradgenError(
        `${fn}: step must be a function (carry, x_t) => [carry, y_t], got ${describeValue(step)}.`,
      );
    if (!isTensor(init) || !isTensor(xs))
      throw new GradgenError(`${fn}: init and xs must be tensors (xs with a leading time axis, per example [T, …]).`);
    if (tracingBody)
      throw new GradgenError(
        `${fn}: a scan inside another scan's step is not supported yet; unroll the inner one with a JavaScript loop, or merge both into one carry.`,
      );
    const [length, ...xShape] = xs.node.shape;
    if (length === undefined || length < 1)
      throw new GradgenError(
        `${fn}: xs must have a leading time axis of at least one step, got shape ${formatShape(xs.node.shape)}.`,
      );
    if (options.length !== undefined && options.length !== length)
      throw new GradgenError(
        `${fn}: { length: ${describeValue(options.length)} } does not match xs's leading axis ${length} (shape ${formatShape(xs.node.shape)}).`,
      );
    if (!init.node.batched && !xs.node.batched)
      throw new GradgenError(
        `${fn}: needs init or xs to hold one value per example (derived from an input); a scan over shared values only is not supported yet.`,
      );
    const name = nextScanName();
    const c = init.node.size;
    const carry = scanArg(`${name}.carry`, [c], true);
    const x = scanArg(`${name}.x`, [sizeOf(xShape)], true);
    let result: readonly [Tensor, Tensor];
    tracingBody = true;
    try {
      result = step(new Tensor(ir.reshape(carry, init.node.shape)), new Tensor(ir.reshape(x, xShape)));
    } finally {
      tracingBody = false;
    }
    if (!Array.isArray(result) || result.length !== 2 || !isTensor(result[0]) || !isTensor(result[1]))
      throw new GradgenError(`${fn}: step must return [carry, y_t], two tensors.`);
    const [next, y] = result;
    if (!sameShape(next.node.shape, init.node.shape))
      throw new GradgenError(
        `${fn}: step returned a carry of shape ${formatShape(next.node.shape)} for a carry of shape ${formatShape(init.node.shape)}; the carry's shape must stay the same.`,
      );
    const carryOut = ir.reshape(next.node, [c]);
    // Each step's carry is kept for the backward pass, at the front of y_t; a step whose output is its
    // carry (an RNN returning [h, h]) stores it once, and ys reads it there
    const outputIsCarry = y.node === next.node;
    const yOut = outputIsCarry ? carryOut : ir.concat([carryOut, ir.reshape(y.node, [y.node.size])], 0);
    const body = extractClosures([carryOut, yOut], [carry, x], name);
    const node = scanNode([ir.reshape(init.node, [c]), ir.reshape(xs.node, [length, x.size]), ...body.closures], {
      carry,
      x,
      closures: body.placeholders,
      carryOut: body.roots[0]!,
      yOut: body.roots[1]!,
      length,
      reverse: false,
      carriesInY: true,
    });
    const row = yOut.size;
    const rows = ir.reshape(ir.slice(node, [c], [length * row]), [length, row]);
    parts = {
      carry: new Tensor(ir.reshape(ir.slice(node, [0], [c]), init.node.shape)),
      ys: new Tensor(
        ir.reshape(ir.slice(rows, [0, outputIsCarry ? 0 : c], [length, y.node.size]), [length, ...y.node.shape]),
      ),
    };
    return node;
  });
  const { carry, ys } = parts!;
  return [traced(() => carry.node), traced(() => ys.node)];
}
