// Optimizers chosen at compile time, with the textbook definitions (Goodfellow, Bengio & Courville,
// algorithms 8.1–8.7). Their update rules live in src/schedule/optimizer-updates.ts.

import { GradgenError } from "./errors.js";

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
  | (Common & { readonly kind: "adam"; readonly beta1: number; readonly beta2: number; readonly epsilon: number });

export type OptimizerKind = OptimizerSpec["kind"];

/** Every optimizer's hyperparameters with their defaults. */
export const optimizerDefaults: { readonly [K in OptimizerKind]: Omit<Extract<OptimizerSpec, { kind: K }>, "kind"> } = {
  sgd: { learningRate: 0.1, weightDecay: 0 },
  momentum: { learningRate: 0.01, alpha: 0.9, weightDecay: 0 },
  nesterov: { learningRate: 0.01, alpha: 0.9, weightDecay: 0 },
  adagrad: { learningRate: 0.01, delta: 1e-7, weightDecay: 0 },
  rmsprop: { learningRate: 0.001, rho: 0.9, delta: 1e-6, weightDecay: 0 },
  adam: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
};

export const optimizerKinds = Object.keys(optimizerDefaults) as OptimizerKind[];

type Options<K extends OptimizerKind> = Partial<Omit<Extract<OptimizerSpec, { kind: K }>, "kind">>;

/** The full spec of `kind` with `given` hyperparameters over the defaults, checked. */
export function optimizer<K extends OptimizerKind>(kind: K, given: Options<K> = {}): Extract<OptimizerSpec, { kind: K }> {
  if (!optimizerKinds.includes(kind)) {
    throw new GradgenError(`unknown optimizer ${JSON.stringify(kind)}; available: ${optimizerKinds.join(", ")}.`);
  }
  const defaults = optimizerDefaults[kind] as Record<string, number>;
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!(name in defaults)) {
      throw new GradgenError(`optimizer ${kind} has no hyperparameter "${name}"; it takes ${Object.keys(defaults).join(", ")}.`);
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new GradgenError(`optimizer ${kind}: ${name} must be a finite number ≥ 0, got ${String(value)}.`);
    }
  }
  const spec = { kind, ...defaults, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as Extract<OptimizerSpec, { kind: K }>;
  if (!(spec.learningRate > 0)) throw new GradgenError(`optimizer ${kind}: learningRate must be positive, got ${spec.learningRate}.`);
  for (const [name, value] of Object.entries(spec)) {
    if (["alpha", "rho", "beta1", "beta2"].includes(name) && (value as number) >= 1) {
      throw new GradgenError(`optimizer ${kind}: ${name} must be below 1, got ${String(value)}.`);
    }
  }
  return spec;
}

/** θ ← θ − εg */
export const sgd = (options: Options<"sgd"> = {}) => optimizer("sgd", options);
/** v ← αv − εg; θ ← θ + v */
export const momentum = (options: Options<"momentum"> = {}) => optimizer("momentum", options);
/** Momentum with the gradient taken at the look-ahead point θ + αv */
export const nesterov = (options: Options<"nesterov"> = {}) => optimizer("nesterov", options);
/** r ← r + g²; θ ← θ − ε/(δ + √r)·g */
export const adagrad = (options: Options<"adagrad"> = {}) => optimizer("adagrad", options);
/** r ← ρr + (1−ρ)g²; θ ← θ − ε/√(δ + r)·g */
export const rmsprop = (options: Options<"rmsprop"> = {}) => optimizer("rmsprop", options);
/** Adam with bias correction */
export const adam = (options: Options<"adam"> = {}) => optimizer("adam", options);
