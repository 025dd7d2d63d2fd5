// TrainingGraph → Program: lower each entry point, add the optimizer's update kernels, then plan
// the shared work buffers.

import { createHash } from "node:crypto";
import { dump, type TrainingGraph } from "../pipeline.js";
import { printGraph } from "../ir/print.js";
import type { OptimizerSpec } from "../optimizers.js";
import { planBuffers } from "./buffers.js";
import { defaultTuning, lowerEntryPoint, type Binding, type Tuning } from "./lower.js";
import { straightLineDims } from "./views.js";
import { planOptimizer, runningStatisticUpdate } from "./optimizer-updates.js";
import { bufferName } from "./names.js";
import { productSlot } from "./second-order.js";
import type { Access, BufferDecl, EntryPoint, EntryPointName, Kernel, Program } from "./program.js";
import { sizeOf } from "../ir/shape.js";
import { idBound } from "../ir/ids.js";
import { reachableInOrder } from "../ir/graph.js";
import { Op } from "../ir/ops.js";
import type { InitSpec } from "../initializers.js";
import { printKernels, printProgram } from "./print.js";
import { sparseRows } from "./sparse-rows.js";
import { cutWideSums } from "./wide-sums.js";

/** Decide which innermost loops are written out as straight-line code. */
function writeOut(kernel: Kernel, tuning: Tuning): Kernel {
  if (kernel.kind === "scan") return { ...kernel, kernels: kernel.kernels.map((k) => writeOut(k, tuning)) };
  return kernel.kind === "loop"
    ? { ...kernel, unrolled: straightLineDims(kernel.dims, tuning.straightLineLimit) }
    : kernel;
}

/**
 * Optimizer updates: written out only while the copies stay within the values of `straightLineLimit` short
 * bodies (8 values each), so SGD's 7-value body still unrolls a tiny parameter (1–4% faster on xor) while
 * Adam's 25-value body stays a loop per parameter (445 lines against 126 on xor, same speed).
 */
function writeOutUpdate(kernel: Kernel, tuning: Tuning): Kernel {
  if (kernel.kind !== "loop") return kernel;
  const copies = Math.floor((8 * tuning.straightLineLimit) / Math.max(1, kernel.values.length));
  return { ...kernel, unrolled: straightLineDims(kernel.dims, copies) };
}

export interface ScheduleOptions {
  readonly batch: number;
  readonly dtype: "f32" | "f64";
  readonly optimizer: OptimizerSpec;
  readonly tuning?: Tuning;
}

