// What one trainer can allocate, checked at compile time: a shape or batch size that cannot work
// is refused with its size and the model line, not discovered when createTrainer() runs.
//
// Limits, measured on Node 20 (64-bit): a typed array holds at most 2³² elements; a WebAssembly
// memory at most 65536 pages = 2³² bytes; `new ArrayBuffer` takes up to 2⁵³ − 1 bytes but fails at
// whatever the machine can back. The WebAssembly GEMM receives element offsets as (signed) i32, so
// one tensor may hold at most 2³¹ elements, and the arena, one memory for every buffer of the
// trainer, at most 2³² bytes.

import { GradgenError, type SourceLocation } from "../errors.js";
import type { TracedModel } from "../dsl/model.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { formatShape } from "../ir/shape.js";
import type { Program } from "./program.js";

const maxTensorElements = 2 ** 31;
const maxArenaBytes = 2 ** 32;

/** Every tensor the model computes, as it would be allocated at `batch` examples per call. */
export function checkTensorSizes(model: TracedModel, batch: number, fallback: SourceLocation | undefined): void {
  const seen = new Set<Node>();
  const pending: Node[] = [model.loss, ...model.outputs.map((o) => o.node), ...model.params, ...model.inputs];
  let worst: Node | undefined;
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    pending.push(...node.inputs);
    // The first declared (lowest id) offender: the root cause, when several follow from it.
    if (elementsOf(node, batch) > maxTensorElements && (worst === undefined || node.id < worst.id)) worst = node;
  }
  if (worst === undefined) return;
  const elements = elementsOf(worst, batch);
  const perExample = worst.batched
    ? ` (${formatShape(worst.shape)} per example × batch ${batch})`
    : ` (${formatShape(worst.shape)})`;
  throw new GradgenError(
    `${describeNode(worst)} of model "${model.name}" would hold ${elements} elements${perExample}, more than the ${maxTensorElements} (2³¹) one tensor of a generated trainer can hold. ` +
      `Use a smaller shape${worst.batched ? " or a smaller --batch" : ""}.`,
    model.origins.get(worst) ?? worst.origin ?? fallback,
  );
}

/** The arena, every buffer of the trainer in one block of memory. */
export function checkArenaSize(program: Program, model: TracedModel, fallback: SourceLocation | undefined): void {
  const bytesPerElement = program.dtype === "f64" ? 8 : 4;
  const bytes = program.arenaSize * bytesPerElement;
  if (bytes <= maxArenaBytes) return; // then every buffer, too, holds fewer than 2³¹ elements
  const declared = [...model.inputs, ...model.params].sort(
    (a, b) => elementsOf(b, program.batch) - elementsOf(a, program.batch) || a.id - b.id,
  );
  const largest = declared
    .slice(0, 3)
    .map(
      (node) => `${describeNode(node)} ${formatShape(node.shape)}${node.batched ? ` × batch ${program.batch}` : ""}`,
    );
  throw new GradgenError(
    `model "${model.name}" needs ${bytes} bytes of buffers at batch ${program.batch} in ${program.dtype}, more than the ${maxArenaBytes} (2³², 4 GiB) one trainer's memory can hold ` +
      `(the largest tensors it declares: ${largest.join(", ")}). Use a smaller --batch or smaller shapes${program.dtype === "f64" ? ", or --dtype f32" : ""}.`,
    declared[0] ? (model.origins.get(declared[0]) ?? declared[0].origin ?? fallback) : fallback,
  );
}

function elementsOf(node: Node, batch: number): number {
  return node.size * (node.batched ? batch : 1);
}

function describeNode(node: Node): string {
  if (node.op === Op.Input) return `input "${node.attrs.name}"`;
  if (node.op === Op.Param) return `param "${node.attrs.name}"`;
  return `the result of ${node.op}`;
}
