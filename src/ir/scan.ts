// Scans (issue 12): a loop over a leading time axis whose body is a small graph of its own, traced once.
// A Scan node's operands are [init [c], xs [T, x], closures…]; its body maps placeholder leaves (ScanArg:
// the carry, x_t, one per closure) to the next carry [c] and the step's output y_t [y]. Its value is the
// final carry followed by every step's y: [c + T·y]. Everything is flat (the DSL reshapes around it).
// `reverse` runs t = T − 1 … 0 (the backward scan the derivative rule builds); `carriesInY` says each y_t
// starts with that step's carry (the forward scan stores them for its backward pass).

import type { Node } from "./node.js";

export interface ScanBody {
  readonly carry: Node;
  readonly x: Node;
  readonly closures: readonly Node[];
  readonly carryOut: Node;
  readonly yOut: Node;
  readonly length: number;
  readonly reverse: boolean;
  readonly carriesInY: boolean;
}

/** The body's part of a Scan node's interning key and structural hash. */
export function scanKey(body: ScanBody, of: (node: Node) => number): string {
  const ids = [body.carry, body.x, ...body.closures, body.carryOut, body.yOut].map(of).join(",");
  return `${ids};T=${body.length}${body.reverse ? ";rev" : ""}${body.carriesInY ? ";cy" : ""}`;
}

/** Shape of a scan's value, or why its operands do not fit its body. */
export function scanShape(inputs: readonly Node[], body: ScanBody): readonly number[] | string {
  const [init, xs, ...closures] = inputs;
  const c = body.carry.size;
  if (!init || !xs) return "needs an initial carry and a sequence";
  if (init.shape.length !== 1 || init.size !== c) return `initial carry [${init.shape}] is not the body's carry [${c}]`;
  if (body.carryOut.shape.length !== 1 || body.carryOut.size !== c)
    return `the step returns a carry [${body.carryOut.shape}] for a carry [${c}]`;
  if (xs.shape.length !== 2 || xs.shape[0] !== body.length || xs.shape[1] !== body.x.size)
    return `sequence [${xs.shape}] is not [${body.length}, ${body.x.size}]`;
  if (closures.length !== body.closures.length || closures.some((v, i) => v.size !== body.closures[i]!.size))
    return "closed-over values do not match the body's";
  if (body.yOut.shape.length !== 1) return `the step's output [${body.yOut.shape}] is not flat`;
  return [c + body.length * body.yOut.size];
}
