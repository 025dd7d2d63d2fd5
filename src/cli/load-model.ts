// Loading the user's model.ts at build time: esbuild bundles the file (its own imports inlined,
// packages left to Node), with "gradgen" pointed at this very compiler so model and compiler
// share one copy of the IR. The bundle is written beside the model so its imports resolve as the
// model's would, imported, and removed.

import { existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { GradgenError, type SourceLocation } from "../errors.js";
import { isModelDefinition, type ModelDefinition } from "../dsl/model.js";
import { locationFromStack } from "../dsl/callsite.js";
import { describeThrown } from "./user-errors.js";

const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** This compiler's own module for "gradgen" or one of its subpaths (gradgen/train, /data, /parallel). */
function entryOf(specifier: string): string {
  const subpath = specifier.slice("gradgen".length);
  return subpath === "" ? path.join(distRoot, "index.js") : path.join(distRoot, "runtime", `${subpath.slice(1)}.js`);
}

/** The entry point's name for esbuild, resolved to the model's path by the plugin below. */
const modelEntry = "gradgen:model-entry";

interface EsbuildMessage {
  text: string;
  location: { file: string; line: number; column: number; lineText: string } | null;
}

/** Import a TypeScript file under plain Node (which cannot strip types before Node 22). */
export async function importTypeScript(file: string, what = "model file"): Promise<Record<string, unknown>> {
  return (await importTypeScriptWithSources(file, what)).module;
}

/** The same, with the absolute paths of the local files the bundle read (the file and its relative imports). */
async function importTypeScriptWithSources(
  file: string,
  what: string,
): Promise<{ module: Record<string, unknown>; sources: string[] }> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) {
    throw new GradgenError(`${what} ${file} does not exist. Check the path (it is resolved from ${process.cwd()}).`);
  }
  const { build } = await import("esbuild");
  // Beside the model, so its relative and package imports resolve as they would for the model itself.
  const temporary = path.join(path.dirname(absolute), `.${path.basename(absolute)}.gradgen-${process.pid}.mjs`);
  let code: string;
  let sources: string[];
  try {
    const result = await build({
      // Through a plugin, not as a path: esbuild expands `*` in entry points as a glob.
      entryPoints: [modelEntry],
      outfile: temporary,
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      target: "node20",
      packages: "external",
      sourcemap: "inline",
      metafile: true,
      logLevel: "silent",
      plugins: [
        {
          name: "gradgen-self",
          setup(b) {
            b.onResolve({ filter: /^gradgen:model-entry$/ }, ({ kind }) =>
              kind === "entry-point" ? { path: absolute } : undefined,
            );
            b.onResolve({ filter: /^gradgen(\/(train|data|parallel))?$/ }, ({ path: specifier }) => ({
              path: pathToFileURL(entryOf(specifier)).href,
              external: true,
            }));
          },
        },
      ],
    });
    code = result.outputFiles[0]!.text;
    sources = Object.keys(result.metafile.inputs).map((input) => path.resolve(input)); // relative to the working directory
  } catch (error) {
    const first = (error as { errors?: EsbuildMessage[] }).errors?.[0];
    if (!first) throw error;
    const where: SourceLocation | undefined = first.location
      ? {
          file: path.relative(process.cwd(), path.resolve(first.location.file)),
          line: first.location.line,
          column: first.location.column + 1,
        }
      : undefined;
    throw new GradgenError(
      `cannot load the ${what}: ${first.text}${first.location ? ` (in \`${first.location.lineText.trim()}\`)` : ""}. Fix the TypeScript syntax or the import.`,
      where,
    );
  }

  process.setSourceMapsEnabled(true);
  let module: Record<string, unknown>;
  try {
    writeFileSync(temporary, code);
    module = await import(pathToFileURL(temporary).href);
  } catch (error) {
    if (error instanceof GradgenError) throw error;
    if (!(error instanceof Error)) {
      // Not an Error: no stack, so no line; name the file instead.
      throw new GradgenError(
        `the ${what} ${file} threw ${describeThrown(error)} while loading (a thrown value that is not an Error carries no line; throw new Error(...) to get it). Fix the code that throws it.`,
      );
    }
    const location = locationFromStack(error.stack);
    throw new GradgenError(
      `the ${what} ${location ? "" : `${file} `}threw while loading: ${error.message}. Fix the code at that line.`,
      location,
    );
  } finally {
    rmSync(temporary, { force: true });
  }
  return { module, sources };
}

export async function loadModel(file: string): Promise<ModelDefinition> {
  return (await loadModelWithSources(file)).definition;
}

/** The model, and every local file it was built from (so the CLI can refuse to write over any of them). */
export async function loadModelWithSources(file: string): Promise<{ definition: ModelDefinition; sources: string[] }> {
  const { module, sources } = await importTypeScriptWithSources(file, "model file");
  const definition = module.default;
  if (!isModelDefinition(definition)) {
    throw new GradgenError(
      `${file} has no default-exported model. End the file with \`export default model("name", ({ input, param }) => { ...; return { loss }; });\` (model is imported from "gradgen").`,
    );
  }
  return { definition, sources };
}
