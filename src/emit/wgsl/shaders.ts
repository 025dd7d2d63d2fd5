// Prints a WGSL plan: one compute shader per dispatch (its tasks' invocation ranges one after
// another), each also in an f16 variant, equal shaders shared.

import { wgslLocal, wgslOffsetName } from "../../schedule/names.js";
import { countCode, type Count } from "./counts.js";
import { printTask, type PrintedTask, type Vec4Operands } from "./kernels.js";
import type { Task } from "./tasks.js";
import { K_STEP, WORKGROUP_SIZE } from "./tiling.js";
import { MAX_STORAGE_BUFFERS, type Layout } from "./layout.js";
import { cooperative, groupCount, phaseCounts, type Phase } from "./phases.js";
import { sequenceNames, type SequenceName, type WgslPlan } from "./plan.js";
import { helperClosure, helperCode, helperCodeF16, type Precision } from "./spelling.js";

export { WORKGROUP_SIZE };
/** Binding numbers: the uniforms, the dropout counter, then the chunks. */
const UNIFORM_BINDING = 0;
export const CONTROL_BINDING = 1;
export const FIRST_CHUNK_BINDING = 2;
/** The binding of chunk c's vec4 view: after every chunk's own binding. */
export const vec4Binding = (layout: Layout, chunk: number) => FIRST_CHUNK_BINDING + layout.chunks.length + chunk;

/** The storage chunks a phase's tasks read and write ("control", the dropout counter, apart). */
function chunksOf(phase: Phase, layout: Layout) {
  const used = new Set<number>();
  const written = new Set<number>();
  let control = false;
  let writesControl = false;
  for (const task of phase.flat()) {
    for (const name of [...task.reads, ...task.writes]) {
      if (name === "control") control = true;
      else used.add(layout.regions.get(name)!.chunk);
    }
    for (const name of task.writes) {
      if (name === "control") writesControl = true;
      else written.add(layout.regions.get(name)!.chunk);
    }
  }
  return { used, written, control, writesControl };
}

/**
 * Which product operands of a phase's shader load their tiles as vec4: those aligned for it
 * (tiling.ts: alignedForVec4) whose chunk the shader only reads (a chunk's vec4 view is a second,
 * read-only binding of its buffer, and WebGPU refuses a writable binding aliasing another), while
 * the views keep the shader within WebGPU's default 8 storage buffers per stage (else none).
 */
export function vec4Loads(phase: Phase, layout: Layout): Map<Task, Vec4Operands> {
  const { used, written, control } = chunksOf(phase, layout);
  const loads = new Map<Task, Vec4Operands>();
  const views = new Set<number>();
  for (const task of phase.flat()) {
    if (task.work.kind !== "gemm") continue;
    const { kernel, tiling } = task.work;
    const readOnly = (buffer: string) => !written.has(layout.regions.get(buffer)!.chunk);
    const operands = { a: tiling.vec4.a && readOnly(kernel.a.buffer), b: tiling.vec4.b && readOnly(kernel.b.buffer) };
    if (operands.a) views.add(layout.regions.get(kernel.a.buffer)!.chunk);
    if (operands.b) views.add(layout.regions.get(kernel.b.buffer)!.chunk);
    loads.set(task, operands);
  }
  if (used.size + Number(control) + views.size > MAX_STORAGE_BUFFERS) return new Map();
  return loads;
}

/** The chunks whose vec4 views a phase's shader binds. */
function vec4Views(loads: ReadonlyMap<Task, Vec4Operands>, layout: Layout): number[] {
  const views = new Set<number>();
  for (const [task, { a, b }] of loads) {
    if (task.work.kind !== "gemm") continue;
    if (a) views.add(layout.regions.get(task.work.kernel.a.buffer)!.chunk);
    if (b) views.add(layout.regions.get(task.work.kernel.b.buffer)!.chunk);
  }
  return [...views].sort((x, y) => x - y);
}

