// `gradgen compile …`: argument parsing, loading model files, writing outputs atomically.

import { lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { GradgenError } from "../errors.js";
import { compile, resolveOptions, targets, type CompileOptions, type Target } from "../compile.js";
import { hyperparameterFlags } from "../compile-flags.js";
import {
  hyperparameterRanges,
  optimizerKinds,
  takesHyperparameter,
  type HyperparameterName,
  type OptimizerKind,
} from "../optimizers.js";
import { traceModel, type ModelDefinition } from "../dsl/model.js";
import { loadModelWithSources } from "./load-model.js";
import { asUserErrors } from "./user-errors.js";
import { validateWgsl } from "../emit/wgsl-validate.js";
import { examplesPerCall } from "../emit/module-spec.js";
import { checkCommand, checkUsage } from "./check-command.js";
import { splitFlag } from "./flags.js";

const usage = `usage: gradgen compile <model.ts>... [--out dir] [--batch N] [--dtype f32|f64] [--optimizer name] [--lr x] [hyperparameters] [--target ts,js,wgsl] [--check]

  --out dir          where generated files go (default: generated/; "." for the current directory, never "")
  --batch N          examples per call; calls may pass fewer (default: 1)
  --dtype f32|f64    storage and arithmetic precision (default: f32)
  --optimizer name   ${optimizerKinds.join(" | ")} (default: the model's choice, else sgd)
  --lr x             learning rate ε
  --momentum α       momentum, nesterov (default 0.9)
  --rho ρ            rmsprop decay (default 0.9)
  --delta δ          adagrad, rmsprop stabiliser (defaults 1e-7, 1e-6)
  --beta1 β₁ --beta2 β₂ --eps ϵ   adam (defaults 0.9, 0.999, 1e-8)
  --weight-decay λ   decoupled weight decay, any optimizer (default 0)
  --damping λ        newton, levenberg-marquardt, hessian-free: initial damping of (H + λI)Δ = −g
                     (defaults 1e-3, 1e-3, 1e-2)
  --cg-iterations k  hessian-free: conjugate-gradient iterations per step (default 20)
  --target list      what to emit, comma-separated (default: ts): ts (<name>.ts, a TypeScript module),
                     js (<name>.mjs, an ES module for plain JavaScript, its types in <name>.d.mts),
                     wgsl (<name>.wgsl.ts: WebGPU compute shaders and their TypeScript host)
  --check            write nothing; exit 1 if the files on disk differ from what would be generated

Flags win over the optimizer given in the model file.`;

interface CompileArgs {
  files: string[];
  out: string;
  check: boolean;
  options: CompileOptions;
}

/** Optimizer hyperparameters by flag. */
const hyperparameterByFlag = Object.fromEntries(
  Object.entries(hyperparameterFlags).map(([name, flag]) => [`--${flag}`, name]),
);
const valueFlags = [
  "--out",
  "--batch",
  "--dtype",
  "--optimizer",
  "--lr",
  "--target",
  ...Object.keys(hyperparameterByFlag),
];
const seeHelp = "run `gradgen --help` for the usage";

function parseCompileArgs(args: readonly string[]): CompileArgs {
  const files: string[] = [];
  let out = "generated";
  let check = false;
  const options: {
    batch?: number;
    dtype?: "f32" | "f64";
    optimizer?: OptimizerKind;
    learningRate?: number;
    hyperparameters: Record<string, number>;
    targets?: Target[];
  } = { hyperparameters: {} };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--check") {
      check = true;
      continue;
    }
    const [flag, inline] = splitFlag(arg);
    if (!flag.startsWith("-")) {
      files.push(arg);
      continue;
    }
    if (!valueFlags.includes(flag)) {
      throw new GradgenError(
        `unknown option ${flag}; the options of compile are ${valueFlags.join(", ")} and --check (${seeHelp}).`,
      );
    }
    const value = inline ?? args[++i];
    if (value === undefined || value.startsWith("--"))
      throw new GradgenError(`option ${flag} needs a value, e.g. ${flag} ${example[flag]} (${seeHelp}).`);
    const bad = (what: string): never => {
      throw new GradgenError(
        `${flag} expects ${what}, got ${JSON.stringify(value)}; pass e.g. ${flag} ${example[flag]}.`,
      );
    };
    switch (flag) {
      case "--out":
        // An empty --out is most often an unset shell variable ($OUT): refuse it rather than guess.
        if (value.trim() === "")
          throw new GradgenError(
            `--out expects a directory, got ${JSON.stringify(value)} (an unset shell variable?); pass e.g. --out generated, or --out . for the current directory.`,
          );
        out = value;
        break;
      case "--batch": {
        const n = Number(value);
        if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1)
          bad("a positive integer (examples per call)");
        options.batch = n;
        break;
      }
      case "--target": {
        const wanted = value.split(",").map((t) => t.trim());
        if (wanted.some((t) => !targets.includes(t as Target)) || new Set(wanted).size !== wanted.length)
          bad(`a comma-separated list of ${targets.join(", ")}`);
        options.targets = wanted as Target[];
        break;
      }
      case "--dtype":
        if (value !== "f32" && value !== "f64") bad("f32 or f64");
        options.dtype = value as "f32" | "f64";
        break;
      case "--optimizer":
        if (value.toLowerCase() === "adamw") {
          // gradgen's weight decay is decoupled from the gradient, as in AdamW (Loshchilov & Hutter)
          throw new GradgenError(
            `--optimizer ${value}: use --optimizer adam --weight-decay λ (e.g. --weight-decay 1e-2); gradgen's weight decay is decoupled from the gradient, as AdamW's is.`,
          );
        }
        if (!optimizerKinds.includes(value as OptimizerKind)) bad(`one of ${optimizerKinds.join(", ")}`);
        options.optimizer = value as OptimizerKind;
        break;
      default: {
        const name = (flag === "--lr" ? "learningRate" : hyperparameterByFlag[flag]!) as HyperparameterName;
        const n = Number(value);
        const { range, valid, why } = hyperparameterRanges[name];
        if (value.trim() === "" || !valid(n)) bad(`${range}${why ? ` (${why})` : ""}`);
        if (flag === "--lr") options.learningRate = n;
        else options.hyperparameters[name] = n;
      }
    }
  }
  if (files.length === 0)
    throw new GradgenError(`no model file given; pass one or more, e.g. gradgen compile model.ts (${seeHelp}).`);
  if (options.optimizer)
    refuseFlagsTheOptimizerLacks(options.optimizer, options, `--optimizer ${options.optimizer} was given`);
  resolveOptions(options.optimizer ? options : { ...options, hyperparameters: {} }); // hyperparameters are checked against the model's optimizer later
  return { files, out, check, options };
}

