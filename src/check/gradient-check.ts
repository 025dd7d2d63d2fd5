// Gradient checking for users (as JAX's check_grads, Theano's verify_grad): compile an f64 variant
// of the model, then compare its analytic gradient with central differences of the loss, element by
// element and along random directions, for every parameter and every input declared { grad: true },
// at the initial parameters and at seeded random perturbations of them.
//
// What makes the verdict believable:
// - Kinks. Where relu, max, abs… switch branch inside the finite-difference stencil, the derivative
//   is one-sided and central differences measure neither side. The traced forward graph is
//   interpreted at every stencil point (forward.ts) and a coordinate whose branches differ between
//   them is skipped, and counted as skipped: no guessing from the numbers.
// - Round-off. f(θ ± h) carries an error of about ε·|f|, which the difference quotient divides by h;
//   differences within that bound are accepted, so large losses do not raise false alarms.
// - Step. h = ε^(1/5)·max(1, |θᵢ|) per coordinate, the balance of the fourth-order stencil's
//   truncation (∝ h⁴) and round-off (∝ ε/h).

import { compile } from "../compile.js";
import { createRandom } from "../random.js";
import { importGenerated } from "../import-generated.js";
import { traceModel, type ModelDefinition, type TracedModel } from "../dsl/model.js";
import { buildTrainingGraph } from "../pipeline.js";
import { formatLocation, GradgenError } from "../errors.js";
import { isIntegerNode, type Node } from "../ir/node.js";
import { idBound } from "../ir/ids.js";
import { Op } from "../ir/ops.js";
import { reachableInOrder } from "../ir/graph.js";
import { ForwardEvaluator } from "./forward.js";

export interface GradientCheckOptions {
  /** Largest relative error accepted (differences within the loss's round-off always are). Default 1e-6. */
  readonly tolerance?: number;
  /** Examples in the batch the loss is averaged over. Default 2. */
  readonly batch?: number;
  /** Seed of the parameters, inputs, perturbations and directions. Default 0. */
  readonly seed?: number;
  /** Points checked: the initial parameters, then random perturbations of them. Default 3. */
  readonly points?: number;
  /** Random directions per parameter (or input) at each point. Default 3. */
  readonly directions?: number;
  /** At most this many elements per parameter (or input) are checked one by one at each point. Default 64. */
  readonly elementsPerParam?: number;
}

export interface EntryCheck {
  readonly name: string;
  readonly kind: "param" | "input";
  readonly shape: readonly number[];
  /** Elements of the parameter; of an input, over the whole batch. */
  readonly size: number;
  /** Distinct elements compared at one point or more. */
  readonly elementsChecked: number;
  /** Element comparisons made, over all points. */
  readonly comparisons: number;
  /** Element comparisons skipped: a kink inside the stencil, or a loss that is not finite there. */
  readonly elementsSkipped: number;
  /** Worst relative error over the compared elements. */
  readonly worstElementError: number;
  /** Where it was: the flat element index and the point. */
  readonly worstElementIndex: number;
  readonly worstElementPoint: number;
  readonly directionsChecked: number;
  readonly directionsSkipped: number;
  /** Worst relative error of directional derivatives along random directions. */
  readonly worstDirectionError: number;
  /** customGradient rules the entry's gradient flows through ("name (file:line)"). */
  readonly customRules: readonly string[];
  /** "ok": no error above the tolerance; "failed": some; "unchecked": every comparison was skipped. */
  readonly status: "ok" | "failed" | "unchecked";
  readonly passed: boolean;
}

export interface GradientCheckReport {
  readonly model: string;
  readonly tolerance: number;
  readonly batch: number;
  readonly seed: number;
  readonly points: number;
  readonly elementsPerParam: number;
  readonly directions: number;
  readonly params: readonly EntryCheck[];
  /** Inputs declared { grad: true }. */
  readonly inputs: readonly EntryCheck[];
  /** Element and direction comparisons made, and skipped, over all entries and points. */
  readonly checked: number;
  readonly skipped: number;
  /** Of the skipped: where the loss was not finite (the others straddled a kink). */
  readonly skippedNotFinite: number;
  readonly passed: boolean;
  /** One paragraph: what passed or failed and why. */
  readonly verdict: string;
}

/** A batch field: an input's values, or the ids of an int32 input. */
export type BatchField = Float64Array | Int32Array;

