// How much elementwise work one loop may fuse (issue 12: never past V8's optimisation cliff).
// Fusion computes a value used once inside its consumer's loop, so a long chain of such values lands
// in one loop of one function: h ← tanh(h ⊙ w + b) unrolled over 1,000 steps is 3,000 ops in one
// loop, 138 KB of JavaScript, which no split at kernel boundaries (split.ts) can cut. Past
// `maxFusedOps` the chain is cut instead: the largest fused input is written to a buffer, and the
// next loop starts from it. The cost is one store and one load per element at each cut, nothing next
// to 32 ops per element. Sums are the exception: a tree of adds is left whole for wide-sums.ts.

import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";

/**
 * The most ops one loop computes per element. An op prints one or two values (~50 B each) and a
 * loop is written out up to 8 times (Tuning.straightLineLimit): 32 ops stay under ~26 KB, two-thirds
 * of split.ts's 40,000-character budget, so a cut kernel never needs a function of its own.
 */
export const maxFusedOps = 32;

/**
 * Tracks the ops each fused value brings into its consumer's loop. `limit(node)`, called for every
 * node in topological order once it is classified, demotes inline inputs of `node` (largest first)
 * until `node`'s loop holds at most maxFusedOps.
 */
export class FusionLimit {
  private readonly sizes = new Map<Node, number>();

  /** `kinds`: lowering's classification so far ("inline": computed in its consumer's loop). */
  constructor(
    private readonly kinds: ReadonlyMap<Node, string>,
    private readonly demote: (node: Node) => void,
  ) {}

  limit(node: Node): void {
    const inline = [...new Set(node.inputs)].filter((input) => this.kinds.get(input) === "inline");
    let size = 1 + inline.reduce((sum, input) => sum + this.sizeOf(input), 0);
    // A sum of many terms stays one add tree (each term within the limit), for wide-sums.ts to cut
    // exactly, in its own association and without temporaries, once it is a kernel of its own.
    if (node.op === Op.Add && inline.some((input) => input.op === Op.Add)) {
      this.sizes.set(node, size);
      return;
    }
    inline.sort((a, b) => this.sizeOf(b) - this.sizeOf(a));
    for (const input of inline) {
      if (size <= maxFusedOps) break;
      this.demote(input);
      size -= this.sizeOf(input) - 1; // now a load
    }
    this.sizes.set(node, size);
  }

  private sizeOf(node: Node): number {
    return this.sizes.get(node) ?? 1;
  }
}