const example: Record<string, string> = {
  "--out": "generated",
  "--target": "ts,wgsl",
  "--batch": "32",
  "--dtype": "f64",
  "--optimizer": "adam",
  "--lr": "0.1",
  "--momentum": "0.9",
  "--rho": "0.9",
  "--delta": "1e-7",
  "--beta1": "0.9",
  "--beta2": "0.999",
  "--eps": "1e-8",
  "--weight-decay": "1e-4",
  "--damping": "1e-3",
  "--cg-iterations": "20",
};

function cannotWrite(target: string, error: unknown): GradgenError {
  const reason = (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error);
  return new GradgenError(
    `cannot write ${target} (${reason}). Check that --out names a directory (or a path where one can be created) that you can write to.`,
  );
}

/**
 * Write every file, or none: each goes to a temporary file beside its target first, and only when
 * all of them are on disk are they renamed over their targets (so a reader never sees half a file,
 * and a failure leaves every existing output as it was).
 */
function writeAllAtomically(outputs: readonly { file: string; contents: string }[]): void {
  const staged: { file: string; temporary: string }[] = [];
  try {
    for (const { file, contents } of outputs) {
      try {
        const existing = lstatSync(file, { throwIfNoEntry: false });
        if (existing?.isDirectory()) throw Object.assign(new Error("a directory is in the way"), { code: "EISDIR" });
        const temporary = `${file}.${process.pid}.tmp`;
        staged.push({ file, temporary });
        writeFileSync(temporary, contents);
      } catch (error) {
        throw cannotWrite(file, error);
      }
    }
    for (const { file, temporary } of staged) {
      try {
        renameSync(temporary, file);
      } catch (error) {
        throw cannotWrite(file, error);
      }
    }
  } finally {
    for (const { temporary } of staged) {
      try {
        rmSync(temporary, { force: true });
      } catch {
        /* renamed, or never created */
      }
    }
  }
}