/** A binding a shader declares and its bind-group layout type (which must match the declaration). */
export type WgslBinding = readonly [binding: number, type: "uniform" | "storage" | "read-only-storage"];

export interface WgslDispatch {
  readonly shader: number;
  /** Invocations of each group (Σ Π ⌈factor·nᵖᵒʷᵉʳ / divisor⌉), each rounded up to whole workgroups. */
  readonly counts: readonly Count[];
}

export interface WgslShaders {
  readonly shaders: readonly string[];
  /** The same shaders computing in f16 (index for index; `enable f16;` where they use it). */
  readonly shadersF16: readonly string[];
  readonly dispatches: Readonly<Record<SequenceName, readonly WgslDispatch[]>>;
  /** Per shader, the bindings it declares: storage chunks it only reads are "read-only-storage". */
  readonly bindings: readonly (readonly WgslBinding[])[];
}

export function printShaders(plan: WgslPlan): WgslShaders {
  const shaders: string[] = [];
  const shadersF16: string[] = [];
  const shaderIndex = new Map<string, number>();
  const bindings: WgslBinding[][] = [];
  const dispatches = Object.fromEntries(
    sequenceNames.map((name) => [
      name,
      plan.sequences[name].map((phase) => {
        const { code, declared } = phaseShader(plan.modelName, phase, plan.layout, "f32");
        const codeF16 = phaseShader(plan.modelName, phase, plan.layout, "f16").code;
        const key = `${code}\n${codeF16}`;
        let shader = shaderIndex.get(key);
        if (shader === undefined) {
          shader = shaders.length;
          shaders.push(code);
          shadersF16.push(codeF16);
          bindings.push(declared);
          shaderIndex.set(key, shader);
        }
        return { shader, counts: phaseCounts(phase) };
      }),
    ]),
  ) as unknown as Record<SequenceName, WgslDispatch[]>;
  return { shaders, shadersF16, dispatches, bindings };
}

/**
 * One group as `fn task<k>(g: u32, local: u32)`, g the workgroup within the group's range: a
 * cooperative task's body (with the single tasks after a tree run by invocation 0), or t = the
 * invocation's index, past the group's count returning (tasks, or single tasks one after another).
 */
function groupFunction(k: number, group: readonly Task[], printed: readonly PrintedTask[]): string[] {
  const lines = [`fn ${wgslLocal.task(k)}(g: u32, local: u32) {`];
  const block = (body: readonly string[], indent: string) => {
    lines.push(`${indent}{`);
    for (const line of body) lines.push(`${indent}  ${line}`); // no spread: a long task overflows the stack
    lines.push(`${indent}}`);
  };
  if (cooperative(group[0]!)) {
    block(printed[0]!.body, "  ");
    if (printed.length > 1) {
      lines.push("  if (local == 0u) {", "    let t = 0u;");
      for (const task of printed.slice(1)) block(task.body, "    ");
      lines.push("  }");
    }
  } else {
    lines.push(
      `  let t = g * ${WORKGROUP_SIZE}u + local;`,
      `  { let n = u.n; if (t >= ${countCode(groupCount(group))}) { return; } }`,
    );
    for (const task of printed) block(task.body, "  ");
  }
  lines.push("}");
  return lines;
}

