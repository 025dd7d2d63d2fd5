// The derivative of a scan is a reverse scan (as JAX's lax.scan transposes). For step t the body maps
// (c_{t−1}, x_t, closures) to (c_t, y_t); with λ the adjoint of c_t flowing back from step t + 1,
//   (λ_{t−1}, x̄_t, closuresₜ̄) = VJP_body(c_{t−1}, x_t)(λ + ḡ_{c_t}, ḡ_{y_t}),
// closures' adjoints summed over t. The body's VJP is itself traced once, by the ordinary reverse sweep
// over the body graph. The backward scan's x_t is [c_{t−1}, x_t, ḡ row t, stored c_t / y_t] (the forward
// stored each c_t at the front of y_t: `carriesInY`), cut to the columns its body reads
// (scan-columns.ts); its carry is [λ, accumulators of closures' adjoint terms]; its y_t is x̄_t and the
// per-step factors of closures' product terms, each summed over the steps by one product after the loop
// (scan-products.ts).

import { GradgenError } from "../errors.js";
import { add, broadcastTo, concat, constant, rebuild, reshape, slice } from "../ir/build.js";
import { reachableInOrder, transformGraph } from "../ir/graph.js";
import { Op } from "../ir/ops.js";
import type { Node } from "../ir/node.js";
import { scanArg, scanNode } from "../ir/scan-build.js";
import type { RuleContext } from "./rules.js";
import { gradients } from "./reverse.js";
import { columns, compactStep, type Piece } from "./scan-columns.js";
import {
  productOverSteps,
  rowsUnread,
  sliceOfStep,
  splitClosureAdjoint,
  throughConcat,
  withoutReshapes,
} from "./scan-products.js";

