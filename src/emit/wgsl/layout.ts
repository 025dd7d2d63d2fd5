// Where values live on the GPU: every Program buffer, the batch inputs, the locals, the returned
// losses and the planner's scratch (split-K partial products) in a few large f32 storage buffers
// ("chunks", each at most one storage binding), bound once. Chunks hold one role each (inputs,
// parameters, gradients, optimizer state and masks, work), so that a shader which only reads a
// role binds its chunk `var<storage, read>`; every region starts on a 16-byte boundary (vec4).

import { GradgenError } from "../../errors.js";
import { sizeOf } from "../../ir/shape.js";
import { bufferName, wgslRegion } from "../../schedule/names.js";
import type { BufferRole, Program } from "../../schedule/program.js";

/** WebGPU's default maxStorageBuffersPerShaderStage. */
export const MAX_STORAGE_BUFFERS = 8;
/** WebGPU's default maxStorageBufferBindingSize. */
export const DEFAULT_MAX_BINDING_BYTES = 128 * 1024 * 1024;
/** Regions start at multiples of this many elements (16 bytes: a vec4<f32>). */
const REGION_ALIGNMENT = 4;

/** What a chunk holds: shaders that only read a role bind its chunks read-only. */
export type ChunkRole = "input" | "param" | "grad" | "state" | "work";
const chunkRoles: Readonly<Record<BufferRole, ChunkRole>> = {
  input: "input",
  param: "param",
  grad: "grad",
  inputGrad: "grad",
  state: "state",
  mask: "state",
  output: "work",
  work: "work",
  constant: "param", // written once by the host, only read by shaders
};

export interface Region {
  readonly name: string;
  readonly chunk: number;
  /** First element within its chunk (a multiple of REGION_ALIGNMENT). */
  readonly offset: number;
  readonly elements: number;
}

export interface Layout {
  readonly regions: ReadonlyMap<string, Region>;
  /** Elements of each chunk. */
  readonly chunks: readonly number[];
  /** The role of each chunk's regions. */
  readonly roles: readonly ChunkRole[];
}

/** A region the planner adds (split-K partial products): a work region of `elements` f32. */
export interface ExtraRegion {
  readonly name: string;
  readonly elements: number;
}

const align = (elements: number) => Math.ceil(elements / REGION_ALIGNMENT) * REGION_ALIGNMENT;

export function planLayout(program: Program, maxBindingBytes: number, extra: readonly ExtraRegion[] = []): Layout {
  const wanted: { name: string; elements: number; role: ChunkRole }[] = [];
  for (const buffer of program.buffers)
    wanted.push({
      name: buffer.name,
      elements: Math.max(1, buffer.size * (buffer.perExample ? program.batch : 1)),
      role: chunkRoles[buffer.role],
    });
  for (const input of program.inputs)
    wanted.push({
      name: bufferName.input(input.name),
      elements: Math.max(1, sizeOf(input.shape) * program.batch),
      role: "input",
    });
  for (const entry of program.entryPoints) {
    for (const kernel of entry.kernels)
      if (kernel.kind === "local")
        wanted.push({ name: wgslRegion.local(entry.name, kernel.name), elements: 1, role: "work" });
    if (entry.returns) wanted.push({ name: wgslRegion.result(entry.name), elements: 1, role: "work" });
  }
  for (const region of extra) wanted.push({ ...region, role: "work" });
  const capacity = Math.floor(maxBindingBytes / 4 / REGION_ALIGNMENT) * REGION_ALIGNMENT;
  const regions = new Map<string, Region>();
  const chunks: number[] = [];
  const roles: ChunkRole[] = [];
  const roleOf = new Map<string, ChunkRole>();
  for (const w of wanted) if (!roleOf.has(w.name)) roleOf.set(w.name, w.role);
  const order: readonly ChunkRole[] = ["input", "param", "grad", "state", "work"];
  for (const role of order) {
    let current = -1;
    for (const { name, elements } of wanted) {
      if (regions.has(name) || roleOf.get(name) !== role) continue;
      if (elements > capacity) {
        throw new GradgenError(
          `the WGSL target cannot hold ${name} (${elements} f32 values, ${elements * 4} bytes) in one storage buffer binding of at most ${maxBindingBytes} bytes; use a smaller layer or batch.`,
        );
      }
      if (current < 0 || chunks[current]! + elements > capacity) {
        chunks.push(0);
        roles.push(role);
        current = chunks.length - 1;
      }
      regions.set(name, { name, chunk: current, offset: chunks[current]!, elements });
      chunks[current] = Math.min(capacity, align(chunks[current]! + elements));
    }
  }
  return { regions, chunks, roles };
}

/** The error when a shader would bind more storage buffers than WebGPU's default limit. */
export function tooManyBindings(program: Program, count: number, maxBindingBytes: number): GradgenError {
  return new GradgenError(
    `the WGSL target needs ${count} storage buffers of at most ${maxBindingBytes} bytes in one shader of model "${program.modelName}", more than WebGPU's default limit of ${MAX_STORAGE_BUFFERS} per shader stage; use a smaller model or batch.`,
  );
}
