{{header}}
// This module imports nothing and evaluates no strings. It runs the model's WGSL compute shaders on a
// WebGPU device: navigator.gpu's in a browser, or the npm package `webgpu` (Dawn) in Node. The part
// of the WebGPU API it uses is declared below, so it type-checks without the DOM library.

// ─── The WebGPU API this module uses (a real GPUDevice fits these) ──────────────────────────────

export interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<unknown>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
export interface GpuShaderModule {
  getCompilationInfo(): Promise<{ readonly messages: readonly { readonly type: string; readonly message: string; readonly lineNum: number; readonly linePos: number }[] }>;
}
export interface GpuComputePass {
  setPipeline(pipeline: object): void;
  setBindGroup(index: number, bindGroup: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
/** A compute pass's descriptor: a label, and where a device with "timestamp-query" writes the pass's start and end times. */
export interface GpuComputePassDescriptor {
  label?: string;
  timestampWrites?: { querySet: object; beginningOfPassWriteIndex?: number; endOfPassWriteIndex?: number };
}
export interface GpuCommandEncoder {
  beginComputePass(descriptor?: GpuComputePassDescriptor): GpuComputePass;
  copyBufferToBuffer(source: GpuBuffer, sourceOffset: number, destination: GpuBuffer, destinationOffset: number, size: number): void;
  finish(): object;
}
export interface GpuQueue {
  writeBuffer(buffer: GpuBuffer, bufferOffset: number, data: Float32Array | Uint32Array | ArrayBuffer, dataOffset?: number, size?: number): void;
  submit(commandBuffers: Iterable<object>): void;
  onSubmittedWorkDone(): Promise<unknown>;
}
/** Descriptors are typed wide (handles as object, lists as Iterable) so that a real GPUDevice is one. */
export interface GpuDevice {
  readonly queue: GpuQueue;
  /** The features the device was created with ("shader-f16" for precision "f16"). */
  readonly features: { has(name: string): boolean };
  createBuffer(descriptor: { label?: string; size: number; usage: number }): GpuBuffer;
  createShaderModule(descriptor: { label?: string; code: string }): GpuShaderModule;
  createBindGroupLayout(descriptor: { label?: string; entries: Iterable<object> }): object;
  createPipelineLayout(descriptor: { label?: string; bindGroupLayouts: Iterable<unknown> }): object;
  createBindGroup(descriptor: { label?: string; layout: object; entries: Iterable<object> }): object;
  createComputePipelineAsync(descriptor: { label?: string; layout: unknown; compute: { module: unknown; entryPoint?: string } }): Promise<object>;
  createCommandEncoder(descriptor?: { label?: string }): GpuCommandEncoder;
  pushErrorScope(filter: "validation"): void;
  destroy(): void;
  popErrorScope(): Promise<{ readonly message: string } | null>;
}

/** What requestAdapter() returns (a real GPUAdapter fits). */
export interface GpuAdapter {
  readonly features: { has(name: string): boolean };
  requestDevice(descriptor?: { requiredFeatures?: Iterable<string> }): Promise<GpuDevice>;
}
/** navigator.gpu in a browser, or the npm package webgpu's `create([])` in Node (a real GPU fits). */
export interface Gpu {
  requestAdapter(options?: object): Promise<GpuAdapter | null>;
}

/** GPUBufferUsage, GPUMapMode and GPUShaderStage flags (fixed by the WebGPU specification). */
const MAP_READ = 0x0001;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const UNIFORM = 0x0040;
const STORAGE = 0x0080;
const COMPUTE = 0x4;

// ─── The model ──────────────────────────────────────────────────────────────────────────────────

/** A batch field: example-major values, n × (size of one example). */
export type Values = Float32Array | Float64Array;
{{nameTypes}}
/** Every buffer on the GPU (parameters, gradients, optimizer state, masks, outputs, inputs, work). */
export type BufferName = {{bufferNameUnion}};

export const spec = {{spec}} as const;

export interface GpuTrainerOptions {
  /** Seed of the initialisers (the TypeScript trainer's: the same seed gives the same parameters) and of the dropout masks. */
  readonly seed?: number;
  /** Initial values that replace the initialisers, row-major. */
  readonly params?: Partial<Record<ParamName, ArrayLike<number>>>;
  /**
   * "f32" (default), or "f16": forward values up to the last layer computed in f16 (WGSL `enable f16;`;
   * a device given must have been created with the "shader-f16" feature). Storage stays f32 (the same
   * buffers, reads and writes): loads round to f16 and stores widen to f32; sums accumulate in f32; the
   * loss head (last product, softmax, cross-entropy, the loss), the backward pass and the optimizer
   * update run in f32 (in f16 they cancel near convergence). Expect agreement with f32 to a few 1e-3
   * relative on the loss, also at convergence.
   */
  readonly precision?: "f32" | "f16";
  /**
   * For timing dispatches (bench/wgsl.mjs), off by default. Called for every dispatch a call encodes,
   * with the call, the dispatch's index in it and its shader; each dispatch then runs in a compute pass
   * of its own, begun with the descriptor returned (`{ timestampWrites }` on a device created with
   * "timestamp-query"), or is left out when it returns null (timing one dispatch at a time; what the
   * call computes is then wrong). Without it a call's dispatches share one compute pass.
   */
  readonly passes?: (call: CallName, dispatch: number, shader: number) => GpuComputePassDescriptor | null;
}

/** The calls that dispatch shaders (step and steps() dispatch "step"; resampleDropout() "resample"). */
export type CallName = "loss" | "trainingLoss" | "gradient" | "predict" | "step" | "resample";

export interface GpuTrainer {
  readonly spec: typeof spec;
  readonly device: GpuDevice;
  /**
   * The GPU object the trainer was created from (undefined when given a device). Held for the
   * trainer's life: in Node, Dawn's instance (`create([])` of the npm package webgpu) collected while
   * its device is in use crashes the process, so a trainer created from it keeps it referenced.
   */
  readonly gpu: Gpu | undefined;
  /** The precision the shaders compute in. */
  readonly precision: "f32" | "f16";
  /** Updates applied so far. */
  readonly state: { step: number };
  /** ε of the next updates. */
  learningRate: number;
  setLearningRate(learningRate: number): void;
  /** Writes batch fields into the GPU's input buffers; calls without a batch use them (n defaults to this n). */
  upload(batch: Partial<Batch>, n?: number): void;
  /**
   * Mean loss over n examples, without dropout. Without n, a call takes every example its inputs
   * hold (a whole number from 1 to the compiled batch, the same for every input); with n, the first
   * n. Inputs holding more examples than the compiled batch are refused, never cut short.
   */
  loss(batch?: Batch, n?: number): Promise<number>;
  /** Mean loss with the current dropout masks. */
  trainingLoss(batch?: Batch, n?: number): Promise<number>;
  /** trainingLoss, leaving its gradient in the GPU's gradient buffers (readGrad). */
  gradient(batch?: Batch, n?: number): Promise<number>;
  /** Fresh dropout masks, gradient and the optimizer update; resolves to the loss before the update. */
  step(batch?: Batch, n?: number): Promise<number>;
  /**
   * One step (fresh dropout masks, gradient, update) submitted to the GPU without reading anything
   * back: nothing waits, so many queued steps pipeline. Gives the same parameters, bit for bit, as
   * as many awaited step() calls; read the loss later with loss() or the last steps()/step().
   */
  queueStep(batch?: Batch, n?: number): void;
  /** step(), leaving the loss in losses[index] (the TypeScript trainer's allocation-free form; here for the same calling code). */
  stepInto(batch: Batch | undefined, losses: Float64Array, index: number, n?: number): Promise<void>;
  /** `count` steps on one batch (default: the uploaded one) with no read-back in between; resolves to the last step's loss. */
  steps(count: number, batch?: Batch, n?: number): Promise<number>;
  /** Draws fresh dropout masks for the first n examples (step() does this itself). */
  resampleDropout(n?: number): void;
  /** The named outputs for n examples (as loss() counts them), without dropout, in buffers reused by every call. */
  predict(inputs?: PredictInputs, n?: number): Promise<Record<OutputName, Float32Array>>;
  /** A copy of a parameter's values. */
  read(name: ParamName): Promise<Float32Array>;
  readGrad(name: ParamName): Promise<Float32Array>;
  readInputGrad(name: InputGradName): Promise<Float32Array>;
  readState(name: StateName): Promise<Float32Array>;
  /** A copy of any buffer the shaders use (for tests and debugging). */
  readBuffer(name: BufferName): Promise<Float32Array>;
  write(name: ParamName, values: ArrayLike<number>): void;
  writeState(name: StateName, values: ArrayLike<number>): void;
  /** Copies parameters and optimizer state into a GPU buffer (for early stopping). */
  snapshot(): void;
  /** Copies the last snapshot back. */
  restore(): void;
  /** Resolves when the GPU has finished everything submitted so far. */
  flush(): Promise<void>;
  /** Frees the GPU buffers; the trainer cannot be used afterwards. */
  destroy(): void;
}

// ─── Initialisers: the TypeScript trainer's, so one seed gives the same parameters on both ─────

{{random}}

{{initialisers}}

// ─── Layout and shaders ─────────────────────────────────────────────────────────────────────────

/** Elements of each storage buffer; every value below lives in one of them. */
const chunkSizes: readonly number[] = {{chunkSizes}};
/** Each buffer as [chunk, first element, elements]. */
const regions: Readonly<Record<BufferName, readonly [number, number, number]>> = {{regions}};
/** Where each call leaves the loss it returns. */
const results: Readonly<Record<string, readonly [number, number, number]>> = {{results}};
const inputSizes: Readonly<Record<InputName, number>> = {{inputSizes}};
/** int32 inputs (integer ids): how many ids each may name (uploaded as f32, exact below 2²⁴). */
const idsBounds: Readonly<Record<string, number>> = {{idsBounds}}; // by input name (string keys: a name like __proto__ must not meet Object's own members)
const entryInputs: Readonly<Record<string, readonly InputName[]>> = {{entryInputs}};
/** Each output as [elements per example (or in all), per example]. */
const outputSizes: Readonly<Record<OutputName, readonly [number, boolean]>> = {{outputSizes}};
const stateBuffers: Readonly<Record<StateName, BufferName>> = {{stateBuffers}};
/** The buffer of each named input, parameter, gradient and output (src/schedule/names.ts names them). */
const inputBuffers: Readonly<Record<InputName, BufferName>> = {{inputBuffers}};
const paramBuffers: Readonly<Record<ParamName, BufferName>> = {{paramBuffers}};
const gradBuffers: Readonly<Record<ParamName, BufferName>> = {{gradBuffers}};
const inputGradBuffers: Readonly<Record<InputGradName, BufferName>> = {{inputGradBuffers}};
const outputBuffers: Readonly<Record<OutputName, BufferName>> = {{outputBuffers}};
const snapshotted: readonly BufferName[] = {{snapshotted}};
const usesControl = {{usesControl}};
const WORKGROUP_SIZE = {{workgroupSize}};
const MAX_GROUPS = {{maxGroups}};

const shaders: readonly string[] = [
{{shaders}}
];

/** The same shaders computing in f16 (precision "f16"), index for index. */
const shadersF16: readonly string[] = [
{{shadersF16}}
];

/** Per shader, the bindings it declares and their layout types (chunks a shader only reads are read-only). */
const shaderBindings: readonly (readonly (readonly [binding: number, type: "uniform" | "storage" | "read-only-storage"])[])[] = {{shaderBindings}};

type Factor = readonly [factor: number, power: number, divisor: number];
type Sequence = readonly (readonly [shader: number, counts: readonly (readonly (readonly Factor[])[])[]])[];
/**
 * What each call dispatches, in order: a shader and the invocations of each of its task groups,
 * Σ Π ⌈factor·nᵖᵒʷᵉʳ / divisor⌉, each group taking whole workgroups.
 */
const sequences: Readonly<Record<CallName, Sequence>> = {
{{sequences}}
};

/** table[name], if `name` is one of its own keys (a name such as "constructor" must not find Object.prototype's). */
function lookup<Name extends string, Value>(table: Readonly<Record<Name, Value>>, name: string, what: string): Value {
  if (Object.hasOwn(table, name)) return table[name as Name];
  throw new RangeError(`${spec.model}: no ${what} ${JSON.stringify(name)}; the ${what}s are ${Object.keys(table).map((k) => JSON.stringify(k)).join(", ") || "none"}`);
}

/** The batch field `name` if the batch has it (an own property), checked to be a Float32Array or Float64Array. */
function inputField(fields: object, name: string): Values | Int32Array | undefined {
  if (typeof fields !== "object" || fields === null) throw new TypeError(`${spec.model}: the inputs must be an object of Float32Array or Float64Array fields, got ${fields}`);
  if (!Object.hasOwn(fields, name)) return undefined;
  const values: unknown = (fields as Record<string, unknown>)[name];
  if (Object.hasOwn(idsBounds, name)) {
    if (values === undefined || values instanceof Int32Array) return values;
    throw new TypeError(`${spec.model}: input ${JSON.stringify(name)} holds integer ids and needs an Int32Array, got ${Object.prototype.toString.call(values)}`);
  }
  if (values === undefined || values instanceof Float32Array || values instanceof Float64Array) return values;
  throw new TypeError(`${spec.model}: input ${JSON.stringify(name)} needs a Float32Array or Float64Array, got ${Object.prototype.toString.call(values)}`);
}

/**
 * The examples a call takes: n if given (every field holding at least n), else all that the fields
 * hold: a whole number from 1 to the compiled batch, the same for every field.
 */
function examplesOf(batch: object, names: readonly InputName[], n: number | undefined): number {
  let count = n === undefined ? undefined : checkCount(n);
  for (const name of names) {
    const values = inputField(batch, name);
    if (values === undefined) continue;
    const size = inputSizes[name];
    if (count === undefined) {
      const held = values.length / size;
      if (!Number.isInteger(held) || held < 1 || held > spec.batch) {
        const what = Number.isInteger(held) ? `${held} example(s)` : `${values.length} values, not a whole number of examples of ${size}`;
        const limit = held > spec.batch ? `, more than the ${spec.batch} per call it was compiled for (gradgen compile --batch N)` : "";
        throw new RangeError(`${spec.model}: input ${JSON.stringify(name)} holds ${what}${limit}; pass n to use the first n examples`);
      }
      count = held;
    } else if (n === undefined ? values.length !== count * size : values.length < count * size) {
      const which = n === undefined ? " (as many examples as the call's first input; pass n to use fewer)" : "";
      throw new RangeError(`${spec.model}: input ${JSON.stringify(name)} needs ${count} × ${size} values${which}, got ${values.length}`);
    }
  }
  const examples = count ?? spec.batch;
  for (const name of names) {
    const bound = Object.hasOwn(idsBounds, name) ? idsBounds[name] : undefined;
    const values = bound === undefined ? undefined : inputField(batch, name);
    if (bound === undefined || values === undefined) continue;
    const size = inputSizes[name];
    for (let i = 0; i < examples * size; i++) {
      const id = values[i]!;
      if (id >= 0 && id < bound) continue;
      throw new RangeError(`${spec.model}: input ${JSON.stringify(name)}, example ${Math.floor(i / size)}, position ${i % size}: id ${id} is out of range; ids index ${bound} rows, so each must be an integer from 0 to ${bound - 1}`);
    }
  }
  return examples;
}

{{checks}}

/**
 * Compiles every shader (errors with their line and column), then builds the trainer's buffers,
 * pipelines and bind group once. `target` is a GPU (navigator.gpu; in Node `create([])` from the npm
 * package webgpu): the trainer requests the adapter and a device (with "shader-f16" for precision
 * "f16") and holds the GPU for its life; or a device the caller created (and whose GPU the caller
 * then keeps referenced).
 */
export async function createGpuTrainer(target: GpuDevice | Gpu, options: GpuTrainerOptions = {}): Promise<GpuTrainer> {
  const precision = options.precision ?? "f32";
  if (precision !== "f32" && precision !== "f16") throw new RangeError(`${spec.model}: precision must be "f32" or "f16", got ${JSON.stringify(precision)}`);
  const gpu = "requestAdapter" in target ? target : undefined;
  let device: GpuDevice;
  if (gpu) {
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error(`${spec.model}: the GPU offers no WebGPU adapter (in Node, the npm package webgpu needs a Vulkan, Metal or D3D12 driver)`);
    if (precision === "f16" && !adapter.features.has("shader-f16")) throw new Error(`${spec.model}: precision "f16" needs the WebGPU feature "shader-f16", and this adapter lacks it; use precision "f32".`);
    device = await adapter.requestDevice(precision === "f16" ? { requiredFeatures: ["shader-f16"] } : {});
  } else device = target as GpuDevice;
  if (precision === "f16" && !device.features.has("shader-f16")) {
    throw new Error(
      `${spec.model}: precision "f16" needs a device with the WebGPU feature "shader-f16", and this device lacks it; ` +
        `if adapter.features.has("shader-f16"), create the device with adapter.requestDevice({ requiredFeatures: ["shader-f16"] }), otherwise use precision "f32".`,
    );
  }
  const seed = options.seed ?? 0;
{{setup}}
  const initial = chunkSizes.map((size) => new Float32Array(size));
  const view = (name: BufferName): Float32Array => {
    const [chunk, offset, elements] = regions[name];
    return initial[chunk]!.subarray(offset, offset + elements);
  };
{{initialisation}}

  device.pushErrorScope("validation");
  const chunks = chunkSizes.map((size, i) => device.createBuffer({ label: `${spec.model} storage ${i}`, size: size * 4, usage: STORAGE | COPY_SRC | COPY_DST }));
  chunks.forEach((buffer, i) => device.queue.writeBuffer(buffer, 0, initial[i]!));
  const uniformBuffer = device.createBuffer({ label: `${spec.model} uniforms`, size: 16, usage: UNIFORM | COPY_DST });
  const control = usesControl ? device.createBuffer({ label: `${spec.model} dropout counter`, size: 16, usage: STORAGE | COPY_DST }) : undefined;
  // One bind-group layout and bind group per shader: the bindings it declares, typed as declared
  // (a chunk's vec4 view, from binding {{firstVec4Binding}} on, is the chunk's buffer again).
  const resources = (binding: number): GpuBuffer =>
    binding === 0 ? uniformBuffer : binding === {{controlBinding}} ? control! : chunks[binding - (binding >= {{firstVec4Binding}} ? {{firstVec4Binding}} : {{firstChunkBinding}})]!;
  const bindGroupLayouts = shaderBindings.map((list, i) => device.createBindGroupLayout({ label: `${spec.model} shader ${i}`, entries: list.map(([binding, type]) => ({ binding, visibility: COMPUTE, buffer: { type } })) }));
  const bindGroups = shaderBindings.map((list, i) => device.createBindGroup({ label: `${spec.model} shader ${i}`, layout: bindGroupLayouts[i]!, entries: list.map(([binding]) => ({ binding, resource: { buffer: resources(binding) } })) }));
  const modules = (precision === "f16" ? shadersF16 : shaders).map((code, i) => device.createShaderModule({ label: `${spec.model} ${precision} shader ${i}`, code }));
  const problems: string[] = [];
  await Promise.all(modules.map(async (module, i) => {
    for (const m of (await module.getCompilationInfo()).messages) {
      if (m.type === "error") problems.push(`shader ${i}, line ${m.lineNum}:${m.linePos}: ${m.message}`);
    }
  }));
  if (problems.length > 0) {
    await device.popErrorScope();
    throw new Error(`${spec.model}: WGSL compilation failed:\n${problems.join("\n")}`);
  }
  const pipelines = await Promise.all(modules.map((module, i) =>
    device.createComputePipelineAsync({ label: `${spec.model} shader ${i}`, layout: device.createPipelineLayout({ label: `${spec.model} shader ${i}`, bindGroupLayouts: [bindGroupLayouts[i]!] }), compute: { module, entryPoint: "main" } })));
  const error = await device.popErrorScope();
  if (error) throw new Error(`${spec.model}: WebGPU validation failed: ${error.message}`);

  // Uniforms: n, the learning rate, the dropout seed.
  const uniformData = new ArrayBuffer(16);
  const uniformWords = new Uint32Array(uniformData);
  const uniformFloats = new Float32Array(uniformData);
  let writtenN = -1;
  let writtenRate = NaN;
  uniformWords[2] = (seed ^ 0x5bd1e995) >>> 0;
  function setUniforms(n: number): void {
    const rate = Math.fround(trainer.learningRate);
    if (n === writtenN && rate === writtenRate) return;
    uniformWords[0] = n;
    uniformFloats[1] = rate;
    device.queue.writeBuffer(uniformBuffer, 0, uniformData);
    writtenN = n;
    writtenRate = rate;
  }

  // Read-back: staging buffers big enough for any one read, reused; a new one only while all are in use.
  const outputElements = (Object.keys(outputSizes) as OutputName[]).reduce((sum, name) => sum + regions[outputBuffers[name]][2], 0);
  const stagingBytes = 4 * Math.max(1, outputElements, ...Object.values<readonly [number, number, number]>(regions).map((r) => r[2]));
  const pool: GpuBuffer[] = [];
  const staging: GpuBuffer[] = [];
  async function submitAndRead(encoder: GpuCommandEncoder, reads: readonly (readonly [number, number, number])[]): Promise<Float32Array[]> {
    const buffer = pool.pop() ?? device.createBuffer({ label: `${spec.model} read-back`, size: stagingBytes, usage: MAP_READ | COPY_DST });
    if (!staging.includes(buffer)) staging.push(buffer);
    let at = 0;
    const places = reads.map(([chunk, offset, elements]) => {
      encoder.copyBufferToBuffer(chunks[chunk]!, offset * 4, buffer, at * 4, elements * 4);
      const place = at;
      at += elements;
      return place;
    });
    device.queue.submit([encoder.finish()]);
    try {
      await buffer.mapAsync(MAP_READ, 0, at * 4);
      const data = new Float32Array(buffer.getMappedRange(0, at * 4));
      const copies = reads.map(([, , elements], i) => data.slice(places[i]!, places[i]! + elements));
      buffer.unmap();
      return copies;
    } finally {
      pool.push(buffer);
    }
  }

  const passes = options.passes;
  function encode(encoder: GpuCommandEncoder, call: CallName, n: number): void {
    const sequence = sequences[call];
    if (sequence.length === 0) return;
    const shared = passes ? undefined : encoder.beginComputePass();
    for (let d = 0; d < sequence.length; d++) {
      const [shader, counts] = sequence[d]!;
      let groups = 0;
      for (const count of counts) {
        let invocations = 0;
        for (const term of count) {
          let product = 1;
          for (const [factor, power, divisor] of term) product *= Math.ceil((factor * n ** power) / divisor);
          invocations += product;
        }
        groups += Math.ceil(invocations / WORKGROUP_SIZE);
      }
      const x = Math.min(groups, MAX_GROUPS);
      const descriptor = shared ? undefined : passes!(call, d, shader);
      if (descriptor === null) continue;
      const pass = shared ?? encoder.beginComputePass(descriptor);
      pass.setPipeline(pipelines[shader]!);
      pass.setBindGroup(0, bindGroups[shader]!);
      pass.dispatchWorkgroups(x, Math.ceil(groups / x));
      if (!shared) pass.end();
    }
    shared?.end();
  }

  // Inputs: Float64Array fields are converted in buffers allocated once.
  const inputNames = Object.keys(inputSizes) as InputName[];
  const scratch: Partial<Record<InputName, Float32Array>> = Object.create(null);
  const uploaded = new Set<InputName>();
  let uploadedN: number = spec.batch;
  /** Writes the fields `batch` has (own properties) for `n` examples (examplesOf checked their lengths). */
  function upload(batch: object, n: number): void {
    for (const name of inputNames) {
      const values = inputField(batch, name);
      if (values === undefined) continue;
      const size = inputSizes[name];
      let data: Float32Array;
      if (values instanceof Float32Array) data = values;
      else {
        data = scratch[name] ??= new Float32Array(spec.batch * size);
        for (let i = 0; i < n * size; i++) data[i] = values[i]!;
      }
      const [chunk, offset] = regions[inputBuffers[name]];
      device.queue.writeBuffer(chunks[chunk]!, offset * 4, data, 0, n * size);
      uploaded.add(name);
    }
    uploadedN = n;
  }
  /** Uploads the call's batch (if any), checks what the call reads is there, sets the uniforms; returns n. */
  function prepare(call: "loss" | "trainingLoss" | "gradient" | "predict" | "step", batch: object | undefined, n: number | undefined): number {
    const count = batch ? examplesOf(batch, inputNames, n) : checkCount(n ?? uploadedN);
    if (batch) upload(batch, count);
    for (const name of entryInputs[call] ?? []) {
      if (!uploaded.has(name)) throw new RangeError(`${spec.model}: ${call}() reads input ${JSON.stringify(name)}; pass a batch or upload() it first`);
    }
    setUniforms(count);
    return count;
  }
  async function run(call: "loss" | "trainingLoss" | "gradient", batch: Batch | undefined, n: number | undefined): Promise<number> {
    const count = prepare(call, batch, n);
    const encoder = device.createCommandEncoder();
    encode(encoder, call, count);
    const [value] = await submitAndRead(encoder, [results[call]!]);
    return value![0]!;
  }
  const writeRegion = (name: BufferName, values: ArrayLike<number>) => {
    const [chunk, offset, elements] = lookup(regions, name, "buffer");
    if (values.length !== elements) throw new RangeError(`${spec.model}: ${name} needs ${elements} values, got ${values.length}`);
    device.queue.writeBuffer(chunks[chunk]!, offset * 4, values instanceof Float32Array ? values : Float32Array.from(values));
  };
  const readRegion = async (name: BufferName) => (await submitAndRead(device.createCommandEncoder(), [lookup(regions, name, "buffer")]))[0]!;

  const snapshotElements = snapshotted.reduce((sum, name) => sum + regions[name][2], 0);
  let snapshotBuffer: GpuBuffer | undefined;
  let snapshotStep = -1;
  const outputs = Object.fromEntries((Object.keys(outputSizes) as OutputName[]).map((name) => [name, new Float32Array(regions[outputBuffers[name]][2])])) as Record<OutputName, Float32Array>;

  const trainer: GpuTrainer = {
    spec,
    device,
    gpu,
    precision,
    state: { step: 0 },
    learningRate: spec.optimizer.learningRate,
    setLearningRate(learningRate: number): void {
      if (!(learningRate >= 0) || !Number.isFinite(learningRate)) throw new RangeError(`${spec.model}: learning rate ${learningRate} must be a finite number ≥ 0`);
      trainer.learningRate = learningRate;
    },
    upload(batch: Partial<Batch>, n?: number): void {
      upload(batch, examplesOf(batch, inputNames, n));
    },
    loss: (batch?: Batch, n?: number) => run("loss", batch, n),
    trainingLoss: (batch?: Batch, n?: number) => run("trainingLoss", batch, n),
    gradient: (batch?: Batch, n?: number) => run("gradient", batch, n),
    step(batch?: Batch, n?: number): Promise<number> {
      return trainer.steps(1, batch, n);
    },
    queueStep(batch?: Batch, n?: number): void {
      const examples = prepare("step", batch, n);
      const encoder = device.createCommandEncoder();
      encode(encoder, "step", examples);
      device.queue.submit([encoder.finish()]);
      trainer.state.step += 1;
    },
    async stepInto(batch: Batch | undefined, losses: Float64Array, index: number, n?: number): Promise<void> {
      checkIndex(losses, index);
      losses[index] = await trainer.steps(1, batch, n);
    },
    async steps(count: number, batch?: Batch, n?: number): Promise<number> {
      if (!Number.isInteger(count) || count < 1) throw new RangeError(`${spec.model}: steps(count) needs a positive integer, got ${count}`);
      const examples = prepare("step", batch, n);
      const perSubmit = 64;
      for (let done = 0; done < count;) {
        const encoder = device.createCommandEncoder();
        const now = Math.min(perSubmit, count - done);
        for (let i = 0; i < now; i++) encode(encoder, "step", examples);
        done += now;
        trainer.state.step += now;
        if (done < count) device.queue.submit([encoder.finish()]);
        else return (await submitAndRead(encoder, [results.step!]))[0]![0]!;
      }
      throw new Error("unreachable");
    },
    resampleDropout(n: number = uploadedN): void {
      const count = checkCount(n);
      setUniforms(count);
      const encoder = device.createCommandEncoder();
      encode(encoder, "resample", count);
      device.queue.submit([encoder.finish()]);
    },
    async predict(inputs?: PredictInputs, n?: number): Promise<Record<OutputName, Float32Array>> {
      const count = prepare("predict", inputs, n);
      const encoder = device.createCommandEncoder();
      encode(encoder, "predict", count);
      const names = Object.keys(outputSizes) as OutputName[];
      const reads = names.map((name) => {
        const [chunk, offset, elements] = regions[outputBuffers[name]];
        const [size, perExample] = outputSizes[name];
        return [chunk, offset, perExample ? count * size : elements] as const;
      });
      const values = await submitAndRead(encoder, reads);
      names.forEach((name, i) => outputs[name].set(values[i]!));
      return outputs;
    },
    read: async (name: ParamName) => readRegion(lookup(paramBuffers, name, "parameter")),
    readGrad: async (name: ParamName) => readRegion(lookup(gradBuffers, name, "parameter")),
    readInputGrad: async (name: InputGradName) => readRegion(lookup(inputGradBuffers, name, "input with { grad: true }")),
    readState: async (name: StateName) => readRegion(lookup(stateBuffers, name, "optimizer state buffer")),
    readBuffer: (name: BufferName) => readRegion(name),
    write(name: ParamName, values: ArrayLike<number>): void {
      writeRegion(lookup(paramBuffers, name, "parameter"), values);
    },
    writeState(name: StateName, values: ArrayLike<number>): void {
      writeRegion(lookup(stateBuffers, name, "optimizer state buffer"), values);
    },
    snapshot(): void {
      snapshotBuffer ??= device.createBuffer({ label: `${spec.model} snapshot`, size: Math.max(4, snapshotElements * 4), usage: COPY_SRC | COPY_DST });
      const encoder = device.createCommandEncoder();
      let at = 0;
      for (const name of snapshotted) {
        const [chunk, offset, elements] = regions[name];
        encoder.copyBufferToBuffer(chunks[chunk]!, offset * 4, snapshotBuffer, at * 4, elements * 4);
        at += elements;
      }
      device.queue.submit([encoder.finish()]);
      snapshotStep = trainer.state.step;
    },
    restore(): void {
      if (!snapshotBuffer) throw new Error(`${spec.model}: restore() before any snapshot()`);
      const encoder = device.createCommandEncoder();
      let at = 0;
      for (const name of snapshotted) {
        const [chunk, offset, elements] = regions[name];
        encoder.copyBufferToBuffer(snapshotBuffer, at * 4, chunks[chunk]!, offset * 4, elements * 4);
        at += elements;
      }
      device.queue.submit([encoder.finish()]);
      trainer.state.step = snapshotStep;
    },
    async flush(): Promise<void> {
      await device.queue.onSubmittedWorkDone();
    },
    destroy(): void {
      for (const buffer of [...chunks, uniformBuffer, ...(control ? [control] : []), ...staging, ...(snapshotBuffer ? [snapshotBuffer] : [])]) buffer.destroy();
      if (gpu) device.destroy(); // the trainer's own device
    },
  };
  return trainer;
}
