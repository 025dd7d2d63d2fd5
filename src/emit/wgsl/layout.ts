// Where values live on the GPU: every Program buffer, the batch inputs, the locals and the returned
// losses in a few large f32 storage buffers ("chunks", each at most one storage binding), bound once.

import { GradgenError } from "../../errors.js";
import { sizeOf } from "../../ir/shape.js";
import { bufferName, wgslRegion } from "../../schedule/names.js";
import type { Program } from "../../schedule/program.js";

/** WebGPU's default maxStorageBuffersPerShaderStage. */
const MAX_STORAGE_BUFFERS = 8;
/** WebGPU's default maxStorageBufferBindingSize. */
export const DEFAULT_MAX_BINDING_BYTES = 128 * 1024 * 1024;

export interface Region {
  readonly name: string;
  readonly chunk: number;
  /** First element within its chunk. */
  readonly offset: number;
  readonly elements: number;
}

export interface Layout {
  readonly regions: ReadonlyMap<string, Region>;
  /** Elements of each chunk. */
  readonly chunks: readonly number[];
}

export function planLayout(program: Program, maxBindingBytes: number): Layout {
  const wanted: { name: string; elements: number }[] = [];
  for (const buffer of program.buffers)
    wanted.push({ name: buffer.name, elements: Math.max(1, buffer.size * (buffer.perExample ? program.batch : 1)) });
  for (const input of program.inputs)
    wanted.push({ name: bufferName.input(input.name), elements: Math.max(1, sizeOf(input.shape) * program.batch) });
  for (const entry of program.entryPoints) {
    for (const kernel of entry.kernels)
      if (kernel.kind === "local") wanted.push({ name: wgslRegion.local(entry.name, kernel.name), elements: 1 });
    if (entry.returns) wanted.push({ name: wgslRegion.result(entry.name), elements: 1 });
  }
  const capacity = Math.floor(maxBindingBytes / 4);
  const regions = new Map<string, Region>();
  const chunks: number[] = [];
  for (const { name, elements } of wanted) {
    if (regions.has(name)) continue;
    if (elements > capacity) {
      throw new GradgenError(
        `the WGSL target cannot hold ${name} (${elements} f32 values, ${elements * 4} bytes) in one storage buffer binding of at most ${maxBindingBytes} bytes; use a smaller layer or batch.`,
      );
    }
    const last = chunks.length - 1;
    if (last < 0 || chunks[last]! + elements > capacity) chunks.push(0);
    const chunk = chunks.length - 1;
    regions.set(name, { name, chunk, offset: chunks[chunk]!, elements });
    chunks[chunk]! += elements;
  }
  const storageBuffers = chunks.length + (program.dropout.length > 0 ? 1 : 0);
  if (storageBuffers > MAX_STORAGE_BUFFERS) {
    throw new GradgenError(
      `the WGSL target needs ${storageBuffers} storage buffers of at most ${maxBindingBytes} bytes for model "${program.modelName}", more than WebGPU's default limit of ${MAX_STORAGE_BUFFERS} per shader stage; use a smaller model or batch.`,
    );
  }
  return { regions, chunks };
}
