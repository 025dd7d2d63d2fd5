// Optimizers chosen at compile time, with the textbook definitions (Goodfellow, Bengio & Courville,
// algorithms 8.1–8.7). Their update rules live in src/schedule/optimizer-updates.ts.

import { GradgenError } from "./errors.js";
import { callerLocation } from "./dsl/callsite.js";

interface Common {
  readonly learningRate: number;
  /** Decoupled weight decay λ: θ ← θ − ε·λ·θ besides the gradient step (Loshchilov & Hutter). */
  readonly weightDecay: number;
}

export type OptimizerSpec =
  | (Common & { readonly kind: "sgd" })
  | (Common & { readonly kind: "momentum"; readonly alpha: number })
  | (Common & { readonly kind: "nesterov"; readonly alpha: number })
  | (Common & { readonly kind: "adagrad"; readonly delta: number })
  | (Common & { readonly kind: "rmsprop"; readonly rho: number; readonly delta: number })
  | (Common & { readonly kind: "adam"; readonly beta1: number; readonly beta2: number; readonly epsilon: number })
  | (Common & { readonly kind: "newton"; readonly damping: number })
  | (Common & { readonly kind: "levenberg-marquardt"; readonly damping: number })
  | (Common & { readonly kind: "hessian-free"; readonly damping: number; readonly cgIterations: number });

/** Second-order optimizers (src/schedule/second-order.ts): the step solves (H + λI)Δ = −g. */
const secondOrderKinds = ["newton", "levenberg-marquardt", "hessian-free"] as const;
export const isSecondOrder = (kind: OptimizerKind): kind is (typeof secondOrderKinds)[number] =>
  (secondOrderKinds as readonly string[]).includes(kind);

export type OptimizerKind = OptimizerSpec["kind"];

/** Every optimizer's hyperparameters with their defaults. */
const optimizerDefaults: { readonly [K in OptimizerKind]: Omit<Extract<OptimizerSpec, { kind: K }>, "kind"> } = {
  sgd: { learningRate: 0.1, weightDecay: 0 },
  momentum: { learningRate: 0.01, alpha: 0.9, weightDecay: 0 },
  nesterov: { learningRate: 0.01, alpha: 0.9, weightDecay: 0 },
  adagrad: { learningRate: 0.01, delta: 1e-7, weightDecay: 0 },
  rmsprop: { learningRate: 0.001, rho: 0.9, delta: 1e-6, weightDecay: 0 },
  adam: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
  // learningRate scales the solved step (1: the full Newton step); damping is the initial λ
  newton: { learningRate: 1, damping: 1e-3, weightDecay: 0 },
  "levenberg-marquardt": { learningRate: 1, damping: 1e-3, weightDecay: 0 },
  "hessian-free": { learningRate: 1, damping: 1e-2, cgIterations: 20, weightDecay: 0 },
};

export const optimizerKinds = Object.keys(optimizerDefaults) as OptimizerKind[];

/** Does optimizer `kind` take hyperparameter `name`? */
export function takesHyperparameter(kind: OptimizerKind, name: string): boolean {
  return Object.hasOwn(optimizerDefaults[kind], name);
}

type Options<K extends OptimizerKind> = Partial<Omit<Extract<OptimizerSpec, { kind: K }>, "kind">>;

export type HyperparameterName =
  | "learningRate"
  | "weightDecay"
  | "alpha"
  | "rho"
  | "delta"
  | "beta1"
  | "beta2"
  | "epsilon"
  | "damping"
  | "cgIterations";

export interface HyperparameterRange {
  /** What a valid value is, e.g. "a positive finite number". */
  readonly range: string;
  readonly valid: (value: number) => boolean;
  /** A typical valid value, for messages. */
  readonly example: number;
  /** Why the bound matters, where it is not obvious. */
  readonly why?: string;
}

const positive = (value: number) => Number.isFinite(value) && value > 0;
const unitInterval = (value: number) => Number.isFinite(value) && value >= 0 && value < 1;

