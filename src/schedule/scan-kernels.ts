// A scan (src/ir/scan.ts) lowered to one loop over its steps: the carry lives in a per-example buffer C;
// each step copies x_t into X, runs the body's kernels (lowered once, reading C, X and the closures where
// they already are), writes the next carry to N and y_t to Y, then copies N into C and Y into row t of the
// scan's buffer. After the loop, C is the final carry at the buffer's front. Code size is independent of T.

import type { Node } from "../ir/node.js";
import type { Shape } from "../ir/shape.js";
import type { Binding } from "./lower.js";
import type { Kernel, LoopKernel } from "./program.js";
import { contiguousView, type View } from "./views.js";

/** A scan body's lowering shares its entry point's names (temporaries, locals) and reads its placeholders at given views. */
export interface NestedScope {
  readonly temporaries: Map<string, { size: number; perExample: boolean }>;
  readonly inputsRead: Set<string>;
  readonly locals: { count: number };
  readonly placeholders: ReadonlyMap<Node, View>;
}

export interface ScanContext {
  readonly views: ReadonlyMap<Node, View>;
  readonly describe: (node: Node) => string;
  /** A new per-example temporary of `size` elements. */
  readonly temporary: (size: number) => string;
  readonly copy: (comment: string, source: View, shape: Shape, destination: View) => LoopKernel;
  readonly lowerBody: (bindings: readonly Binding[], placeholders: ReadonlyMap<Node, View>) => Kernel[];
}

/** A copy whose source (or destination) moves by `stride` elements per step. */
function stepped(kernel: LoopKernel, side: "source" | "destination", stride: number): LoopKernel {
  if (stride === 0) return kernel;
  if (side === "destination") return { ...kernel, target: { ...kernel.target, stepStride: stride } };
  return {
    ...kernel,
    values: kernel.values.map((v) => (v.kind === "load" ? { ...v, access: { ...v.access, stepStride: stride } } : v)),
  };
}

export function scanKernels(context: ScanContext, node: Node, target: View): Kernel[] {
  const body = node.attrs.scan!;
  const [init, xs, ...closures] = node.inputs as [Node, Node, ...Node[]];
  const [c, xw, y] = [body.carry.size, body.x.size, body.yOut.size];
  const comment = context.describe(node);
  const buffer = (size: number): View =>
    contiguousView({ kind: "buffer", name: context.temporary(size) }, [size], true);
  const [carry, x, next, out] = [buffer(c), buffer(xw), buffer(c), buffer(y)];
  const xsView = context.views.get(xs)!;
  const row: View = { ...xsView, shape: [xw], strides: [xsView.strides[1]!] };
  const placeholders = new Map<Node, View>([
    [body.carry, carry],
    [body.x, x],
    ...body.closures.map((p, i) => [p, context.views.get(closures[i]!)!] as const),
  ]);
  const steps = context.lowerBody(
    [
      { node: body.carryOut, target: { kind: "buffer", name: bufferOf(next), perExample: true } },
      { node: body.yOut, target: { kind: "buffer", name: bufferOf(out), perExample: true } },
    ],
    placeholders,
  );
  const yRow: View = { ...target, offset: target.offset + c, shape: [y], strides: [1] };
  return [
    context.copy(`${comment}: initial carry`, context.views.get(init)!, [c], carry),
    {
      kind: "scan",
      comment,
      length: body.length,
      reverse: body.reverse,
      kernels: [
        stepped(context.copy(`${comment}: x_t`, row, [xw], x), "source", xsView.strides[0]!),
        ...steps,
        context.copy(`${comment}: next carry`, next, [c], carry),
        stepped(context.copy(`${comment}: y_t`, out, [y], yRow), "destination", y),
      ],
    },
    context.copy(`${comment}: final carry`, carry, [c], { ...target, shape: [c], strides: [1] }),
  ];
}

const bufferOf = (view: View): string => (view.storage as { name: string }).name;