/** What the checker needs of an implementation of a model: values it can move, a loss and a gradient. */
export interface GradientSource {
  readonly batch: number;
  /** Live parameter values by name: the checker writes them, and the loss and gradient read them. */
  readonly params: Readonly<Record<string, Float64Array>>;
  /** Mean loss over the batch with the current dropout masks. */
  trainingLoss(batch: Readonly<Record<string, BatchField>>): number;
  /** Its gradient with respect to the parameters and to the inputs declared { grad: true } (copies). */
  gradient(batch: Readonly<Record<string, BatchField>>): {
    params: Record<string, Float64Array>;
    inputs: Record<string, Float64Array>;
  };
  /** Draws fresh dropout masks and returns them by mask name, laid out [batch][mask size]. */
  resampleDropout(): ReadonlyMap<string, Float64Array>;
}

interface CompiledTrainer {
  readonly params: Record<string, Float64Array>;
  readonly grads: Record<string, Float64Array>;
  readonly inputGrads: Record<string, Float64Array>;
  gradient(batch: Record<string, BatchField>): number;
  trainingLoss(batch: Record<string, BatchField>): number;
  resampleDropout(): void;
}

const epsilon = 2 ** -52;
/** ε^(1/5): the step that balances the fourth-order stencil's truncation and round-off, per unit of |θᵢ|. */
const relativeStep = epsilon ** 0.2;
/**
 * Round-off allowance: a loss evaluated in f64 is within about this many ε·|f| of the exact value
 * (sums of many terms, a few dozen operations deep), and the stencil divides that by h.
 */
const roundOffUlps = 64;
/** The stencil's offsets in steps, and its weights (×1/12h): f′ ≈ (f(−2h) − 8f(−h) + 8f(h) − f(2h)) / 12h. */
const offsets = [-2, -1, 1, 2] as const;
const weights = [1, -8, 8, -1] as const;

/** Compiles an f64 trainer of the model and checks its gradient. */
export async function checkGradients(
  definition: ModelDefinition,
  options: GradientCheckOptions = {},
): Promise<GradientCheckReport> {
  const traced = traceModel(definition);
  const acrossBatch = reachableInOrder([traced.loss]).find(
    (node) => node.op === Op.BatchSum || node.op === Op.BatchStatistic,
  );
  if (acrossBatch)
    throw new GradgenError(
      `gradgen check compares each example's loss with its own finite differences, but model "${traced.name}" uses a statistic across the batch (batchMean, batchVariance or nn.batchNorm), so one example's loss depends on the others. Check it with its trainer instead: gradient() against central differences of trainingLoss() (as test/ops.test.ts does).`,
      traced.origins.get(acrossBatch) ?? definition.origin,
    );
  // A model without inputs has no batch (compile refuses an explicit one): one "example".
  const batch = options.batch ?? (traced.inputs.length === 0 ? 1 : 2);
  const source = await compiledSource(definition, traced, batch, options.seed ?? 0);
  return checkSource(traced, source, options);
}

/** The trainer users run, compiled in f64, with a replica of its dropout masks for the kink test. */
async function compiledSource(
  definition: ModelDefinition,
  traced: TracedModel,
  batch: number,
  seed: number,
): Promise<GradientSource> {
  const { files } = compile(definition, { batch, dtype: "f64", optimizer: "sgd" });
  const module = await importGenerated<{ createTrainer(options: { seed: number }): CompiledTrainer }>(
    files[0]!.contents,
  );
  const trainer = module.createTrainer({ seed });
  // The generated trainer draws its masks in this order from this stream (templates/trainer.ts.tpl);
  // checkSource verifies the replica: its loss must equal the trainer's.
  const masks = buildTrainingGraph(traced).dropoutMasks.map((m) => ({
    ...m,
    values: new Float64Array(batch * m.shape.reduce((a, b) => a * b, 1)),
  }));
  const maskRandom = createRandom(seed ^ 0x5bd1e995);
  const copy = (fields: Record<string, Float64Array>) =>
    Object.fromEntries(Object.entries(fields).map(([name, g]) => [name, Float64Array.from(g)]));
  return {
    batch,
    params: trainer.params,
    trainingLoss: (data) => trainer.trainingLoss(data as Record<string, BatchField>),
    gradient(data) {
      trainer.gradient(data as Record<string, BatchField>);
      return { params: copy(trainer.grads), inputs: copy(trainer.inputGrads) };
    },
    resampleDropout() {
      trainer.resampleDropout();
      for (const mask of masks) {
        const keep = 1 - mask.dropProbability;
        for (let i = 0; i < mask.values.length; i++) mask.values[i] = maskRandom() < keep ? 1 / keep : 0;
      }
      return new Map(masks.map((m) => [m.name, m.values]));
    },
  };
}

