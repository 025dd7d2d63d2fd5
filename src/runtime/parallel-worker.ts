// One worker thread of gradgen/parallel: waits for a step, computes its shard's gradient with its
// own trainer, writes nᵢ·gᵢ and nᵢ·lossᵢ to shared memory, and reports back.

import { parentPort, workerData } from "node:worker_threads";
import type { SharedLayout, SplittableTrainer } from "./parallel.js";
import { arrayTypeOf, sharedView, sizeOf, type Dataset } from "./trainer.js";

interface WorkerData {
  readonly moduleUrl: string;
  readonly index: number;
  readonly layout: SharedLayout;
  readonly trainerOptions: object;
}

const { moduleUrl, index, layout, trainerOptions } = workerData as WorkerData;
const generated = (await import(moduleUrl)) as { createTrainer(options?: object): SplittableTrainer };
const trainer = generated.createTrainer(trainerOptions);
const { spec } = trainer;
const Values = arrayTypeOf(spec.dtype);
const control = new Int32Array(layout.control);
const losses = new Float64Array(layout.losses);
const params = Object.keys(spec.params).map(
  (name) => [trainer.params[name]!, sharedView(spec.dtype, layout.params[name]!)] as const,
);
const grads = Object.keys(spec.params).map(
  (name) => [trainer.grads[name]!, sharedView(spec.dtype, layout.grads[index]![name]!)] as const,
);
const inputs = Object.entries(spec.inputs).map(
  ([name, shape]) => [name, sizeOf(shape), sharedView(spec.dtype, layout.inputs[name]!)] as const,
);
// The shard, copied to the front of buffers of this thread's own (the trainer reads examples 0…nᵢ).
const batch: Dataset = Object.fromEntries(inputs.map(([name, size]) => [name, new Values(size * spec.batch)]));
const shard = inputs.map(([name, size, shared]) => [size, shared, batch[name]!] as const);

parentPort!.postMessage("ready");
let seen = 0;
for (;;) {
  Atomics.wait(control, 0, seen);
  const generation = Atomics.load(control, 0);
  if (generation < 0) break;
  seen = generation;
  const start = control[2 + 2 * index]!;
  const count = control[3 + 2 * index]!;
  if (count > 0) {
    for (const [local, shared] of params) local.set(shared);
    for (const [size, shared, local] of shard) {
      for (let i = 0, from = start * size; i < count * size; i++, from++) local[i] = shared[from]!;
    }
    trainer.resampleDropout(count);
    losses[index] = trainer.gradient(batch, count) * count;
    for (const [local, shared] of grads) for (let i = 0; i < local.length; i++) shared[i] = local[i]! * count;
  } else {
    losses[index] = 0;
    for (const [, shared] of grads) shared.fill(0);
  }
  Atomics.add(control, 1, 1);
  Atomics.notify(control, 1);
}
