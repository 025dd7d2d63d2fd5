// Compile a model definition (dtype f64) and import the generated module, so tests exercise the
// code users run rather than the compiler's internals.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { compile, type CompileOptions, type ModelDefinition } from "gradgen";

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
  readonly state: { step: number; readonly buffers: Fields };
  learningRate: number;
  setLearningRate(learningRate: number): void;
  trainingLoss(batch: Fields, n?: number): number;
  resampleDropout(n?: number): void;
  snapshot(): void;
  restore(): void;
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
let loaded = 0;

export async function loadGenerated(
  definition: ModelDefinition,
  batch: number,
  options: CompileOptions = {},
): Promise<GeneratedModule> {
  const { files } = compile(definition, { batch, dtype: "f64", source: `test model ${definition.name}`, ...options });
  const file = files[0]!;
  directory ??= mkdtempSync(path.join(tmpdir(), "gradgen-ops-"));
  // A fresh file name per load: the module cache would otherwise hand back an earlier model of the same name.
  const target = path.join(directory, `${loaded++}-${file.path}`);
  writeFileSync(target, file.contents);
  const module = (await import(pathToFileURL(target).href)) as Omit<GeneratedModule, "source">;
  return { ...module, source: file.contents };
}

/**
 * ∂loss/∂params[name][index] by f64 central differences, (L(p + h) − L(p − h)) / 2h, with `loss()`
 * evaluated at each side; the parameter is restored.
 */
export function centralDifference(
  params: Readonly<Record<string, Float64Array>>,
  name: string,
  index: number,
  loss: () => number,
  h = 1e-5,
): number {
  const values = params[name]!;
  const saved = values[index]!;
  values[index] = saved + h;
  const up = loss();
  values[index] = saved - h;
  const down = loss();
  values[index] = saved;
  return (up - down) / (2 * h);
}