/**
 * Inputs that are softmax cross-entropy targets: that loss is defined for targets that are
 * distributions over the last axis (its gradient is p − y), so they are sampled as such.
 */
function distributionInputs(traced: TracedModel): Set<string> {
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

/** The customGradient nodes a gradient from `leaf` flows through (by their differentiated operands, 1…). */
function customRulesBelow(traced: TracedModel, leaf: Node): string[] {
  const depends = new Set<Node>([leaf]);
  const rules: string[] = [];
  for (const node of reachableInOrder([traced.loss])) {
    if (!node.inputs.some((input) => depends.has(input))) continue;
    depends.add(node);
    if (node.op === Op.CustomGradient && node.inputs.slice(1).some((input) => depends.has(input))) {
      const origin = traced.origins.get(node) ?? node.origin;
      const name = `"${node.attrs.rule!.replace(/#[^#]*$/, "")}"${origin ? ` (${formatLocation(origin)})` : ""}`;
      if (!rules.includes(name)) rules.push(name);
    }
  }
  return rules;
}

interface Tally {
  notFinite: number;
  checkedElements: Set<number>;
  comparisons: number;
  elementsSkipped: number;
  worstElementError: number;
  worstElementIndex: number;
  worstElementPoint: number;
  directionsChecked: number;
  directionsSkipped: number;
  worstDirectionError: number;
}

/**
 * Relative error of the analytic derivative `a` against the numeric `n`: relative to the larger of
 * the two, or to `floor` when that is larger (the numeric side's round-off over the tolerance, so a
 * difference within round-off never exceeds the tolerance).
 */
function relativeError(a: number, n: number, floor: number): number {
  if (!Number.isFinite(a)) return Infinity;
  const difference = Math.abs(a - n);
  return difference === 0 ? 0 : difference / Math.max(Math.abs(a), Math.abs(n), floor);
}

/** Checks `source`'s gradient of the traced model: the engine of checkGradients, for any implementation. */
export function checkSource(
  traced: TracedModel,
  source: GradientSource,
  options: GradientCheckOptions = {},
): GradientCheckReport {
  const tolerance = options.tolerance ?? 1e-6;
  const seed = options.seed ?? 0;
  const points = options.points ?? 3;
  const perPoint = options.elementsPerParam ?? 64;
  const directionCount = options.directions ?? 3;
  const batchSize = source.batch;
  const counts = { points, elementsPerParam: perPoint, directions: directionCount, seed };
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < (name === "points" ? 1 : 0))
      throw new GradgenError(
        `checkGradients: ${name} must be an integer ≥ ${name === "points" ? 1 : 0}, got ${value}.`,
      );
  }
  if (!(tolerance > 0))
    throw new GradgenError(`checkGradients: the tolerance must be a positive number, got ${tolerance}.`);
  const random = createRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

  const distributions = distributionInputs(traced);
  const batch: Record<string, BatchField> = Object.fromEntries(
    traced.inputs.map((x) => [
      x.attrs.name!,
      isIntegerNode(x) ? new Int32Array(batchSize * x.size) : new Float64Array(batchSize * x.size),
    ]),
  );
  const entries = [
    ...traced.params
      .filter((node) => !node.attrs.frozen) // frozen: no gradient by definition, nothing to check
      .map((node) => ({ node, kind: "param" as const, values: source.params[node.attrs.name!]! })),
    ...traced.inputs
      .filter((x) => x.attrs.wantsGrad)
      .map((node) => ({ node, kind: "input" as const, values: batch[node.attrs.name!] as Float64Array })),
  ];
  const tallies: Tally[] = entries.map(() => ({
    notFinite: 0,
    checkedElements: new Set(),
    comparisons: 0,
    elementsSkipped: 0,
    worstElementError: 0,
    worstElementIndex: 0,
    worstElementPoint: 0,
    directionsChecked: 0,
    directionsSkipped: 0,
    worstDirectionError: 0,
  }));
  const initial = new Map(traced.params.map((p) => [p, Float64Array.from(source.params[p.attrs.name!]!)]));

  for (let point = 0; point < points; point++) {
    // The initial parameters, then each parameter moved by noise on the scale of its own values.
    for (const [param, start] of initial) {
      const values = source.params[param.attrs.name!]!;
      const rms = Math.sqrt(start.reduce((s, v) => s + v * v, 0) / Math.max(1, start.length));
      const scale = point === 0 ? 0 : Math.max(0.5 * rms, 0.05);
      for (let i = 0; i < values.length; i++) values[i] = start[i]! + scale * (point === 0 ? 0 : gaussian());
    }
    // Inputs in (0.05, 0.95): inside the domain of log, sqrt and the probability losses; ids uniform
    // over the rows every op that reads them accepts (they have no derivative: nothing moves them).
    for (const input of traced.inputs) {
      const values = batch[input.attrs.name!]!;
      if (values instanceof Int32Array) {
        const bound = idBound([traced.loss], input) ?? 1;
        for (let i = 0; i < values.length; i++) values[i] = Math.floor(bound * random());
        continue;
      }
      for (let i = 0; i < values.length; i++) values[i] = 0.05 + 0.9 * random();
      if (distributions.has(input.attrs.name!)) normalizeRows(values, input.shape[input.shape.length - 1] ?? 1);
    }
    const masks = source.resampleDropout();
    const analytic = source.gradient(batch);
    const leaves = new Map<Node, Float64Array>();
    for (const p of traced.params) leaves.set(p, source.params[p.attrs.name!]!);
    for (const x of traced.inputs) {
      const values = batch[x.attrs.name!]!;
      leaves.set(x, values instanceof Int32Array ? Float64Array.from(values) : values); // ids: nothing moves them
    }
    for (const node of reachableInOrder([traced.loss]))
      if (node.op === Op.DropoutMask) leaves.set(node, masks.get(node.attrs.name!)!);
    const evaluator = new ForwardEvaluator(traced.loss, batchSize, leaves);
    evaluator.evaluateAll();
    const center = source.trainingLoss(batch);
    const interpreted = evaluator.meanRoot();
    if (!Number.isFinite(center)) {
      // Outside the loss's domain at this point: nothing here can be compared.
      entries.forEach((entry, i) => {
        tallies[i]!.elementsSkipped += Math.min(entry.values.length, perPoint);
        tallies[i]!.directionsSkipped += directionCount;
        tallies[i]!.notFinite += Math.min(entry.values.length, perPoint) + directionCount;
      });
      continue;
    }
    if (!(Math.abs(center - interpreted) <= 1e-8 * (1 + Math.abs(center)))) {
      throw new Error(
        `internal: the gradient checker's interpreter gives the loss ${interpreted}, the trainer ${center} (model ${traced.name}, point ${point}); this is a bug in gradgen.`,
      );
    }

    /** f′ along `move` by the fourth-order stencil, or why not: a kink lies in it, or the loss is not finite there. */
    const differentiate = (
      leaf: Node,
      example: number | undefined,
      h: number,
      move: (t: number) => void,
    ): { numeric: number; noise: number } | "kink" | "not finite" => {
      const kinky = evaluator.hasKinksBelow(leaf);
      const branches = kinky ? evaluator.branches(leaf, example) : undefined;
      let numeric = 0;
      let scale = Math.abs(center);
      let problem: "kink" | "not finite" | undefined;
      for (let k = 0; k < offsets.length && !problem; k++) {
        move(offsets[k]! * h);
        if (kinky) {
          evaluator.update(leaf, example);
          const here = evaluator.branches(leaf, example);
          if (!here.every((b, i) => b === branches![i])) {
            problem = "kink";
            break;
          }
        }
        const f = source.trainingLoss(batch);
        if (!Number.isFinite(f)) problem = "not finite";
        numeric += weights[k]! * f;
        scale = Math.max(scale, Math.abs(f));
      }
      move(0);
      if (kinky) evaluator.update(leaf, example);
      if (problem) return problem;
      return { numeric: numeric / (12 * h), noise: (roundOffUlps * epsilon * scale) / h };
    };

    entries.forEach((entry, e) => {
      const tally = tallies[e]!;
      const { node, values } = entry;
      const gradient = (entry.kind === "param" ? analytic.params : analytic.inputs)[node.attrs.name!]!;
      const size = values.length;
      // Evenly spread elements at the initial point, a random sample at the others.
      const count = Math.min(size, perPoint);
      const chosen = new Set<number>();
      if (point === 0 || count === size) for (let k = 0; k < count; k++) chosen.add(Math.floor((k * size) / count));
      else while (chosen.size < count) chosen.add(Math.floor(random() * size));
      for (const index of chosen) {
        const base = values[index]!;
        const example = entry.kind === "input" ? Math.floor(index / node.size) : undefined;
        const h = relativeStep * Math.max(1, Math.abs(base));
        const result = differentiate(node, example, h, (t) => {
          values[index] = base + t;
        });
        if (typeof result === "string") {
          tally.elementsSkipped += 1;
          if (result === "not finite") tally.notFinite += 1;
          continue;
        }
        tally.comparisons += 1;
        tally.checkedElements.add(index);
        const error = relativeError(gradient[index]!, result.numeric, result.noise / tolerance);
        if (error > tally.worstElementError)
          Object.assign(tally, { worstElementError: error, worstElementIndex: index, worstElementPoint: point });
      }
      for (let d = 0; d < directionCount; d++) {
        const direction = Float64Array.from({ length: size }, () => gaussian());
        const norm = Math.sqrt(direction.reduce((s, v) => s + v * v, 0)) || 1;
        direction.forEach((v, i) => (direction[i] = v / norm));
        const base = Float64Array.from(values);
        const rms = Math.sqrt(base.reduce((s, v) => s + v * v, 0) / Math.max(1, size));
        const h = relativeStep * Math.max(1, rms);
        const result = differentiate(node, undefined, h, (t) => {
          for (let i = 0; i < size; i++) values[i] = base[i]! + t * direction[i]!;
        });
        if (typeof result === "string") {
          tally.directionsSkipped += 1;
          if (result === "not finite") tally.notFinite += 1;
          continue;
        }
        tally.directionsChecked += 1;
        let along = 0;
        for (let i = 0; i < size; i++) along += direction[i]! * gradient[i]!;
        tally.worstDirectionError = Math.max(
          tally.worstDirectionError,
          relativeError(along, result.numeric, result.noise / tolerance),
        );
      }
    });
  }
  // Leave the parameters as they were.
  for (const [param, start] of initial) source.params[param.attrs.name!]!.set(start);

  const results: EntryCheck[] = entries.map((entry, e) => {
    const t = tallies[e]!;
    const failed = t.worstElementError > tolerance || t.worstDirectionError > tolerance;
    const status = failed ? "failed" : t.comparisons + t.directionsChecked === 0 ? "unchecked" : "ok";
    return {
      name: entry.node.attrs.name!,
      kind: entry.kind,
      shape: entry.node.shape,
      size: entry.values.length,
      elementsChecked: t.checkedElements.size,
      comparisons: t.comparisons,
      elementsSkipped: t.elementsSkipped,
      worstElementError: t.worstElementError,
      worstElementIndex: t.worstElementIndex,
      worstElementPoint: t.worstElementPoint,
      directionsChecked: t.directionsChecked,
      directionsSkipped: t.directionsSkipped,
      worstDirectionError: t.worstDirectionError,
      customRules: customRulesBelow(traced, entry.node),
      status,
      passed: status === "ok",
    };
  });
  const checked = results.reduce((s, r) => s + r.comparisons + r.directionsChecked, 0);
  const skipped = results.reduce((s, r) => s + r.elementsSkipped + r.directionsSkipped, 0);
  const skippedNotFinite = tallies.reduce((s, t) => s + t.notFinite, 0);
  const passed = results.length > 0 && results.every((r) => r.passed);
  const report = {
    model: traced.name,
    tolerance,
    batch: batchSize,
    seed,
    points,
    elementsPerParam: perPoint,
    directions: directionCount,
    params: results.filter((r) => r.kind === "param"),
    inputs: results.filter((r) => r.kind === "input"),
    checked,
    skipped,
    skippedNotFinite,
    passed,
  };
  return { ...report, verdict: verdictOf(report, results) };
}

