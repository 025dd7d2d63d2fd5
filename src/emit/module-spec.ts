// What every generated module shares, whatever its target: the `spec` it exports (names, shapes,
// dtype, optimizer, structure hash) so runtime code (checkpoints, fit) reads any trainer alike, its
// name types, the header, the buffers snapshot() copies, and the runtime pieces (runtime-source.ts).

import type { EntryPointName, Program } from "../schedule/program.js";
import { bufferName, propertyKey } from "../schedule/names.js";
import { commentText } from "./header-text.js";
import { runtimeSource } from "./runtime-source.js";

export function moduleSpec(program: Program) {
  return {
    model: program.modelName,
    batch: program.batch,
    dtype: program.dtype,
    structureHash: program.structureHash,
    inputs: Object.fromEntries(program.inputs.map((x) => [x.name, x.shape])),
    params: Object.fromEntries(program.params.map((p) => [p.name, p.shape])),
    outputs: Object.fromEntries(program.outputs.map((o) => [o.name, o.shape])),
    optimizer: program.optimizer,
    dropout: program.dropout.map((d) => d.dropProbability),
  };
}

/** The header's and the CLI's words for the compiled batch (the default is 1, easily missed). */
export function examplesPerCall(batch: number): string {
  return batch === 1 ? "one example per call; compile with --batch N for up to N" : `up to ${batch} examples per call`;
}

/** A number in TypeScript source. */
export function numberLiteral(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return String(value);
}

/** Object literal with one key per line and arrays (shapes) kept on one line. */
export function objectLiteral(value: unknown, indent = ""): string {
  if (Array.isArray(value)) return `[${value.map((v) => objectLiteral(v, indent)).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    const inner = indent + "  ";
    // Any identifier is a valid bare key, except __proto__, which would set the prototype.
    return `{\n${entries.map(([k, v]) => `${inner}${/^[A-Za-z_$][\w$]*$/.test(k) && k !== "__proto__" ? k : propertyKey(k)}: ${objectLiteral(v, inner)},`).join("\n")}\n${indent}}`;
  }
  return typeof value === "number" ? numberLiteral(value) : JSON.stringify(value);
}

const union = (names: readonly string[]) =>
  names.length ? names.map((name) => JSON.stringify(name)).join(" | ") : "never";

/**
 * The holes both templates share: the spec, the name types, the runtime pieces (mulberry32 where
 * the module draws random numbers, the initialisers where it has parameters).
 */
export function sharedHoles(program: Program, uses: { readonly random: boolean }): Record<string, string> {
  const predict = program.entryPoints.find((e) => e.name === ("predict" satisfies EntryPointName))!;
  const idsInputs = program.inputs.filter((x) => x.ids).map((x) => x.name);
  const nameTypes = [
    `export type InputName = ${union(program.inputs.map((x) => x.name))};`,
    `export type ParamName = ${union(program.params.map((p) => p.name))};`,
    `export type OutputName = ${union(program.outputs.map((o) => o.name))};`,
    `export type StateName = ${union(program.state.map((s) => s.label))};`,
    `export type InputGradName = ${union(program.inputs.filter((x) => x.wantsGrad).map((x) => x.name))};`,
    ...(idsInputs.length === 0
      ? [
          `export type Batch = { readonly [K in InputName]: Values };`,
          `export type PredictInputs = { readonly [K in ${union(predict.inputs)}]: Values };`,
        ]
      : [
          // int32 inputs (integer ids) are Int32Arrays
          `export type IdsInputName = ${union(idsInputs)};`,
          `export type Batch = { readonly [K in InputName]: K extends IdsInputName ? Int32Array : Values };`,
          `export type PredictInputs = { readonly [K in ${union(predict.inputs)}]: K extends IdsInputName ? Int32Array : Values };`,
        ]),
  ].join("\n");
  return {
    spec: objectLiteral(moduleSpec(program)),
    nameTypes,
    random: uses.random ? runtimeSource("random") : "",
    initialisers: program.params.length > 0 ? runtimeSource("initialisers") : "",
    checks: runtimeSource("checks"),
  };
}

/** What the header says about where the module came from. */
export interface ModuleHeaderText {
  /** The model file (relative to this file's folder when compiled by the CLI), as named in the header. */
  readonly source: string;
  /** The command that regenerates this file. */
  readonly command: string;
  /** The command's paths are relative to the generated file's folder (the CLI's headers): say so. */
  readonly commandRunsInOutputFolder?: boolean;
}

/**
 * The header: the model file, "do not edit", the command that regenerates the file, and one line
 * on what was compiled (`target`: "" or ", WGSL target"; `extra` ends the third line).
 */
export function moduleHeader(
  program: Program,
  header: ModuleHeaderText,
  target: string,
  dtype: string,
  extra: string,
): string {
  const { source, command } = header;
  const { kind, ...hyperparameters } = program.optimizer;
  return [
    `// Generated by gradgen from ${commentText(source)} (model "${program.modelName}")${target}. Do not edit:`,
    `// regenerate with \`${commentText(command)}\`${header.commandRunsInOutputFolder ? " in this file's folder" : ""}.`,
    `// Batch ${program.batch} (${examplesPerCall(program.batch)}), ${dtype}, optimizer ${kind} (${Object.entries(
      hyperparameters,
    )
      .map(([k, v]) => `${k} ${numberLiteral(v)}`)
      .join(", ")})${extra}`,
  ].join("\n");
}

/** The buffers snapshot() copies: parameters, then optimizer state. */
export function snapshottedBuffers(program: Program): string[] {
  return [...program.params.map((p) => bufferName.param(p.name)), ...program.state.map((s) => s.buffer)];
}
