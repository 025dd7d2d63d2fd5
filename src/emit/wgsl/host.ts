// The WGSL target's host module: fills templates/wgsl-host.ts.tpl with the printed shaders, the
// dispatch sequences and the layout of a WGSL plan, and what every generated module shares.

import {
  moduleHeader,
  type ModuleHeaderText,
  numberLiteral,
  objectLiteral,
  sharedHoles,
  snapshottedBuffers,
} from "../module-spec.js";
import { fans } from "../../initializers.js";
import { sizeOf } from "../../ir/shape.js";
import { fillTemplate, readTemplate } from "../template.js";
import { bufferName, propertyKey, stringLiteral, wgslRegion } from "../../schedule/names.js";
import type { EntryPointName, Program } from "../../schedule/program.js";
import { planWgsl, sequenceNames, type WgslPlanOptions } from "./plan.js";
import {
  CONTROL_BINDING,
  FIRST_CHUNK_BINDING,
  printShaders,
  vec4Binding,
  WORKGROUP_SIZE,
  type WgslDispatch,
  type WgslShaders,
} from "./shaders.js";

/** WebGPU's default maxComputeWorkgroupsPerDimension. */
const MAX_GROUPS_PER_DIMENSION = 65535;

export interface WgslModuleOptions extends WgslPlanOptions, ModuleHeaderText {}

const quote = (s: string) => JSON.stringify(s);
const union = (names: readonly string[]) => (names.length ? names.map(quote).join(" | ") : "never");
const wgslNumber = numberLiteral;