/** The same file on disk: equal real paths, or (for hard links and case-insensitive file systems) equal device and inode. */
function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  const real = (file: string) => {
    try {
      return realpathSync(file);
    } catch {
      return undefined;
    }
  };
  const realA = real(a);
  if (realA !== undefined && realA === real(b)) return true;
  const stat = (file: string) => {
    try {
      return statSync(file);
    } catch {
      return undefined;
    }
  }; // missing, or a file where a directory should be
  const statA = stat(a);
  const statB = stat(b);
  return statA !== undefined && statB !== undefined && statA.dev === statB.dev && statA.ino === statB.ino;
}

/** Refuse, before anything is written, an output that would replace a model file or a file a model imports. */
function refuseOverwritingSources(
  outputs: readonly { file: string; source: string }[],
  sources: readonly { model: string; file: string }[],
): void {
  for (const output of outputs) {
    const victim = sources.find(({ file }) => sameFile(output.file, file));
    if (!victim) continue;
    const what =
      path.resolve(victim.file) === path.resolve(victim.model)
        ? `the model file ${victim.model} itself`
        : `${path.relative(process.cwd(), victim.file)}, which the model file ${victim.model} imports`;
    throw new GradgenError(
      `the output ${output.file} (generated from ${output.source}) would overwrite ${what}; nothing was written. Choose another --out directory (the default is generated/) or rename the model (the first argument of model(...)).`,
    );
  }
}

/** Trace and compile one model; an exception thrown by the model's own code is the user's, not ours. */
function compileModel(
  definition: ModelDefinition,
  file: string,
  options: CompileOptions & { source: string },
): ReturnType<typeof compile> {
  if (options.optimizer === undefined) {
    const kind = definition.options.optimizer?.kind ?? "sgd";
    refuseFlagsTheOptimizerLacks(
      kind,
      options,
      `${file} trains with ${kind}${definition.options.optimizer ? "" : " (the default without --optimizer)"}`,
    );
  }
  return asUserErrors(definition, file, () => compile(definition, options));
}

/** A hyperparameter flag the optimizer does not take: name the flag the user typed and the optimizers that take it. */
function refuseFlagsTheOptimizerLacks(
  given: OptimizerKind | { readonly kind: OptimizerKind },
  options: CompileOptions,
  why: string,
): void {
  const kind = typeof given === "string" ? given : given.kind;
  for (const name of Object.keys(options.hyperparameters ?? {})) {
    if (takesHyperparameter(kind, name)) continue;
    const flag = `--${hyperparameterFlags[name] ?? name}`;
    const takers = optimizerKinds.filter((k) => takesHyperparameter(k, name));
    throw new GradgenError(
      `${flag} is a hyperparameter of ${takers.join(" and ")}, but ${why}, which does not take it; add ${takers.map((k) => `--optimizer ${k}`).join(" or ")}, or drop ${flag}.`,
    );
  }
}

/** Every generated WGSL shader goes through Dawn's compiler before anything is written, when it is installed. */
async function validateShaders(outputs: readonly { file: string; shaders?: readonly string[] }[]): Promise<void> {
  for (const { file, shaders } of outputs) {
    if (!shaders) continue;
    const problems = await validateWgsl(shaders);
    if (problems === undefined) {
      process.stderr.write(
        `gradgen: note: ${file}'s shaders were not validated (install the npm package webgpu to validate WGSL at compile time).\n`,
      );
    } else if (problems.length > 0) {
      const [first] = problems;
      throw new Error(
        `generated WGSL for ${file} does not compile: shader ${first!.shader}, ${first!.line}:${first!.column}: ${first!.message} (${problems.length} error(s) in all)`,
      );
    }
  }
}

