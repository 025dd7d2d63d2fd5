// `gradgen check <model.ts>... [--tol x] [--batch N] [--seed N] [--points N]`: analytic gradients against central differences.

import { GradgenError } from "../errors.js";
import { checkGradients, formatReport } from "../check/gradient-check.js";
import { loadModel } from "./load-model.js";
import { asUserErrorsAsync } from "./user-errors.js";

export const checkUsage = `usage: gradgen check <model.ts>... [--tol x] [--batch N] [--seed N] [--points N]

  Compiles an f64 variant of each model and compares its gradient (every parameter, and every input
  declared { grad: true }) with fourth-order central differences of the loss, element by element and
  along random directions, at the initial parameters and at random perturbations of them. Coordinates
  where a kink (relu, max, abs…) lies within the step are skipped and counted; differences within the
  loss's round-off are accepted. Exits 1 when an error exceeds the tolerance or nothing could be checked.
  --tol x       largest relative error accepted (default: 1e-6)
  --batch N     examples the loss averages over (default: 2)
  --seed N      seed of parameters, inputs, perturbations and directions (default: 0)
  --points N    points checked: the initial one and N − 1 random perturbations (default: 3)`;

export async function checkCommand(args: readonly string[]): Promise<number> {
  const files: string[] = [];
  const options: { tolerance?: number; batch?: number; seed?: number; points?: number } = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${checkUsage}\n`);
      return 0;
    }
    if (!arg.startsWith("-")) {
      files.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = inline ?? args[++i];
    const number = Number(value);
    const valid = value !== undefined && value.trim() !== "" && Number.isFinite(number);
    if (flag === "--tol" && valid && number > 0) options.tolerance = number;
    else if (flag === "--batch" && valid && Number.isInteger(number) && number > 0) options.batch = number;
    else if (flag === "--seed" && valid && Number.isInteger(number) && number >= 0) options.seed = number;
    else if (flag === "--points" && valid && Number.isInteger(number) && number > 0) options.points = number;
    else if (["--tol", "--batch", "--seed", "--points"].includes(flag)) {
      const expected =
        flag === "--tol" ? "a positive number" : flag === "--seed" ? "an integer ≥ 0" : "a positive integer";
      throw new GradgenError(
        `${flag} expects ${expected}, got ${JSON.stringify(value ?? "")}; e.g. ${flag} ${flag === "--tol" ? "1e-6" : flag === "--points" ? "3" : "2"}.`,
      );
    } else
      throw new GradgenError(
        `unknown option ${flag}; the options of check are --tol, --batch, --seed and --points (run \`gradgen check --help\`).`,
      );
  }
  if (files.length === 0)
    throw new GradgenError(`no model file given; e.g. gradgen check model.ts (run \`gradgen check --help\`).`);
  let passed = true;
  for (const file of files) {
    const definition = await loadModel(file);
    const report = await asUserErrorsAsync(definition, file, () => checkGradients(definition, options));
    process.stdout.write(`${file}\n${formatReport(report)}\n\n`);
    passed &&= report.passed;
  }
  return passed ? 0 : 1;
}
