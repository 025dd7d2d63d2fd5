// The derivative of a scan is a reverse scan (as JAX's lax.scan transposes). For step t the body maps
// (c_{t−1}, x_t, closures) to (c_t, y_t); with λ the adjoint of c_t flowing back from step t + 1,
//   (λ_{t−1}, x̄_t, closuresₜ̄) = VJP_body(c_{t−1}, x_t)(λ + ḡ_{c_t}, ḡ_{y_t}),
// closures' adjoints summed over t. The body's VJP is itself traced once, by the ordinary reverse sweep
// over the body graph; the backward scan's carry is [λ, closure accumulators], its x_t is
// [c_{t−1}, x_t, ḡ row t] (the forward stored each c_t at the front of y_t: `carriesInY`), its y_t is x̄_t.

import { GradgenError } from "../errors.js";
import { add, broadcastTo, concat, constant, rebuild, reshape, slice } from "../ir/build.js";
import { transformGraph } from "../ir/graph.js";
import type { Node } from "../ir/node.js";
import { scanArg, scanNode } from "../ir/scan-build.js";
import type { RuleContext } from "./rules.js";
import { gradients } from "./reverse.js";

export function scanRule({ inputs, out, adjoint }: RuleContext): (Node | undefined)[] {
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
  const sizes = closures.map((v) => v.size);
  const offsets = sizes.map((_, i) => c + sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const accumulated = sizes.reduce((a, b) => a + b, 0);
  const perExample = out.batched;
  const name = body.carry.attrs.name!.replace(/\.carry$/, "");

  // The backward body: placeholders, the seed's adjoint, the body's VJP, its placeholders replaced
  const carryB = scanArg(`${name}.adjoint`, [c + accumulated], perExample);
  const xB = scanArg(`${name}.adjointX`, [c + xw + y], perExample);
  const lambda = slice(carryB, [0], [c]);
  const seed = concat([body.carryOut, body.yOut], 0);
  const seedAdjoint = concat([lambda, slice(xB, [c + xw], [y])], 0);
  const grads = gradients(seed, [body.carry, body.x, ...body.closures], seedAdjoint);
  const bound = new Map<Node, Node>([
    [body.carry, slice(xB, [0], [c])],
    [body.x, slice(xB, [c], [xw])],
  ]);
  const [carryBar, xBar, ...closureBars] = transformGraph(
    grads,
    (node, operands) => bound.get(node) ?? rebuild(node, operands),
  ) as [Node, Node, ...Node[]];
  const carryOut = concat(
    [
      reshape(carryBar, [c]),
      ...closureBars.map((bar, i) => add(slice(carryB, [offsets[i]!], [sizes[i]!]), reshape(bar, [sizes[i]!]))),
    ],
    0,
  );

  // Its operands: [ḡ of the final carry, zeros], and per step [c_{t−1}, x_t, ḡ row t]
  const rows = reshape(slice(out, [c], [T * y]), [T, y]);
  const first = reshape(init, [1, c]);
  const carriesBefore = T > 1 ? concat([first, slice(rows, [0, 0], [T - 1, c])], 0) : first;
  const initB =
    accumulated > 0
      ? concat([slice(adjoint, [0], [c]), broadcastTo(constant(0), [accumulated])], 0)
      : slice(adjoint, [0], [c]);
  const xsB = concat([carriesBefore, xs, reshape(slice(adjoint, [c], [T * y]), [T, y])], 1);
  const backward = scanNode([initB, xsB, ...closures], {
    carry: carryB,
    x: xB,
    closures: body.closures,
    carryOut: carryOut,
    yOut: reshape(xBar, [xw]),
    length: T,
    reverse: true,
    carriesInY: false,
  });
  return [
    slice(backward, [0], [c]),
    reshape(slice(backward, [c + accumulated], [T * xw]), [T, xw]),
    ...closures.map((v, i) => reshape(slice(backward, [offsets[i]!], [sizes[i]!]), v.shape)),
  ];
}