async function compileCommand(args: readonly string[]): Promise<number> {
  const { files, out, check, options } = parseCompileArgs(args);
  // Compile everything first: a failure anywhere leaves every existing output untouched.
  const outputs: {
    file: string;
    contents: string;
    source: string;
    shaders?: readonly string[];
    noInputs?: boolean;
  }[] = [];
  const sources: { model: string; file: string }[] = [];
  for (const file of files) {
    const loaded = await loadModelWithSources(file);
    const definition = loaded.definition;
    sources.push({ model: file, file }, ...loaded.sources.map((source) => ({ model: file, file: source })));
    const source = path.relative(process.cwd(), path.resolve(file)).split(path.sep).join("/");
    const result = compileModel(definition, file, { ...options, source, outputFolder: out });
    for (const generated of result.files) {
      const target = path.join(out, generated.path);
      const clash = outputs.find((o) => path.resolve(o.file) === path.resolve(target));
      if (clash && clash.source !== source) {
        throw new GradgenError(
          `${clash.source} and ${source} both define a model named "${definition.name}", so both would write ${target}. Rename one of the models (the first argument of model(...)).`,
        );
      }
      if (!clash)
        outputs.push({
          file: target,
          contents: generated.contents,
          source,
          ...(generated.shaders ? { shaders: generated.shaders } : {}),
          noInputs: traceModel(definition).inputs.length === 0,
        });
    }
  }
  refuseOverwritingSources(outputs, sources);
  await validateShaders(outputs);
  if (check) {
    const current = (file: string): string | undefined => {
      try {
        return readFileSync(file, "utf8");
      } catch {
        return undefined;
      } // missing, or not a readable file
    };
    const stale = outputs.filter(({ file, contents }) => current(file) !== contents);
    for (const { file } of stale)
      process.stderr.write(
        `gradgen: ${file} is out of date; run the compile command without --check to regenerate it.\n`,
      );
    if (stale.length === 0) process.stdout.write(`gradgen: ${outputs.length} generated file(s) are current.\n`);
    return stale.length === 0 ? 0 : 1;
  }
  // Create every output directory before writing any file, so a bad --out fails before the first write.
  for (const directory of new Set(outputs.map(({ file }) => path.dirname(file)))) {
    try {
      mkdirSync(directory, { recursive: true });
    } catch (error) {
      throw cannotWrite(directory, error);
    }
  }
  writeAllAtomically(outputs);
  for (const { file, noInputs } of outputs)
    process.stdout.write(
      noInputs
        ? `gradgen: wrote ${file} (no inputs: its calls take no batch)\n`
        : `gradgen: wrote ${file} (batch ${options.batch ?? 1}: ${examplesPerCall(options.batch ?? 1)})\n`,
    );
  return 0;
}

export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  // Deep enough that a model's own frame survives a few layers of gradgen below it.
  Error.stackTraceLimit = Math.max(Error.stackTraceLimit, 50);
  try {
    if (command === "compile" && (rest.includes("--help") || rest.includes("-h"))) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    if (command === "compile") return await compileCommand(rest);
    if (command === "inspect") return await (await import("./inspect-command.js")).inspectCommand(rest);
    if (command === "check") return await checkCommand(rest);
    if (command === "--help" || command === "-h" || command === "help") {
      // Imported only when needed, as for the inspect command itself.
      const { inspectUsage } = await import("./inspect-command.js");
      process.stdout.write(`${usage}\n\n${checkUsage}\n\n${inspectUsage}\n`);
      return 0;
    }
    const commands = "the commands are compile, check and inspect, e.g. gradgen compile model.ts";
    throw new GradgenError(
      command === undefined
        ? `no command given; ${commands} (${seeHelp}).`
        : `unknown command "${command}"; ${commands} (${seeHelp}).`,
    );
  } catch (error) {
    if (error instanceof GradgenError) {
      process.stderr.write(`gradgen: ${error.message}\n`);
      return 1;
    }
    const detail = process.env.GRADGEN_DEBUG
      ? `\n${(error as Error)?.stack}`
      : " (set GRADGEN_DEBUG=1 for the stack trace)";
    process.stderr.write(
      `gradgen: internal error: ${(error as Error)?.message ?? String(error)}. This is a bug in gradgen, not in your model; please report it with the model file${detail}\n`,
    );
    return 2;
  }
}

export { traceModel };
