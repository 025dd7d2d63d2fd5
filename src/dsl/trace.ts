// The model being traced: per-model numbering (dropout masks, custom rules) and where the model
// file created each node. Kept per model, never on shared nodes, so generated code does not depend
// on what else the process traced before.

import type { SourceLocation } from "../errors.js";
import type { Fans } from "../initializers.js";
import type { Node } from "../ir/node.js";

export interface Trace {
  dropoutMasks: number;
  customRules: number;
  /** nn.batchNorm layers so far: their running statistics are batchNorm0.runningMean, … */
  batchNorms: number;
  readonly origins: Map<Node, SourceLocation>;
  /** nn.leastSquares: each ½‖r‖² node it returned → its residual r (Levenberg–Marquardt, Gauss–Newton products). */
  readonly leastSquares: Map<Node, Node>;
  /** Parameters used as conv1d/conv2d filters [O, C, k…] → their fans (C·∏k in, O·∏k out), as PyTorch and Keras. */
  readonly filterFans: Map<Node, Fans>;
}

let current: Trace | undefined;
let customRulesOutsideModels = 0;

export function newTrace(): Trace {
  return {
    dropoutMasks: 0,
    customRules: 0,
    batchNorms: 0,
    origins: new Map(),
    leastSquares: new Map(),
    filterFans: new Map(),
  };
}

export function activeTrace(): Trace | undefined {
  return current;
}

export function withTrace<T>(trace: Trace, run: () => T): T {
  const outer = current;
  current = trace;
  try {
    return run();
  } finally {
    current = outer;
  }
}

/**
 * Note where `node` was written: in the model being traced, and on the node for errors outside models.
 * In a model, the nodes one DSL call built beneath `node` (the matmul inside a reshape, the parts of a
 * loss) get the same line: everything the model placed before already has its own.
 */
export function recordOrigin(node: Node, location: SourceLocation | undefined): void {
  if (!location) return;
  node.origin ??= location;
  if (!current) return;
  const pending = [node];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (current.origins.has(next)) continue;
    current.origins.set(next, location);
    pending.push(...next.inputs);
  }
}

/** A node the derivative of `forward` made: in the model being traced, it takes `forward`'s line unless it has its own. */
export function inheritOrigin(derived: Node, forward: Node): void {
  const origin = current?.origins.get(forward);
  if (current && origin && !current.origins.has(derived)) current.origins.set(derived, origin);
}

/** A key for a custom derivative rule: numbered per model, so generated code does not depend on what ran before. */
export function nextCustomRuleKey(name: string): string {
  if (current) return `${name}#${current.customRules++}`;
  return `${name}#global${customRulesOutsideModels++}`;
}
