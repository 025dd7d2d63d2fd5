// Derivative rules users supply for their own functions (as JAX's custom_vjp, TensorFlow's
// customGrad): kept by key, since IR nodes hold only plain data.

import { GradgenError } from "../errors.js";
import type { Node } from "../ir/node.js";
import { sameShape, formatShape } from "../ir/shape.js";

export type CustomRule = (context: {
  readonly inputs: readonly Node[];
  readonly out: Node;
  readonly adjoint: Node;
}) => readonly Node[];

const rules = new Map<string, CustomRule>();

export const customRules = {
  register(key: string, rule: CustomRule): void {
    rules.set(key, rule);
  },
  apply(key: string, context: Parameters<CustomRule>[0]): Node[] {
    const rule = rules.get(key);
    if (!rule) throw new GradgenError(`internal: no custom derivative rule "${key}"`);
    const parts = rule(context);
    if (parts.length !== context.inputs.length) {
      throw new GradgenError(
        `custom derivative rule ${key} returned ${parts.length} gradients for ${context.inputs.length} inputs; return one per input.`,
      );
    }
    return parts.map((part, i) => {
      const input = context.inputs[i]!;
      if (!sameShape(part.shape, input.shape)) {
        throw new GradgenError(
          `custom derivative rule ${key}: gradient ${i} has shape ${formatShape(part.shape)} but its input has shape ${formatShape(input.shape)}.`,
        );
      }
      return part;
    });
  },
};
