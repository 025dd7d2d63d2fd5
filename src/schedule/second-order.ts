// Second-order optimizers in the Program: what newton and hessian-free need besides the gradient.
// Their step is not a fused loop per parameter but a solve over all parameters at once
// ((H + λI)Δ = −g by Cholesky, or by truncated conjugate gradients), so the Program carries
//   - an entry point "hessianVector" that fills state_<p>_product with (H·v)_p from state_<p>_direction
//     (the reverse-over-reverse graph of src/grad/hessian-vector.ts), and
//   - those two buffers per parameter as optimizer state,
// and the module's step runs the solve in src/emit/runtime/second-order.ts over them.

import { GradgenError, type SourceLocation } from "../errors.js";
import { directionSlot } from "../grad/hessian-vector.js";
export { directionSlot };
import { sizeOf } from "../ir/shape.js";
import { reachableInOrder } from "../ir/graph.js";
import { Op } from "../ir/ops.js";
import type { Node } from "../ir/node.js";
import type { OptimizerSpec } from "../optimizers.js";
import { bufferName } from "./names.js";
import type { ParamInfo } from "./program.js";
import type { OptimizerPlan } from "./optimizer-updates.js";

/** The slot each parameter's (H·v) block is written to. */
export const productSlot = "product";

/** The most scalar parameters a Newton (or Levenberg–Marquardt) step takes: H is P² doubles (32 MB at 2,000) and P products per step. */
const newtonParameterLimit = 2000;

/** The damping λ, shared by all parameters (kept in the state so snapshots and checkpoints carry it). */
export const dampingBuffer = bufferName.optimizerScalar("damping");

export function planSecondOrder(
  spec: OptimizerSpec & { damping: number },
  params: readonly ParamInfo[],
): OptimizerPlan {
  const slots = params.flatMap((p) =>
    [directionSlot, productSlot].map((slot) => ({
      name: bufferName.state(p.name, slot),
      label: `${p.name}.${slot}`,
      size: sizeOf(p.shape),
      initial: 0,
    })),
  );
  const state = [...slots, { name: dampingBuffer, label: "damping", size: 1, initial: spec.damping }];
  return { state, beforeGradient: [], update: [] };
}

/** The buffer a Param leaf reads: the parameter's, or the optimizer slot it names (a direction v). */
export const paramLeafBuffer = (node: Node): string =>
  node.attrs.slot === undefined
    ? bufferName.param(node.attrs.name!)
    : bufferName.state(node.attrs.name!, node.attrs.slot);

/** Does the loss depend on a dropout mask? */
export const usesDropout = (loss: Node): boolean => reachableInOrder([loss]).some((node) => node.op === Op.DropoutMask);

/** Refuse what a second-order step cannot do, with the model's line. */
export function checkSecondOrder(
  spec: OptimizerSpec,
  parameterCount: number,
  hasDropout: boolean,
  targets: readonly string[],
  where: SourceLocation | undefined,
  hasResidual = false,
): void {
  if (spec.kind !== "newton" && spec.kind !== "levenberg-marquardt" && spec.kind !== "hessian-free") return;
  if (targets.includes("wgsl")) {
    throw new GradgenError(
      `--optimizer ${spec.kind} runs on the TypeScript target only: its step solves a linear system over all parameters (a sequential Cholesky factorisation or conjugate-gradient loop) that the WGSL target does not generate. Compile with --target ts, or pick a first-order optimizer (sgd, momentum, nesterov, adagrad, rmsprop, adam) for --target wgsl.`,
      where,
    );
  }
  if (hasDropout) {
    throw new GradgenError(
      `--optimizer ${spec.kind} needs a deterministic loss: the step compares the loss before and after the solved update, and this model uses dropout, which changes the loss on every draw. Remove nn.dropout, or use a first-order optimizer.`,
      where,
    );
  }
  if (spec.kind === "levenberg-marquardt" && !hasResidual) {
    throw new GradgenError(
      `--optimizer levenberg-marquardt fits least-squares losses: the model must return { loss: nn.leastSquares(r) } for its residual r (the loss is then ½‖r‖² per example, and the step uses the Gauss–Newton matrix JᵀJ of r). Write the loss that way, or use --optimizer newton for any other loss.`,
      where,
    );
  }
  if (spec.kind !== "hessian-free" && parameterCount > newtonParameterLimit) {
    throw new GradgenError(
      `--optimizer ${spec.kind} takes at most ${newtonParameterLimit} scalar parameters (the ${spec.kind === "newton" ? "Hessian" : "Gauss–Newton matrix"} is P×P and each step computes P matrix-vector products); this model has ${parameterCount}. Use --optimizer hessian-free, which needs only a few such products per step, for larger models.`,
      where,
    );
  }
}