/** The host module; `printed` is the plan printed once (compile() also validates its shaders), else planned here. */
export function emitWgsl(
  program: Program,
  options: WgslModuleOptions,
  printed?: { readonly plan: ReturnType<typeof planWgsl>; readonly shaders: WgslShaders },
): string {
  const plan = printed?.plan ?? planWgsl(program, options);
  const { shaders, shadersF16, dispatches, bindings } = printed?.shaders ?? printShaders(plan);
  const { layout } = plan;
  const region = (name: string) => layout.regions.get(name)!;
  const regionLiteral = (name: string) => {
    const r = region(name);
    return `[${r.chunk}, ${r.offset}, ${r.elements}]`;
  };
  const entry = (name: EntryPointName) => program.entryPoints.find((e) => e.name === name)!;
  const record = (entries: readonly [string, string][], indent = "  ") =>
    entries.length
      ? `{\n${entries.map(([k, v]) => `${indent}  ${propertyKey(k)}: ${v},`).join("\n")}\n${indent}}`
      : "{}";

  const initialisation = [
    ...program.params.map((param) => {
      const { fanIn, fanOut } = fans(param.shape, param.filterFans);
      const init =
        typeof param.init === "number"
          ? wgslNumber(param.init)
          : typeof param.init === "string"
            ? quote(param.init)
            : objectLiteral(param.init, "    ");
      const size = sizeOf(param.shape);
      return [
        `  {`,
        `    const target = view(${quote(bufferName.param(param.name))});`,
        `    const given = givenParam(params, ${stringLiteral(param.name)}, ${size});`,
        `    if (given !== undefined) target.set(given);`,
        `    else initialise(target, ${init}, ${fanIn}, ${fanOut}, random);`,
        `  }`,
      ].join("\n");
    }),
    ...program.state
      .filter((s) => s.initial !== 0)
      .map((s) => `  view(${quote(s.buffer)}).fill(${wgslNumber(s.initial)});`),
    ...(program.constants ?? []).map(
      (c) => `  view(${quote(c.buffer)}).set([${c.values.map(wgslNumber).join(", ")}]);`,
    ),
  ];

  const dispatchList = (dispatches: readonly WgslDispatch[]) =>
    `[${dispatches.map((d) => `[${d.shader}, [${d.counts.map((count) => `[${count.map((term) => `[${term.map((f) => `[${f.join(", ")}]`).join(", ")}]`).join(", ")}]`).join(", ")}]]`).join(", ")}]`;
  const sequences = sequenceNames.map((name) => `  ${name}: ${dispatchList(dispatches[name])},`).join("\n");
  const shaderList = (codes: readonly string[]) =>
    codes
      .map((code) => {
        if (/[`\\]|\$\{/.test(code))
          throw new Error("internal: a shader contains a character a template literal cannot hold");
        return `  \`${code}\`,`;
      })
      .join("\n");

  const header = moduleHeader(
    program,
    options,
    ", WGSL target",
    "f32",
    `; ${shaders.length} compute shaders, ${dispatches.step.length} dispatches per step; precision "f16" optional (needs shader-f16).`,
  );

  const bufferNames = [...layout.regions.keys()].filter(wgslRegion.isBuffer);
  const bufferTable = (entries: readonly { readonly name: string }[], nameOf: (name: string) => string) =>
    record(entries.map((x) => [x.name, quote(nameOf(x.name))]));
  return fillTemplate(readTemplate("wgsl-host.ts.tpl"), {
    header,
    ...sharedHoles(program, { random: program.params.length > 0 }),
    setup:
      program.params.length > 0
        ? `  const random = createRandom(seed);\n  const params = givenParams(options.params);`
        : `  givenParams(options.params);`,
    bufferNameUnion: union(bufferNames),
    workgroupSize: String(WORKGROUP_SIZE),
    maxGroups: String(MAX_GROUPS_PER_DIMENSION),
    chunkSizes: `[${layout.chunks.join(", ")}]`,
    usesControl: String(program.dropout.length > 0),
    controlBinding: String(CONTROL_BINDING),
    firstChunkBinding: String(FIRST_CHUNK_BINDING),
    firstVec4Binding: String(vec4Binding(layout, 0)),
    regions: record(bufferNames.map((name) => [name, regionLiteral(name)])),
    results: record((Object.entries(plan.results) as [string, string][]).map(([name, r]) => [name, regionLiteral(r)])),
    inputSizes: record(program.inputs.map((x) => [x.name, String(sizeOf(x.shape))])),
    idsBounds: record(
      program.inputs.flatMap((x) => (x.ids ? [[x.name, String(x.ids.bound)] as [string, string]] : [])),
    ),
    entryInputs: record(
      (["loss", "trainingLoss", "gradient", "predict", "step"] as const).map((name) => {
        const source =
          name === "step"
            ? "gradient"
            : name === "trainingLoss" && !program.entryPoints.some((e) => e.name === "trainingLoss")
              ? "loss"
              : name;
        return [
          name,
          `[${entry(source as EntryPointName)
            .inputs.map(quote)
            .join(", ")}]`,
        ];
      }),
    ),
    outputSizes: record(
      program.outputs.map((o) => {
        const buffer = program.buffers.find((b) => b.name === bufferName.output(o.name))!;
        return [o.name, `[${buffer.size}, ${buffer.perExample}]`];
      }),
    ),
    stateBuffers: record(program.state.map((s) => [s.label, quote(s.buffer)])),
    snapshotted: `[${snapshottedBuffers(program).map(quote).join(", ")}]`,
    inputBuffers: bufferTable(program.inputs, bufferName.input),
    paramBuffers: bufferTable(program.params, bufferName.param),
    gradBuffers: bufferTable(program.params, bufferName.grad),
    inputGradBuffers: bufferTable(
      program.inputs.filter((x) => x.wantsGrad),
      bufferName.inputGrad,
    ),
    outputBuffers: bufferTable(program.outputs, bufferName.output),
    initialisation: initialisation.join("\n"),
    shaders: shaderList(shaders),
    shaderBindings: `[\n${bindings.map((list) => `  [${list.map(([binding, type]) => `[${binding}, ${quote(type)}]`).join(", ")}],`).join("\n")}\n]`,
    shadersF16: shaderList(shadersF16),
    sequences,
  });
}