/** One compute shader running the groups of a phase, workgroup ranges one after another; the bindings it declares. */
function phaseShader(
  modelName: string,
  phase: Phase,
  layout: Layout,
  precision: Precision,
): { readonly code: string; readonly declared: WgslBinding[] } {
  const loads = vec4Loads(phase, layout);
  const printed = phase.map((group) => group.map((task) => printTask(task, layout, precision, loads.get(task))));
  const comments = phase.map((group) => group.map((t) => t.comment).join("; "));
  const { used, written, control: usesControl, writesControl } = chunksOf(phase, layout);
  const views = vec4Views(loads, layout);
  const named = new Set(printed.flat().flatMap((t) => [...t.regions]));
  const tiled = phase.flat().some((t) => t.work.kind === "gemm");
  const treed = phase.flat().some((t) => t.work.kind === "loop" && t.work.tree);
  const access = (writable: boolean) => (writable ? "read_write" : "read");
  const chunks = [...used].sort((a, b) => a - b);
  const declared: WgslBinding[] = [
    [UNIFORM_BINDING, "uniform"],
    ...(usesControl ? [[CONTROL_BINDING, writesControl ? "storage" : "read-only-storage"] as WgslBinding] : []),
    ...chunks.map(
      (chunk) => [FIRST_CHUNK_BINDING + chunk, written.has(chunk) ? "storage" : "read-only-storage"] as WgslBinding,
    ),
    ...views.map((chunk) => [vec4Binding(layout, chunk), "read-only-storage"] as WgslBinding),
  ];
  const lines = [
    `// ${modelName}: ${comments.map(sanitize).join(" | ")}`,
    "struct Uniforms { n: u32, rate: f32, seed: u32, pad: u32 }",
    `@group(0) @binding(${UNIFORM_BINDING}) var<uniform> u: Uniforms;`,
    ...(usesControl
      ? [`@group(0) @binding(${CONTROL_BINDING}) var<storage, ${access(writesControl)}> control: array<u32>;`]
      : []),
    ...chunks.map(
      (chunk) =>
        `@group(0) @binding(${FIRST_CHUNK_BINDING + chunk}) var<storage, ${access(written.has(chunk))}> ${wgslLocal.chunk(chunk)}: array<f32>;`,
    ),
    ...views.map(
      (chunk) =>
        `@group(0) @binding(${vec4Binding(layout, chunk)}) var<storage, read> ${wgslLocal.chunkVec4(chunk)}: array<vec4<f32>>;`,
    ),
    ...(tiled
      ? [
          `var<workgroup> ${wgslLocal.tileA}: array<f32, ${32 * K_STEP}>;`,
          `var<workgroup> ${wgslLocal.tileB}: array<f32, ${32 * K_STEP}>;`,
        ]
      : []),
    ...(treed ? [`var<workgroup> ${wgslLocal.partials}: array<f32, ${WORKGROUP_SIZE}>;`] : []),
    // Each region's first element within its chunk.
    ...[...layout.regions.values()]
      .filter((r) => named.has(r.name))
      .map((r) => `const ${wgslOffsetName(r.name)} = ${r.offset}u;`),
    ...helperClosure(printed.flat().flatMap((t) => [...t.helpers])).map(
      (name) => helperCode[name] ?? helperCodeF16[name]!,
    ),
  ];
  phase.forEach((group, k) => {
    lines.push(`// ${sanitize(comments[k]!)}`);
    for (const line of groupFunction(k, group, printed[k]!)) lines.push(line);
  });
  lines.push(
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    "fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {",
    "  let n = u.n;",
    // Uniform across the workgroup: the branches below (and the barriers in them) are uniform.
    "  var g = group.y * groups.x + group.x;",
  );
  phase.forEach((group, k) => {
    const count = `(${countCode(groupCount(group))} + ${WORKGROUP_SIZE - 1}u) / ${WORKGROUP_SIZE}u`;
    if (k === phase.length - 1) lines.push(`  if (g < ${count}) { ${wgslLocal.task(k)}(g, local); }`);
    else lines.push(`  if (g < ${count}) { ${wgslLocal.task(k)}(g, local); return; }`, `  g = g - ${count};`);
  });
  lines.push("}");
  const code = lines.join("\n");
  return { code: /\bf16\b/.test(code) ? `enable f16;\n${code}` : code, declared };
}

/** A comment on one line, without characters that would end a template literal or a comment. */
function sanitize(text: string): string {
  return text.replace(/[`$\\\n\r]/g, " ").replace(/\*\//g, "* /");
}