function formatTolerance(tolerance: number): string {
  return tolerance < 1e-3 ? tolerance.toExponential() : String(tolerance);
}

function verdictOf(report: Omit<GradientCheckReport, "verdict">, results: readonly EntryCheck[]): string {
  const model = `model ${report.model}`;
  const tolerance = formatTolerance(report.tolerance);
  if (results.length === 0) {
    return `${model}: nothing to check: it has no parameters and no inputs declared { grad: true }, so it has no gradient.`;
  }
  const failed = results.filter((r) => r.status === "failed");
  if (failed.length > 0) {
    const names = failed.map((r) => r.name).join(", ");
    const custom = [...new Set(failed.flatMap((r) => r.customRules))];
    if (custom.length > 0) {
      return (
        `${model}: the gradient of ${names} differs from central differences by more than ${tolerance}, and it flows through the customGradient rule${custom.length > 1 ? "s" : ""} ${custom.join(", ")}: ` +
        `the custom rule disagrees with the derivative of its function (check what it returns for each input).`
      );
    }
    return `${model}: gradients differ from central differences by more than ${tolerance}; a derivative rule is wrong for the entries marked FAILED (${names}). This is a bug in gradgen: please report it with the model.`;
  }
  const unchecked = results.filter((r) => r.status === "unchecked");
  if (unchecked.length > 0) {
    return `${model}: nothing could be checked for ${unchecked.map((r) => r.name).join(", ")}: at every point a kink lay within the step or the loss was not finite. Try other points with --seed, or more with --points.`;
  }
  const onKinks = report.skipped - report.skippedNotFinite;
  const skipNote =
    (onKinks > 0 ? `; ${onKinks} skipped where a kink lay within the step` : "") +
    (report.skippedNotFinite > 0 ? `; ${report.skippedNotFinite} skipped where the loss was not finite` : "");
  return `${model}: gradients agree with central differences (tolerance ${tolerance}): ${report.checked} comparisons${skipNote}.`;
}

