// Prints a WGSL plan: one compute shader per dispatch (its tasks' invocation ranges one after
// another), each also in an f16 variant, equal shaders shared.

import { wgslLocal, wgslOffsetName } from "../../schedule/names.js";
import { countCode, type Count } from "./counts.js";
import { printTask, type PrintedTask } from "./kernels.js";
import type { Task } from "./tasks.js";
import { K_STEP, WORKGROUP_SIZE } from "./tiling.js";
import type { Layout } from "./layout.js";
import { cooperative, groupCount, phaseCounts, type Phase } from "./phases.js";
import { sequenceNames, type SequenceName, type WgslPlan } from "./plan.js";
import { helperClosure, helperCode, helperCodeF16, type Precision } from "./spelling.js";

export { WORKGROUP_SIZE };
/** Binding numbers: the uniforms, the dropout counter, then the chunks. */
const UNIFORM_BINDING = 0;
export const CONTROL_BINDING = 1;
export const FIRST_CHUNK_BINDING = 2;

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
  const printed = phase.map((group) => group.map((task) => printTask(task, layout, precision)));
  const comments = phase.map((group) => group.map((t) => t.comment).join("; "));
  const used = new Set<number>();
  const written = new Set<number>();
  let usesControl = false;
  let writesControl = false;
  for (const task of phase.flat()) {
    for (const name of [...task.reads, ...task.writes]) {
      if (name === "control") usesControl = true;
      else used.add(layout.regions.get(name)!.chunk);
    }
    for (const name of task.writes) {
      if (name === "control") writesControl = true;
      else written.add(layout.regions.get(name)!.chunk);
    }
  }
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
