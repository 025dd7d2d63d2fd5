// `gradgen inspect <model.ts> [--wrt W1] [--format text|tex|svg|dot]`: the forward and backward
// equations of a model as the lectures write them, and what the backward pass keeps.

import { GradgenError } from "../errors.js";
import { traceModel } from "../dsl/model.js";
import { inspectModel } from "../inspect/model.js";
import { inspectHessian } from "../inspect/hessian.js";
import { loadModel } from "./load-model.js";
import { asUserErrors } from "./user-errors.js";
import { splitFlag } from "./flags.js";

export const inspectUsage = `usage: gradgen inspect <model.ts> [--wrt name]... [--format text|tex|svg|dot] [--hessian]

  --wrt name     only the backward equations for this parameter (or input); repeat or comma-separate
  --format f     text (default): forward and backward equations and the saved-residuals report
                 tex: the equations as one LaTeX aligned block
                 svg: the computational graph drawn (standalone SVG); dot: the graph for Graphviz
  --hessian      the Hessian of C over the parameters (--wrt: these) instead, text or tex: its entries
                 ∂²C/∂θi∂θj for at most 8 scalar parameters, else the Hessian-vector product (H·v)_p`;

const formats = ["text", "tex", "svg", "dot"] as const;
type Format = (typeof formats)[number];

export async function inspectCommand(args: readonly string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`${inspectUsage}\n`);
    return 0;
  }
  const files: string[] = [];
  const wrt: string[] = [];
  let format: Format = "text";
  let hessian = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--hessian") {
      hessian = true;
      continue;
    }
    const [flag, inline] = splitFlag(arg);
    if (!flag.startsWith("-")) {
      files.push(arg);
      continue;
    }
    if (flag !== "--wrt" && flag !== "--format")
      throw new GradgenError(
        `unknown option ${flag}; the options of inspect are --wrt, --format and --hessian (run \`gradgen inspect --help\`).`,
      );
    const value = inline ?? args[++i];
    if (value === undefined || value.startsWith("--"))
      throw new GradgenError(`option ${flag} needs a value, e.g. ${flag === "--wrt" ? "--wrt W1" : "--format tex"}.`);
    if (flag === "--wrt")
      wrt.push(
        ...value
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      );
    else {
      if (!(formats as readonly string[]).includes(value))
        throw new GradgenError(`--format expects one of ${formats.join(", ")}, got ${JSON.stringify(value)}.`);
      format = value as Format;
    }
  }
  if (files.length !== 1)
    throw new GradgenError(`inspect takes one model file, e.g. gradgen inspect examples/xor.ts (got ${files.length}).`);
  const definition = await loadModel(files[0]!);
  if (hessian) {
    if (format !== "text" && format !== "tex")
      throw new GradgenError(`--hessian prints equations: use --format text or --format tex (got ${format}).`);
    const view = asUserErrors(definition, files[0]!, () => inspectHessian(traceModel(definition), wrt));
    process.stdout.write(`${format === "text" ? view.toText() : view.toTex()}\n`);
    return 0;
  }
  const inspection = asUserErrors(definition, files[0]!, () => inspectModel(traceModel(definition), { wrt }));
  const output =
    format === "text"
      ? inspection.toText({ shapes: true })
      : format === "tex"
        ? inspection.toTex()
        : format === "svg"
          ? inspection.graph.toSVG()
          : inspection.graph.toDot();
  process.stdout.write(`${output}\n`);
  return 0;
}
