// TrainingGraph → Program: lower each entry point, then plan the shared work buffers.

import type { TrainingGraph } from "../passes/pipeline.js";
import { planBuffers } from "./buffers.js";
import { bufferNameOf, lowerEntryPoint, type Binding } from "./lower.js";
import type { BufferDecl, EntryPoint, Program } from "./program.js";

export interface ScheduleOptions {
  readonly batch: number;
  readonly dtype: "f32" | "f64";
  readonly learningRate: number;
}

export function schedule(graph: TrainingGraph, options: ScheduleOptions): Program {
  const { model } = graph;
  const toBuffer = (name: string, perExample: boolean) => ({ kind: "buffer" as const, name, perExample });
  const lossBinding: Binding = { node: graph.meanLoss, target: { kind: "return" } };
  const entrySpecs: { name: EntryPoint["name"]; bindings: Binding[] }[] = [
    { name: "loss", bindings: [lossBinding] },
    {
      name: "gradient",
      bindings: [
        lossBinding,
        ...graph.paramGrads.map((node, i) => ({ node, target: toBuffer(bufferNameOf.grad(model.params[i]!.attrs.name!), false) })),
        ...graph.inputGrads.map(({ name, node }) => ({ node, target: toBuffer(bufferNameOf.inputGrad(name), true) })),
      ],
    },
    { name: "predict", bindings: graph.outputs.map(({ name, node }) => ({ node, target: toBuffer(bufferNameOf.output(name), node.batched) })) },
  ];
  const lowered = entrySpecs.map((spec) => lowerEntryPoint(spec.bindings));
  const { slots, planned } = planBuffers(lowered, options.batch);

  const buffers: BufferDecl[] = [
    ...model.params.map((p) => ({ name: bufferNameOf.param(p.attrs.name!), role: "param" as const, size: p.size, perExample: false })),
    ...model.params.map((p) => ({ name: bufferNameOf.grad(p.attrs.name!), role: "grad" as const, size: p.size, perExample: false })),
    ...graph.inputGrads.map(({ name, node }) => ({ name: bufferNameOf.inputGrad(name), role: "inputGrad" as const, size: node.size, perExample: true })),
    ...graph.outputs.map(({ name, node }) => ({ name: bufferNameOf.output(name), role: "output" as const, size: node.size, perExample: node.batched })),
    ...slots.map((slot) => ({ name: slot.name, role: "work" as const, size: slot.size, perExample: false })),
  ];
  const entryPoints: EntryPoint[] = entrySpecs.map((spec, i) => ({
    name: spec.name,
    kernels: planned[i]!.kernels,
    inputs: model.inputs.map((x) => x.attrs.name!).filter((name) => lowered[i]!.inputsRead.has(name)),
    ...(planned[i]!.returns ? { returns: planned[i]!.returns } : {}),
  }));
  return {
    modelName: model.name,
    batch: options.batch,
    dtype: options.dtype,
    learningRate: options.learningRate,
    params: model.params.map((p) => ({ name: p.attrs.name!, shape: p.shape, init: p.attrs.init ?? "zeros" })),
    inputs: model.inputs.map((x) => ({ name: x.attrs.name!, shape: x.shape, wantsGrad: x.attrs.wantsGrad === true })),
    outputs: graph.outputs.map(({ name, node }) => ({ name, shape: node.shape })),
    buffers,
    entryPoints,
  };
}