/** Multi-index of a flat element, with the example first for inputs. */
function formatIndex(entry: EntryCheck, flat: number): string {
  const shape =
    entry.kind === "input"
      ? [
          entry.size /
            Math.max(
              1,
              entry.shape.reduce((a, b) => a * b, 1),
            ),
          ...entry.shape,
        ]
      : entry.shape;
  const index: number[] = [];
  for (let i = shape.length - 1; i >= 0; i--) {
    index.unshift(flat % shape[i]!);
    flat = Math.floor(flat / shape[i]!);
  }
  return `[${index.join(", ")}]`;
}

/** The report as a table for the terminal. */
export function formatReport(report: GradientCheckReport): string {
  const entries = [...report.params, ...report.inputs];
  const rows = entries.map((r) => [
    r.kind === "input" ? `${r.name} (input)` : r.name,
    `${r.elementsChecked} of ${r.size}`,
    String(r.elementsSkipped),
    r.comparisons > 0 ? r.worstElementError.toExponential(2) : "-",
    r.comparisons > 0 ? `${formatIndex(r, r.worstElementIndex)} point ${r.worstElementPoint}` : "-",
    `${r.directionsChecked} of ${r.directionsChecked + r.directionsSkipped}`,
    r.directionsChecked > 0 ? r.worstDirectionError.toExponential(2) : "-",
    r.status === "ok" ? "ok" : r.status === "failed" ? "FAILED" : "UNCHECKED",
  ]);
  const header = ["entry", "elements", "skipped", "worst error", "at", "directions", "worst error", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const perturbed = report.points - 1;
  const how =
    `checked at ${report.points} point${report.points === 1 ? "" : "s"} (the initial parameters${perturbed > 0 ? ` and ${perturbed} random perturbation${perturbed === 1 ? "" : "s"} of them` : ""}; seed ${report.seed}, batch ${report.batch}): ` +
    `up to ${report.elementsPerParam} elements and ${report.directions} random directions per entry at each point, fourth-order central differences in f64, step ε^(1/5)·max(1, |θ|); ` +
    `"skipped" counts element comparisons not made because a kink (relu, max, abs…) lay within the step or the loss was not finite there.`;
  const table = rows.length > 0 ? [line(header), ...rows.map(line)] : [];
  return [...table, ...(rows.length > 0 ? [how] : []), report.verdict].join("\n");
}
