// The model being traced: per-model numbering (dropout masks, custom rules) and where the model
// file created each node. Kept per model, never on shared nodes, so generated code does not depend
// on what else the process traced before.

import type { SourceLocation } from "../errors.js";
import type { Node } from "../ir/node.js";

export interface Trace {
  dropoutMasks: number;
  customRules: number;
  readonly origins: Map<Node, SourceLocation>;
}

let current: Trace | undefined;
let customRulesOutsideModels = 0;

export function newTrace(): Trace {
  return { dropoutMasks: 0, customRules: 0, origins: new Map() };
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

/** Note where `node` was written: in the model being traced, and on the node for errors outside models. */
export function recordOrigin(node: Node, location: SourceLocation | undefined): void {
  if (!location) return;
  node.origin ??= location;
  if (current && !current.origins.has(node)) current.origins.set(node, location);
}

/** A key for a custom derivative rule: numbered per model, so generated code does not depend on what ran before. */
export function nextCustomRuleKey(name: string): string {
  if (current) return `${name}#${current.customRules++}`;
  return `${name}#global${customRulesOutsideModels++}`;
}
