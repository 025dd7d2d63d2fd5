// `gradgen compile …`: argument parsing, loading model files, writing outputs atomically.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { GradgenError } from "../errors.js";
import { compile, resolveOptions, type CompileOptions } from "../compile.js";
import { traceModel } from "../dsl/model.js";
import { loadModel } from "./load-model.js";

const usage = `usage: gradgen compile <model.ts>... [--out dir] [--batch N] [--dtype f32|f64] [--optimizer sgd] [--lr x] [--check]

  --out dir        where generated files go (default: generated/)
  --batch N        examples per call; calls may pass fewer (default: 1)
  --dtype f32|f64  storage and arithmetic precision (default: f32)
  --optimizer sgd  the update step() applies (default: sgd)
  --lr x           learning rate (default: 0.1)
  --check          write nothing; exit 1 if the files on disk differ from what would be generated`;

interface CompileArgs {
  files: string[];
  out: string;
  check: boolean;
  options: CompileOptions;
}

const valueFlags = ["--out", "--batch", "--dtype", "--optimizer", "--lr"];

function parseCompileArgs(args: readonly string[]): CompileArgs {
  const files: string[] = [];
  let out = "generated";
  let check = false;
  const options: { batch?: number; dtype?: "f32" | "f64"; optimizer?: "sgd"; learningRate?: number } = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--check") { check = true; continue; }
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (!flag.startsWith("-")) { files.push(arg); continue; }
    if (!valueFlags.includes(flag)) throw new GradgenError(`unknown option ${flag}.\n${usage}`);
    const value = inline ?? args[++i];
    if (value === undefined || value.startsWith("--")) throw new GradgenError(`option ${flag} needs a value.\n${usage}`);
    const number = (what: string) => {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) throw new GradgenError(`${flag} expects ${what}, got "${value}".`);
      return n;
    };
    switch (flag) {
      case "--out": out = value; break;
      case "--batch": options.batch = number("a positive integer"); break;
      case "--dtype": options.dtype = value as "f32" | "f64"; break;
      case "--optimizer": options.optimizer = value as "sgd"; break;
      case "--lr": options.learningRate = number("a positive number"); break;
    }
  }
  if (files.length === 0) throw new GradgenError(`no model file given.\n${usage}`);
  resolveOptions(options);
  return { files, out, check, options };
}

/** Write via a temporary file and rename, so a reader never sees half a file. */
function writeAtomically(file: string, contents: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, contents);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

async function compileCommand(args: readonly string[]): Promise<number> {
  const { files, out, check, options } = parseCompileArgs(args);
  // Compile everything first: a failure anywhere leaves every existing output untouched.
  const outputs: { file: string; contents: string }[] = [];
  for (const file of files) {
    const definition = await loadModel(file);
    const source = path.relative(process.cwd(), path.resolve(file)).split(path.sep).join("/");
    const result = compile(definition, { ...options, source });
    for (const generated of result.files) outputs.push({ file: path.join(out, generated.path), contents: generated.contents });
  }
  if (check) {
    const stale = outputs.filter(({ file, contents }) => !existsSync(file) || readFileSync(file, "utf8") !== contents);
    for (const { file } of stale) process.stderr.write(`gradgen: ${file} is out of date; run the compile command without --check to regenerate it.\n`);
    if (stale.length === 0) process.stdout.write(`gradgen: ${outputs.length} generated file(s) are current.\n`);
    return stale.length === 0 ? 0 : 1;
  }
  for (const { file, contents } of outputs) {
    writeAtomically(file, contents);
    process.stdout.write(`gradgen: wrote ${file}\n`);
  }
  return 0;
}

export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === "compile") return await compileCommand(rest);
    if (command === "--help" || command === "-h" || command === "help") {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    throw new GradgenError(command === undefined ? `no command given.\n${usage}` : `unknown command "${command}".\n${usage}`);
  } catch (error) {
    if (error instanceof GradgenError) {
      process.stderr.write(`gradgen: ${error.message}\n`);
      return 1;
    }
    const detail = process.env.GRADGEN_DEBUG ? `\n${(error as Error)?.stack}` : " (set GRADGEN_DEBUG=1 for the stack trace)";
    process.stderr.write(`gradgen: internal error: ${(error as Error)?.message ?? String(error)}. This is a bug in gradgen, not in your model; please report it with the model file${detail}\n`);
    return 2;
  }
}

export { traceModel };
