// Gradient checking for users (as JAX's check_grads, Theano's verify_grad): compile an f64 variant
// of the model, then compare the analytic gradient with central differences of the loss, element
// by element for every parameter and along random directions.

import { compile } from "../compile.js";
import { createRandom } from "../random.js";
import { importGenerated } from "../import-generated.js";
import { traceModel, type ModelDefinition } from "../dsl/model.js";
import { reachableInOrder } from "../ir/graph.js";
import { Op } from "../ir/ops.js";

export interface GradientCheckOptions {
  /** Largest relative error accepted. Default 1e-6. */
  readonly tolerance?: number;
  /** Examples in the batch the loss is averaged over. Default 2. */
  readonly batch?: number;
  /** Seed of the parameters, inputs and directions. Default 0. */
  readonly seed?: number;
  /** Random directions per parameter. Default 3. */
  readonly directions?: number;
  /** At most this many elements per parameter are checked one by one (spread evenly). Default 64. */
  readonly elementsPerParam?: number;
}

export interface ParamCheck {
  readonly name: string;
  readonly elementsChecked: number;
  /** Worst relative error over the checked elements. */
  readonly worstElementError: number;
  readonly worstElementIndex: number;
  /** Worst relative error of directional derivatives along random directions. */
  readonly worstDirectionError: number;
  readonly passed: boolean;
}

export interface GradientCheckReport {
  readonly model: string;
  readonly tolerance: number;
  readonly params: readonly ParamCheck[];
  readonly passed: boolean;
}

interface CheckedTrainer {
  readonly params: Record<string, Float64Array>;
  readonly grads: Record<string, Float64Array>;
  readonly spec: { readonly inputs: Record<string, readonly number[]> };
  gradient(batch: Record<string, Float64Array>): number;
  trainingLoss(batch: Record<string, Float64Array>): number;
  resampleDropout(): void;
}

/**
 * |a − b| relative to their size. Below 1e-4 the comparison becomes absolute: a derivative that is
 * truly 0 (a dead ReLU) has central differences of rounding size (~1e-12), not relatively close to 0.
 */
export function relativeError(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a) + Math.abs(b), 1e-4);
}

/**
 * Inputs that are softmax cross-entropy targets: that loss is defined for targets that are
 * distributions over the last axis (its gradient is p − y), so they are sampled as such.
 */
function distributionInputs(definition: ModelDefinition): Set<string> {
  const traced = traceModel(definition);
  const names = new Set<string>();
  for (const node of reachableInOrder([traced.loss])) {
    if (node.op !== Op.SoftmaxCrossEntropy) continue;
    let target = node.inputs[1]!;
    while (target.op === Op.Reshape) target = target.inputs[0]!;
    if (target.op === Op.Input) names.add(target.attrs.name!);
  }
  return names;
}

function normalizeRows(values: Float64Array, width: number): void {
  for (let row = 0; row < values.length; row += width) {
    let sum = 0;
    for (let i = row; i < row + width; i++) sum += values[i]!;
    for (let i = row; i < row + width; i++) values[i]! /= sum;
  }
}

export async function checkGradients(definition: ModelDefinition, options: GradientCheckOptions = {}): Promise<GradientCheckReport> {
  const tolerance = options.tolerance ?? 1e-6;
  const batchSize = options.batch ?? 2;
  const random = createRandom(options.seed ?? 0);
  const { files } = compile(definition, { batch: batchSize, dtype: "f64", optimizer: "sgd" });
  const module = await importGenerated<{ createTrainer(options: { seed: number }): CheckedTrainer }>(files[0]!.contents);
  const trainer = module.createTrainer({ seed: options.seed ?? 0 });
  // Inputs in (0.05, 0.95): inside the domain of log, sqrt and the probability losses.
  const distributions = distributionInputs(definition);
  const batch = Object.fromEntries(Object.entries(trainer.spec.inputs).map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1) * batchSize;
    const values = Float64Array.from({ length: size }, () => 0.05 + 0.9 * random());
    if (distributions.has(name)) normalizeRows(values, shape[shape.length - 1]!);
    return [name, values];
  }));
  trainer.resampleDropout(); // one fixed mask for the analytic and the numeric side
  trainer.gradient(batch);
  const analytic = Object.fromEntries(Object.entries(trainer.grads).map(([name, g]) => [name, Float64Array.from(g)]));

  const centralDifference = (apply: (step: number) => void): number => {
    // Fourth-order stencil: (−f(2h) + 8f(h) − 8f(−h) + f(−2h)) / 12h, much less truncation error than ±h.
    const h = 1e-4;
    const at = (step: number) => { apply(step); const value = trainer.trainingLoss(batch); apply(-step); return value; };
    return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
  };

  const params: ParamCheck[] = Object.entries(trainer.params).map(([name, values]) => {
    const gradient = analytic[name]!;
    const count = Math.min(values.length, options.elementsPerParam ?? 64);
    let worstElementError = 0;
    let worstElementIndex = 0;
    for (let k = 0; k < count; k++) {
      const index = Math.floor((k * values.length) / count);
      const numeric = centralDifference((step) => { values[index]! += step; });
      const error = relativeError(gradient[index]!, numeric);
      if (error > worstElementError) { worstElementError = error; worstElementIndex = index; }
    }
    let worstDirectionError = 0;
    for (let d = 0; d < (options.directions ?? 3); d++) {
      const direction = Float64Array.from({ length: values.length }, () => random() * 2 - 1);
      const norm = Math.hypot(...direction);
      direction.forEach((v, i) => (direction[i] = v / norm));
      const numeric = centralDifference((step) => { for (let i = 0; i < values.length; i++) values[i]! += step * direction[i]!; });
      const along = direction.reduce((sum, v, i) => sum + v * gradient[i]!, 0);
      worstDirectionError = Math.max(worstDirectionError, relativeError(along, numeric));
    }
    const passed = worstElementError <= tolerance && worstDirectionError <= tolerance;
    return { name, elementsChecked: count, worstElementError, worstElementIndex, worstDirectionError, passed };
  });
  return { model: definition.name, tolerance, params, passed: params.every((p) => p.passed) };
}

/** The report as a table for the terminal. */
export function formatReport(report: GradientCheckReport): string {
  const rows = report.params.map((p) => [
    p.name, String(p.elementsChecked), p.worstElementError.toExponential(2), String(p.worstElementIndex), p.worstDirectionError.toExponential(2), p.passed ? "ok" : "FAILED",
  ]);
  const header = ["param", "elements", "worst error", "at", "directions", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const verdict = report.passed
    ? `model ${report.model}: gradients agree with central differences (tolerance ${report.tolerance}).`
    : `model ${report.model}: gradients differ from central differences by more than ${report.tolerance}; a derivative rule is wrong for the parameters marked FAILED.`;
  return [line(header), ...rows.map(line), verdict].join("\n");
}
