// The TypeScript trainer's parts for newton, levenberg-marquardt and hessian-free (src/schedule/second-order.ts): the
// solver of src/emit/runtime/second-order.ts wired to the generated entry points, the step that runs
// it, and trainer.hessianVector. Text only: what to compute is in the Program.

import type { EntryPointName, Program } from "../schedule/program.js";
import { bufferName, stringLiteral } from "../schedule/names.js";
import { dampingBuffer, directionSlot, productSlot } from "../schedule/second-order.js";
import { numberLiteral as literal } from "./module-spec.js";

export interface SecondOrderParts {
  /** Inside createTrainer, after the entry functions. */
  readonly setup: string;
  /** runStep's body. */
  readonly stepCall: string;
  /** trainer.hessianVector. */
  readonly members: string;
}

/**
 * Undefined unless the optimizer is second-order. `scalarArgs(name, count)` are entry function
 * `name`'s arguments after its inputs; `prepare(name)` checks a call's batch and settles `count`, and
 * `inputArgs(name)` are then the entry function's input arguments.
 */
export function secondOrderParts(
  program: Program,
  scalarArgs: (name: EntryPointName, count: string) => readonly string[],
  inputArgs: (name: EntryPointName) => readonly string[],
  prepare: (name: EntryPointName) => readonly string[],
): SecondOrderParts | undefined {
  const spec = program.optimizer;
  if (spec.kind !== "newton" && spec.kind !== "levenberg-marquardt" && spec.kind !== "hessian-free") return undefined;
  const inputs = (name: EntryPointName) => program.entryPoints.find((e) => e.name === name)?.inputs ?? [];
  if (!program.entryPoints.some((e) => e.name === "hessianVector"))
    throw new Error("internal: a second-order optimizer without its hessianVector entry");
  /** The batch read from `secondOrderBatch` (fromCall) or as `prepare` left it. */
  const args = (name: EntryPointName, count: string, fromCall: boolean) => [
    ...(fromCall ? inputs(name).map((x) => `inputField(secondOrderBatch, ${stringLiteral(x)})`) : inputArgs(name)),
    ...scalarArgs(name, count),
  ];
  const buffers = (name: (param: string) => string) => `[${program.params.map((p) => name(p.name)).join(", ")}]`;
  const run = (name: EntryPointName) => `${name}Program(${args(name, "secondOrderCount", true).join(", ")})`;
  const settings = [
    `method: ${stringLiteral(spec.kind)}`,
    `cgIterations: ${spec.kind === "hessian-free" ? spec.cgIterations : 0}`,
    `weightDecay: ${literal(spec.weightDecay)}`,
    `tolerance: ${program.dtype === "f32" ? "1e-6" : "1e-13"}`,
  ];
  const setup = [
    `  // The second-order step (its solver is createSecondOrder above): the entry points read the current call's batch.`,
    `  let secondOrderBatch: object = {};`,
    `  let secondOrderCount = 0;`,
    `  const secondOrder = createSecondOrder(`,
    `    { ${settings.join(", ")} },`,
    `    ${buffers(bufferName.param)},`,
    `    ${buffers(bufferName.grad)},`,
    `    ${buffers((p) => bufferName.state(p, directionSlot))},`,
    `    ${buffers((p) => bufferName.state(p, productSlot))},`,
    `    ${dampingBuffer},`,
    `    lossSlot,`,
    `    {`,
    `      gradient: () => ${run("gradient")},`,
    `      hessianVector: () => ${run("hessianVector")},`,
    `      loss: () => ${run("loss")},`,
    `    },`,
    `  );`,
  ].join("\n");
  const stepCall = [
    ...prepare("gradient"),
    `      secondOrderBatch = batch;`,
    `      secondOrderCount = count;`,
    `      secondOrder.step(trainer.learningRate);`,
  ]
    .map((line) => line.slice(2))
    .join("\n");
  const members = [
    `    hessianVector(batch: Batch, n?: number): void {`,
    ...prepare("hessianVector"),
    `      hessianVectorProgram(${args("hessianVector", "count", false).join(", ")});`,
    `    },`,
    ``,
  ].join("\n");
  return { setup, stepCall, members };
}
