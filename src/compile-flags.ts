// The compile command's flags, spelled once: the CLI parses them (src/cli/main.ts) and every generated
// file's header prints the command line that regenerates it (compile.ts). A leaf module, so that the
// library need not import the CLI.

import type { OptimizerKind, OptimizerSpec } from "./optimizers.js";

/** CLI flag of each optimizer hyperparameter. */
export const hyperparameterFlags: Readonly<Record<string, string>> = {
  alpha: "momentum",
  rho: "rho",
  delta: "delta",
  beta1: "beta1",
  beta2: "beta2",
  epsilon: "eps",
  weightDecay: "weight-decay",
  damping: "damping",
  cgIterations: "cg-iterations",
};

/** `gradgen compile <model> <flags>` with the flags that reproduce these options (source already shell-quoted). */
export function regenerateCommand(
  source: string,
  options: {
    readonly optimizer?: OptimizerKind | OptimizerSpec;
    readonly learningRate?: number;
    readonly hyperparameters?: Readonly<Record<string, number>>;
  },
  resolved: { readonly batch: number; readonly dtype: "f32" | "f64" },
  targets: readonly string[],
): string {
  const flags = [`--batch ${resolved.batch}`, ...(resolved.dtype !== "f32" ? [`--dtype ${resolved.dtype}`] : [])];
  if (typeof options.optimizer === "string") flags.push(`--optimizer ${options.optimizer}`);
  if (options.learningRate !== undefined) flags.push(`--lr ${options.learningRate}`);
  for (const [name, value] of Object.entries(options.hyperparameters ?? {}))
    flags.push(`--${hyperparameterFlags[name] ?? name} ${value}`);
  if (targets.join(",") !== "ts") flags.push(`--target ${targets.join(",")}`);
  return `gradgen compile ${source} ${flags.join(" ")}`;
}
