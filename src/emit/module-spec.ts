// The `spec` every generated module exports (names, shapes, dtype, optimizer, structure hash), the
// same for each target, so runtime code (checkpoints, fit) reads any trainer alike.

import type { Program } from "../schedule/program.js";

export function moduleSpec(program: Program) {
  return {
    model: program.modelName,
    batch: program.batch,
    dtype: program.dtype,
    structureHash: program.structureHash,
    inputs: Object.fromEntries(program.inputs.map((x) => [x.name, x.shape])),
    params: Object.fromEntries(program.params.map((p) => [p.name, p.shape])),
    outputs: Object.fromEntries(program.outputs.map((o) => [o.name, o.shape])),
    optimizer: program.optimizer,
    dropout: program.dropout.map((d) => d.dropProbability),
  };
}

/** The header's and the CLI's words for the compiled batch (the default is 1, easily missed). */
export function examplesPerCall(batch: number): string {
  return batch === 1 ? "one example per call; compile with --batch N for up to N" : `up to ${batch} examples per call`;
}