/** The valid values of every hyperparameter, shared by optimizer() and the CLI's flags. */
export const hyperparameterRanges: Readonly<Record<HyperparameterName, HyperparameterRange>> = {
  learningRate: { range: "a positive finite number", valid: positive, example: 0.01 },
  weightDecay: { range: "a finite number ≥ 0", valid: (value) => Number.isFinite(value) && value >= 0, example: 1e-4 },
  alpha: {
    range: "a number in [0, 1)",
    valid: unitInterval,
    example: 0.9,
    why: "at 1 or above the velocity never decays",
  },
  rho: {
    range: "a number in [0, 1)",
    valid: unitInterval,
    example: 0.9,
    why: "at 1 the squared-gradient average never learns",
  },
  beta1: {
    range: "a number in [0, 1)",
    valid: unitInterval,
    example: 0.9,
    why: "the bias correction divides by 1 − β₁ᵗ",
  },
  beta2: {
    range: "a number in [0, 1)",
    valid: unitInterval,
    example: 0.999,
    why: "the bias correction divides by 1 − β₂ᵗ",
  },
  delta: {
    range: "a positive finite number",
    valid: positive,
    example: 1e-7,
    why: "the update divides by it where the gradient is 0, so δ = 0 makes 0/0 = NaN",
  },
  damping: {
    range: "a finite number ≥ 0",
    valid: (value) => Number.isFinite(value) && value >= 0,
    example: 1e-3,
    why: "λ in (H + λI)Δ = −g; the step raises it where H + λI is not positive definite",
  },
  cgIterations: {
    range: "an integer from 1 to 10000",
    valid: (value) => Number.isInteger(value) && value >= 1 && value <= 10000,
    example: 20,
  },
  epsilon: {
    range: "a positive finite number",
    valid: positive,
    example: 1e-8,
    why: "the update divides by √r̂ + ϵ, so ϵ = 0 makes a zero gradient 0/0 = NaN",
  },
};

/** Why `value` is not a valid `name`, or undefined when it is. */
function hyperparameterProblem(name: HyperparameterName, value: unknown): string | undefined {
  const rule = hyperparameterRanges[name];
  if (typeof value === "number" && rule.valid(value)) return undefined;
  const shown = typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
  return `${name} must be ${rule.range}, got ${shown}${rule.why ? ` (${rule.why})` : ""}`;
}

/** The full spec of `kind` with `given` hyperparameters over the defaults, checked. */
export function optimizer<K extends OptimizerKind>(
  kind: K,
  given: Options<K> = {},
): Extract<OptimizerSpec, { kind: K }> {
  if (typeof kind !== "string" || !Object.hasOwn(optimizerDefaults, kind)) {
    throw new GradgenError(`unknown optimizer ${JSON.stringify(kind)}; available: ${optimizerKinds.join(", ")}.`);
  }
  if (typeof given !== "object" || given === null) {
    throw new GradgenError(
      `optimizer ${kind}: the options must be an object of hyperparameters, e.g. ${kind}({ learningRate: 0.01 }), got ${String(given)}.`,
    );
  }
  const defaults = optimizerDefaults[kind] as Record<string, number>;
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(defaults, name)) {
      throw new GradgenError(
        `optimizer ${kind} has no hyperparameter "${name}"; it takes ${Object.keys(defaults).join(", ")}.`,
      );
    }
    const problem = hyperparameterProblem(name as HyperparameterName, value);
    if (problem) {
      const example = hyperparameterRanges[name as HyperparameterName].example;
      throw new GradgenError(`optimizer ${kind}: ${problem}; pass e.g. ${kind}({ ${name}: ${example} }).`);
    }
  }
  return {
    kind,
    ...defaults,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
  } as Extract<OptimizerSpec, { kind: K }>;
}

/** optimizer(kind, options), with any error placed at the caller's line (the model file's). */
function atCaller<K extends OptimizerKind>(kind: K, options: Options<K>): Extract<OptimizerSpec, { kind: K }> {
  try {
    return optimizer(kind, options);
  } catch (error) {
    if (error instanceof GradgenError && !error.location) throw new GradgenError(error.message, callerLocation());
    throw error;
  }
}

/** θ ← θ − εg */
export const sgd = (options: Options<"sgd"> = {}) => atCaller("sgd", options);
/** v ← αv − εg; θ ← θ + v */
export const momentum = (options: Options<"momentum"> = {}) => atCaller("momentum", options);
/** Momentum with the gradient taken at the look-ahead point θ + αv */
export const nesterov = (options: Options<"nesterov"> = {}) => atCaller("nesterov", options);
/** r ← r + g²; θ ← θ − ε/(δ + √r)·g */
export const adagrad = (options: Options<"adagrad"> = {}) => atCaller("adagrad", options);
/** r ← ρr + (1−ρ)g²; θ ← θ − ε/√(δ + r)·g */
export const rmsprop = (options: Options<"rmsprop"> = {}) => atCaller("rmsprop", options);
/** Adam with bias correction */
export const adam = (options: Options<"adam"> = {}) => atCaller("adam", options);
/** Damped Newton: solve (H + λI)Δ = −g by Cholesky with the symbolic Hessian; θ ← θ + εΔ; λ adapts */
export const newton = (options: Options<"newton"> = {}) => atCaller("newton", options);
/** Levenberg–Marquardt for a loss nn.leastSquares(r): newton's damped solve with JᵀJ (Gauss–Newton) for H */
export const levenbergMarquardt = (options: Options<"levenberg-marquardt"> = {}) =>
  atCaller("levenberg-marquardt", options);
/** Hessian-free: truncated conjugate gradients on (H + λI)Δ = −g with generated Hessian-vector products */
export const hessianFree = (options: Options<"hessian-free"> = {}) => atCaller("hessian-free", options);
