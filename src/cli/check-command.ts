// `gradgen check <model.ts>... [--tol x] [--batch N] [--seed N]`: analytic gradients against central differences.

import { GradgenError } from "../errors.js";
import { checkGradients, formatReport } from "../check/gradient-check.js";
import { loadModel } from "./load-model.js";
import { asUserErrorsAsync } from "./user-errors.js";

export const checkUsage = `usage: gradgen check <model.ts>... [--tol x] [--batch N] [--seed N]

  Compiles an f64 variant of each model and compares its gradient with central differences of the
  loss, element by element and along random directions. Exits 1 when an error exceeds the tolerance.
  --tol x     largest relative error accepted (default: 1e-6)
  --batch N   examples the loss averages over (default: 2)
  --seed N    seed of parameters, inputs and directions (default: 0)`;

export async function checkCommand(args: readonly string[]): Promise<number> {
  const files: string[] = [];
  const options: { tolerance?: number; batch?: number; seed?: number } = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${checkUsage}\n`);
      return 0;
    }
    if (!arg.startsWith("-")) { files.push(arg); continue; }
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = inline ?? args[++i];
    const number = Number(value);
    const valid = value !== undefined && value.trim() !== "" && Number.isFinite(number);
    if (flag === "--tol" && valid && number > 0) options.tolerance = number;
    else if (flag === "--batch" && valid && Number.isInteger(number) && number > 0) options.batch = number;
    else if (flag === "--seed" && valid && Number.isInteger(number) && number >= 0) options.seed = number;
    else if (["--tol", "--batch", "--seed"].includes(flag)) throw new GradgenError(`${flag} expects a positive number, got ${JSON.stringify(value ?? "")}; e.g. ${flag} ${flag === "--tol" ? "1e-6" : "2"}.`);
    else throw new GradgenError(`unknown option ${flag}; the options of check are --tol, --batch and --seed (run \`gradgen check --help\`).`);
  }
  if (files.length === 0) throw new GradgenError(`no model file given; e.g. gradgen check model.ts (run \`gradgen check --help\`).`);
  let passed = true;
  for (const file of files) {
    const definition = await loadModel(file);
    const report = await asUserErrorsAsync(definition, file, () => checkGradients(definition, options));
    process.stdout.write(`${file}\n${formatReport(report)}\n\n`);
    passed &&= report.passed;
  }
  return passed ? 0 : 1;
}