export function schedule(graph: TrainingGraph, options: ScheduleOptions): Program {
  const { model } = graph;
  const toBuffer = (name: string, perExample: boolean) => ({ kind: "buffer" as const, name, perExample });
  const trainingLoss: Binding = { node: graph.trainingLoss, target: { kind: "return" } };
  const entrySpecs: { name: EntryPointName; bindings: Binding[] }[] = [
    { name: "loss", bindings: [{ node: graph.meanLoss, target: { kind: "return" } }] },
    ...(graph.dropoutMasks.length > 0 || graph.statistics.length > 0
      ? [{ name: "trainingLoss" as const, bindings: [trainingLoss] }]
      : []),
    {
      name: "gradient",
      bindings: [
        trainingLoss,
        ...graph.paramGrads.map((node, i) => ({
          node,
          target: toBuffer(bufferName.grad(model.params[i]!.attrs.name!), false),
        })),
        ...graph.inputGrads.map(({ name, node }) => ({ node, target: toBuffer(bufferName.inputGrad(name), true) })),
        // The batch estimates step() folds into the running statistics (nn.batchNorm)
        ...graph.statistics.map(({ label, estimate }) => ({
          node: estimate,
          target: toBuffer(bufferName.batchStatistic(label), false),
        })),
      ],
    },
    {
      name: "predict",
      bindings: graph.outputs.map(({ name, node }) => ({
        node,
        target: toBuffer(bufferName.output(name), node.batched),
      })),
    },
    ...(graph.hessianVector
      ? [
          {
            name: "hessianVector" as const,
            bindings: graph.hessianVector.map((node, i) => ({
              node,
              target: toBuffer(bufferName.state(model.params[i]!.attrs.name!, productSlot), false),
            })),
          },
        ]
      : []),
  ];
  const tuning = options.tuning ?? defaultTuning;
  const lowered = entrySpecs.map((spec) => lowerEntryPoint(spec.bindings, tuning, graph.origins));
  const entryText = (kernels: (i: number) => { kernels: readonly Kernel[]; returns?: Access }) =>
    entrySpecs
      .map(
        (spec, i) => `entry ${spec.name}\n${printKernels(kernels(i).kernels, kernels(i).returns).replace(/^/gm, "  ")}`,
      )
      .join("\n");
  dump("lower", "program", () => entryText((i) => lowered[i]!));
  const { slots, planned } = planBuffers(lowered, options.batch);
  dump("plan-buffers", "program", () =>
    [...slots.map((slot) => `${slot.name}: ${slot.size}`), entryText((i) => planned[i]!)].join("\n"),
  );

  const params = model.params.map((p) => ({
    name: p.attrs.name!,
    shape: p.shape,
    init: p.attrs.init ?? "zeros",
    // (init.sparse keeps the [in…, out] layout its placement writes in)
    ...(model.filterFans?.has(p) && !isSparse(p.attrs.init) ? { filterFans: model.filterFans.get(p)! } : {}),
    ...(p.attrs.frozen ? { frozen: true } : {}),
  }));
  // Frozen parameters get no update (and no optimizer state).
  const optimizer = planOptimizer(
    options.optimizer,
    params.filter((p) => !p.frozen),
  );
  const optimizerEntries: EntryPoint[] = [
    ...(optimizer.beforeGradient.length > 0
      ? [
          {
            name: "beforeGradient" as const,
            kernels: optimizer.beforeGradient.map((k) => writeOutUpdate(k, tuning)),
            inputs: [],
          },
        ]
      : []),
    {
      name: "update",
      kernels: [...optimizer.update, ...graph.statistics.map(runningStatisticUpdate)].map((k) =>
        writeOutUpdate(k, tuning),
      ),
      inputs: [],
    },
  ];

  // Constant tensors the program reads, in a deterministic order (first reached), each once.
  const constantNodes = reachableInOrder(entrySpecs.flatMap((spec) => spec.bindings.map((b) => b.node))).filter(
    (node) => node.op === Op.ConstTensor,
  );
  const constants = constantNodes.map((node) => ({
    buffer: bufferName.constant(node.hash),
    values: node.attrs.values!,
  }));
  const declared: Omit<BufferDecl, "offset">[] = [
    ...constants.map((c) => ({
      name: c.buffer,
      role: "constant" as const,
      size: c.values.length,
      perExample: false,
    })),
    ...params.map((p) => ({
      name: bufferName.param(p.name),
      role: "param" as const,
      size: sizeOf(p.shape),
      perExample: false,
    })),
    ...params.map((p) => ({
      name: bufferName.grad(p.name),
      role: "grad" as const,
      size: sizeOf(p.shape),
      perExample: false,
    })),
    ...optimizer.state.map((s) => ({ name: s.name, role: "state" as const, size: s.size, perExample: false })),
    ...graph.statistics.flatMap((s) => [
      { name: bufferName.running(s.label), role: "state" as const, size: sizeOf(s.shape), perExample: false },
      { name: bufferName.batchStatistic(s.label), role: "state" as const, size: sizeOf(s.shape), perExample: false },
    ]),
    ...graph.dropoutMasks.map((m) => ({
      name: bufferName.mask(m.name),
      role: "mask" as const,
      size: sizeOf(m.shape),
      perExample: true,
    })),
    ...graph.inputGrads.map(({ name, node }) => ({
      name: bufferName.inputGrad(name),
      role: "inputGrad" as const,
      size: node.size,
      perExample: true,
    })),
    ...graph.outputs.map(({ name, node }) => ({
      name: bufferName.output(name),
      role: "output" as const,
      size: node.size,
      perExample: node.batched,
    })),
    ...slots.map((slot) => ({ name: slot.name, role: "work" as const, size: slot.size, perExample: false })),
  ];
  // One block of memory, buffers one after another, each starting on a 16-byte boundary (SIMD loads).
  const alignment = options.dtype === "f32" ? 4 : 2;
  let arenaSize = 0;
  const buffers: BufferDecl[] = declared.map((buffer) => {
    const offset = arenaSize;
    const elements = Math.max(1, buffer.size * (buffer.perExample ? options.batch : 1));
    arenaSize += Math.ceil(elements / alignment) * alignment;
    return { ...buffer, offset };
  });
  const dense: EntryPoint[] = [
    ...entrySpecs.map((spec, i) => ({
      name: spec.name,
      kernels: planned[i]!.kernels.map((kernel) => writeOut(kernel, tuning)),
      inputs: model.inputs.map((x) => x.attrs.name!).filter((name) => lowered[i]!.inputsRead.has(name)),
      ...(planned[i]!.returns ? { returns: planned[i]!.returns } : {}),
    })),
    ...optimizerEntries,
  ];
  const sparse = sparseRows(dense, params, options.optimizer, options.batch, tuning.sparseRows);
  const { rowSets } = sparse;
  // Wide sums (an unrolled recurrence's Σ_t over its steps) cut into kernels that fit a function (wide-sums.ts).
  const entryPoints = sparse.entryPoints.map((entry) => ({
    ...entry,
    kernels: cutWideSums(entry.kernels, options.batch),
  }));
  const structure = [
    printGraph([graph.trainingLoss, ...graph.paramGrads, graph.meanLoss, ...graph.outputs.map((o) => o.node)]),
    ...params.map((p) => `${p.name}: [${p.shape.join(",")}]${p.frozen ? " frozen" : ""}`),
  ].join("\n");
  const roots = [graph.trainingLoss, graph.meanLoss, ...graph.paramGrads, ...graph.outputs.map((o) => o.node)];
  const program: Program = {
    modelName: model.name,
    batch: options.batch,
    dtype: options.dtype,
    optimizer: options.optimizer,
    structureHash: createHash("sha256").update(structure).digest("hex").slice(0, 16),
    state: [
      ...optimizer.state.map((s) => ({ buffer: s.name, label: s.label, size: s.size, initial: s.initial })),
      ...graph.statistics.map((s) => ({
        buffer: bufferName.running(s.label),
        label: s.label,
        size: sizeOf(s.shape),
        initial: s.initial,
      })),
    ],
    dropout: graph.dropoutMasks.map((m) => ({
      buffer: bufferName.mask(m.name),
      size: sizeOf(m.shape),
      dropProbability: m.dropProbability,
    })),
    ...(constants.length > 0 ? { constants } : {}),
    params,
    inputs: model.inputs.map((x) => ({
      name: x.attrs.name!,
      shape: x.shape,
      wantsGrad: x.attrs.wantsGrad === true,
      ...(x.attrs.dtype === "int32" ? { ids: { bound: idBound(roots, x) ?? 2 ** 31 - 1 } } : {}),
    })),
    outputs: graph.outputs.map(({ name, node }) => ({ name, shape: node.shape })),
    buffers,
    arenaSize,
    entryPoints,
    rowSets,
  };
  dump("program", "program", () => printProgram(program));
  return program;
}

const isSparse = (init: InitSpec | undefined) => typeof init === "object" && init.kind === "sparse";