export function scanRule({ inputs, out, adjoint, needed }: RuleContext): (Node | undefined)[] {
  const body = out.attrs.scan!;
  if (!body.carriesInY)
    throw new GradgenError(
      `nn.scan: second derivatives through a scan (Hessian-vector products, a gradient of a gradient) are not supported yet.`,
    );
  const [init, xs, ...closures] = inputs as [Node, Node, ...Node[]];
  const T = body.length;
  const c = body.carry.size;
  const xw = body.x.size;
  const y = body.yOut.size;
  const perExample = out.batched;
  const name = body.carry.attrs.name!.replace(/\.carry$/, "");
  const wantsX = needed?.[1] ?? true;
  const wanted = closures.map((_, i) => needed?.[2 + i] ?? true);

  // The body's VJP over placeholders: λ (the carry's adjoint from step t + 1) and ḡ row t
  const lambda = scanArg(`${name}.lambda`, [c], perExample);
  const gBar = scanArg(`${name}.gBar`, [y], perExample);
  const seed = concat([body.carryOut, body.yOut], 0);
  const grads = gradients(seed, [body.carry, body.x, ...body.closures], concat([lambda, gBar], 0));

  // Values of the step the VJP reads that the forward already stored in its row t ([c_t, y_t]): read
  // there, not recomputed (an Elman step's tanh, whose derivative is 1 − c_t²)
  const reads = new Set(reachableInOrder(grads));
  // y_t is [c_t, the step's output] (src/dsl/scan.ts), or c_t alone when the step's output is its carry
  const yCore =
    body.yOut.op === Op.Concat && body.yOut.inputs.length === 2 && body.yOut.inputs[0] === body.carryOut
      ? body.yOut.inputs[1]!
      : undefined;
  const residuals = [
    { core: withoutReshapes(body.carryOut), at: 0 },
    ...(yCore ? [{ core: withoutReshapes(yCore), at: c }] : []),
  ]
    .filter(({ core }) => reads.has(core) && core.op !== Op.ScanArg && core.inputs.length > 0)
    .filter(({ core }, i, all) => all.findIndex((r) => r.core === core) === i);
  const residualWidth = residuals.reduce((total, { core }) => total + core.size, 0);

  // The backward step's x_t: [c_{t−1}, x_t, ḡ row t, residuals]
  const xB = scanArg(`${name}.adjointX`, [c + xw + y + residualWidth], perExample);
  const bound = new Map<Node, Node>([
    [body.carry, slice(xB, [0], [c])],
    [body.x, slice(xB, [c], [xw])],
    [gBar, rowsUnread(adjoint, c) ? broadcastTo(constant(0), [y]) : slice(xB, [c + xw], [y])],
  ]);
  let at = c + xw + y;
  for (const { core } of residuals) {
    bound.set(core, reshape(slice(xB, [at], [core.size]), core.shape));
    at += core.size;
  }
  const [carryBar, xBar, ...closureBars] = transformGraph(
    grads,
    (node, operands) => bound.get(node) ?? throughConcat(rebuild(node, operands)),
  ) as [Node, Node, ...Node[]];

  // Closed-over values' adjoints: step products stored per step (one product after the loop,
  // scan-products.ts), the rest accumulated in the carry
  const split = closureBars.map((bar, i) =>
    wanted[i] ? splitClosureAdjoint(bar) : { products: [], rest: [] as Node[] },
  );
  const rests = split.map(({ rest }) => (rest.length > 0 ? rest.reduce((a, b) => add(a, b)) : undefined));
  const sizes = rests.map((rest, i) => (rest ? closures[i]!.size : 0));
  const offsets = sizes.map((_, i) => c + sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const accumulated = sizes.reduce((a, b) => a + b, 0);
  const xOut = wantsX ? xw : 0;
  const stored = new Map<Node, number>(); // a per-step factor → its offset in the backward y_t
  let yB = xOut;
  for (const { products } of split)
    for (const factor of products.flatMap((p) => [p.left, p.right]))
      if (!stored.has(factor) && !sliceOfStep(factor, xB)) {
        stored.set(factor, yB);
        yB += factor.size;
      }

  // The backward body: its carry is [λ, accumulators], the placeholder λ bound to the carry's front
  const carryB = scanArg(`${name}.adjoint`, [c + accumulated], perExample);
  const withCarry = (node: Node): Node =>
    transformGraph([node], (n, operands) => (n === lambda ? slice(carryB, [0], [c]) : rebuild(n, operands)))[0]!;
  const carryOut = withCarry(
    concat(
      [
        reshape(carryBar, [c]),
        ...rests.flatMap((rest, i) =>
          rest ? [add(slice(carryB, [offsets[i]!], [sizes[i]!]), reshape(rest, [sizes[i]!]))] : [],
        ),
      ],
      0,
    ),
  );
  const yParts = [
    ...(wantsX ? [reshape(withoutReshapes(xBar), [xw])] : []),
    ...[...stored.keys()].map((f) => reshape(withoutReshapes(f), [f.size])),
  ];
  // A step with nothing to store still has a y_t (of one element, never read)
  const yOut = withCarry(yParts.length > 0 ? concat(yParts, 0) : reshape(constant(0), [1]));
  if (yParts.length === 0) yB = 1;

  // Its operands: [ḡ of the final carry, zeros], and per step [c_{t−1}, x_t, ḡ row t, residuals]
  const rows = reshape(slice(out, [c], [T * y]), [T, y]);
  const first = reshape(init, [1, c]);
  const carriesBefore = T > 1 ? concat([first, slice(rows, [0, 0], [T - 1, c])], 0) : first;
  const initB =
    accumulated > 0
      ? concat([slice(adjoint, [0], [c]), broadcastTo(constant(0), [accumulated])], 0)
      : slice(adjoint, [0], [c]);
  const pieces: Piece[] = [
    { value: carriesBefore, at: 0 },
    { value: xs, at: c },
    { value: reshape(slice(adjoint, [c], [T * y]), [T, y]), at: c + xw },
    ...residuals.map(({ core, at }, i) => ({
      value: slice(rows, [0, at], [T, core.size]),
      at: c + xw + y + residuals.slice(0, i).reduce((total, r) => total + r.core.size, 0),
    })),
  ];
  const step = compactStep([carryOut, yOut], xB, pieces, `${name}.adjointSteps`);
  const backward = scanNode([initB, step.xs, ...closures], {
    carry: carryB,
    x: step.x,
    closures: body.closures,
    carryOut: step.roots[0]!,
    yOut: step.roots[1]!,
    length: T,
    reverse: true,
    carriesInY: false,
  });
  const rowsB = reshape(slice(backward, [c + accumulated], [T * yB]), [T, yB]);
  const stacked = (factor: Node): Node => {
    const own = sliceOfStep(factor, xB);
    if (!own) return slice(rowsB, [0, stored.get(factor)!], [T, factor.size]);
    const parts = columns(pieces, own.start, own.start + own.length);
    return parts.length === 1 ? parts[0]! : concat(parts, 1);
  };
  return [
    slice(backward, [0], [c]),
    wantsX ? slice(rowsB, [0, 0], [T, xw]) : undefined,
    ...closures.map((v, i) => {
      if (!wanted[i]) return undefined;
      const parts = split[i]!.products.map((p) =>
        reshape(productOverSteps(p, stacked(p.left), stacked(p.right), T), v.shape),
      );
      if (rests[i]) parts.push(reshape(slice(backward, [offsets[i]!], [sizes[i]!]), v.shape));
      return parts.length > 0 ? parts.reduce((a, b) => add(a, b)) : broadcastTo(constant(0), v.shape);
    }),
  ];
}
