// Prints a WGSL plan: one compute shader per dispatch (its tasks' invocation ranges one after
// another), each also in an f16 variant, equal shaders shared.

import { wgslLocal, wgslOffsetName } from "../../schedule/names.js";
import { countCode, type Count } from "./counts.js";
import { printTask, type PrintedTask } from "./kernels.js";
import type { Layout } from "./layout.js";
import { groupCount, phaseCount, type Phase } from "./phases.js";
import { sequenceNames, type SequenceName, type WgslPlan } from "./plan.js";
import { helperClosure, helperCode, helperCodeF16, type Precision } from "./spelling.js";

/** Invocations per workgroup (WebGPU's default limit is 256). */
export const WORKGROUP_SIZE = 64;
/** Binding numbers: the uniforms, the dropout counter, then the chunks. */
export const UNIFORM_BINDING = 0;
export const CONTROL_BINDING = 1;
export const FIRST_CHUNK_BINDING = 2;

export interface WgslDispatch {
  readonly shader: number;
  /** Invocations: Σ Π ⌈factor·nᵖᵒʷᵉʳ / divisor⌉. */
  readonly count: Count;
}

export interface WgslShaders {
  readonly shaders: readonly string[];
  /** The same shaders computing in f16 (index for index; `enable f16;` where they use it). */
  readonly shadersF16: readonly string[];
  readonly dispatches: Readonly<Record<SequenceName, readonly WgslDispatch[]>>;
}

export function printShaders(plan: WgslPlan): WgslShaders {
  const shaders: string[] = [];
  const shadersF16: string[] = [];
  const shaderIndex = new Map<string, number>();
  const dispatches = Object.fromEntries(
    sequenceNames.map((name) => [
      name,
      plan.sequences[name].map((phase) => {
        const code = phaseShader(plan.modelName, phase, plan.layout, "f32");
        const codeF16 = phaseShader(plan.modelName, phase, plan.layout, "f16");
        const key = `${code}\n${codeF16}`;
        let shader = shaderIndex.get(key);
        if (shader === undefined) {
          shader = shaders.length;
          shaders.push(code);
          shadersF16.push(codeF16);
          shaderIndex.set(key, shader);
        }
        return { shader, count: phaseCount(phase) };
      }),
    ]),
  ) as Record<SequenceName, WgslDispatch[]>;
  return { shaders, shadersF16, dispatches };
}

/** One group's body: a task's, or consecutive single-invocation tasks one after another. */
function groupBody(printed: readonly PrintedTask[]): readonly string[] {
  return printed.length === 1
    ? printed[0]!.body
    : printed.flatMap((t) => ["{", ...t.body.map((line) => `  ${line}`), "}"]);
}

/** One compute shader running the tasks of a phase, invocation ranges one after another. */
function phaseShader(modelName: string, phase: Phase, layout: Layout, precision: Precision): string {
  const printed = phase.map((group) => group.map((task) => printTask(task, layout, precision)));
  const comments = phase.map((group) => group.map((t) => t.comment).join("; "));
  const used = new Set<number>();
  let usesControl = false;
  for (const task of phase.flat()) {
    for (const name of [...task.reads, ...task.writes]) {
      if (name === "control") usesControl = true;
      else used.add(layout.regions.get(name)!.chunk);
    }
  }
  const named = new Set(printed.flat().flatMap((t) => [...t.regions]));
  const lines = [
    `// ${modelName}: ${comments.map(sanitize).join(" | ")}`,
    "struct Uniforms { n: u32, rate: f32, seed: u32, pad: u32 }",
    `@group(0) @binding(${UNIFORM_BINDING}) var<uniform> u: Uniforms;`,
    ...(usesControl ? [`@group(0) @binding(${CONTROL_BINDING}) var<storage, read_write> control: array<u32>;`] : []),
    ...[...used]
      .sort((a, b) => a - b)
      .map(
        (chunk) =>
          `@group(0) @binding(${FIRST_CHUNK_BINDING + chunk}) var<storage, read_write> ${wgslLocal.chunk(chunk)}: array<f32>;`,
      ),
    // Each region's first element within its chunk.
    ...[...layout.regions.values()]
      .filter((r) => named.has(r.name))
      .map((r) => `const ${wgslOffsetName(r.name)} = ${r.offset}u;`),
    ...helperClosure(printed.flat().flatMap((t) => [...t.helpers])).map(
      (name) => helperCode[name] ?? helperCodeF16[name]!,
    ),
  ];
  phase.forEach((_, k) => {
    lines.push(`// ${sanitize(comments[k]!)}`, `fn ${wgslLocal.task(k)}(t: u32) {`);
    for (const line of groupBody(printed[k]!)) lines.push(`  ${line}`); // no spread: a long task overflows the stack
    lines.push("}");
  });
  lines.push(
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    "fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {",
    "  let n = u.n;",
    `  var t = (group.y * groups.x + group.x) * ${WORKGROUP_SIZE}u + local;`,
  );
  phase.forEach((group, k) => {
    const count = countCode(groupCount(group));
    if (k === phase.length - 1) lines.push(`  if (t < ${count}) { ${wgslLocal.task(k)}(t); }`);
    else lines.push(`  if (t < ${count}) { ${wgslLocal.task(k)}(t); return; }`, `  t = t - (${count});`);
  });
  lines.push("}");
  const code = lines.join("\n");
  return /\bf16\b/.test(code) ? `enable f16;\n${code}` : code;
}

/** A comment on one line, without characters that would end a template literal or a comment. */
function sanitize(text: string): string {
  return text.replace(/[`$\\\n\r]/g, " ").replace(/\*\//g, "* /");
}
