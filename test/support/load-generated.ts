// Compile a model definition (dtype f64) and import the generated module, so tests exercise the
// code users run rather than the compiler's internals.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { compile, type ModelDefinition } from "gradgen";

export type Fields = Record<string, Float64Array>;

/** The part of a generated trainer the tests use, with names erased to strings. */
export interface GeneratedTrainer {
  readonly spec: {
    readonly batch: number;
    readonly inputs: Readonly<Record<string, readonly number[]>>;
    readonly params: Readonly<Record<string, readonly number[]>>;
    readonly outputs: Readonly<Record<string, readonly number[]>>;
  };
  readonly params: Fields;
  readonly grads: Fields;
  readonly inputGrads: Fields;
  learningRate: number;
  loss(batch: Fields, n?: number): number;
  gradient(batch: Fields, n?: number): number;
  step(batch: Fields, n?: number): number;
  predict(inputs: Fields, n?: number): Fields;
}

export interface GeneratedModule {
  readonly source: string;
  createTrainer(options?: { seed?: number; params?: Record<string, ArrayLike<number>> }): GeneratedTrainer;
}

let directory: string | undefined;

export async function loadGenerated(definition: ModelDefinition, batch: number): Promise<GeneratedModule> {
  const { files } = compile(definition, { batch, dtype: "f64", source: `test model ${definition.name}` });
  const file = files[0]!;
  directory ??= mkdtempSync(path.join(tmpdir(), "gradgen-ops-"));
  const target = path.join(directory, file.path);
  writeFileSync(target, file.contents);
  const module = (await import(pathToFileURL(target).href)) as Omit<GeneratedModule, "source">;
  return { ...module, source: file.contents };
}
