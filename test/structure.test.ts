// The shape of the source tree, checked from the files themselves: data flows one way through the
// stages (ir → grad/passes → print → dsl → pipeline → schedule → emit → …), no file grows past
// 600 lines, and the few rules the order alone cannot say (emit never reads the DSL or autodiff).

import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");
const src = path.join(root, "src");

/**
 * Every file of src/ belongs to one stage; a file may import only from its own stage or an earlier
 * one. A new folder or top-level file must be placed here (the test names it until it is).
 */
const stages: readonly { readonly name: string; readonly paths: readonly string[] }[] = [
  // What every stage may use: errors, the initializer specs nodes carry, the seeded PRNG.
  { name: "base", paths: ["errors.ts", "initializers.ts", "random.ts"] },
  { name: "ir", paths: ["ir/"] },
  { name: "grad/passes", paths: ["grad/", "passes/"] },
  { name: "print", paths: ["print/"] },
  // optimizers.ts: the DSL's optimizer specs (model options), errors located with the DSL's callsite.
  { name: "dsl", paths: ["dsl/", "optimizers.ts"] },
  { name: "pipeline", paths: ["pipeline.ts"] },
  { name: "schedule", paths: ["schedule/"] },
  { name: "emit", paths: ["emit/"] },
  // compile(): definition → files, over every stage above; importGenerated loads what it wrote.
  { name: "compile", paths: ["compile.ts", "compile-flags.ts", "import-generated.ts"] },
  { name: "inspect", paths: ["inspect/"] },
  { name: "check", paths: ["check/"] },
  { name: "runtime", paths: ["runtime/"] },
  // The public API gathers everything above; only the CLI comes after it, and nothing imports the CLI.
  { name: "index", paths: ["index.ts"] },
  { name: "cli", paths: ["cli/"] },
];

/** Imports the order allows but the design does not: the emitters print a scheduled Program only. */
const forbidden: Readonly<Record<string, readonly string[]>> = {
  emit: ["dsl", "grad/passes", "print", "pipeline"],
  print: ["dsl", "inspect"],
  dsl: ["inspect"],
};

const maxLines = 600;

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const full = path.join(directory, entry);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return entry.endsWith(".ts") ? [full] : [];
  });
}

const files = sourceFiles(src)
  .map((file) => path.relative(src, file).split(path.sep).join("/"))
  .sort();

function stageOf(file: string): number {
  return stages.findIndex((stage) => stage.paths.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p)));
}

/** Relative module specifiers of static imports, re-exports and dynamic imports of string literals. */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const specifiers = [
    ...code.matchAll(/^\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm),
    ...code.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers.filter((specifier) => specifier.startsWith("."));
}

function resolve(file: string, specifier: string): string {
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)).replace(/\.js$/, ".ts");
}

describe("the import parser", () => {
  it("finds static, type-only, re-exported, multi-line and dynamic imports, and skips comments", () => {
    const text = [
      `import { a } from "./a.js";`,
      `import type { B } from '../b.js';`,
      `export { c } from "./c.js";`,
      `import {\n  d,\n  e,\n} from "./d.js";`,
      `const f = await import("./f.js");`,
      `// import { g } from "./g.js";`,
      `import { h } from "node:fs";`,
    ].join("\n");
    expect(importsOf(text)).toEqual(["./a.js", "../b.js", "./c.js", "./d.js", "./f.js"]);
  });
});

describe("the source tree", () => {
  it("places every file of src/ in a stage", () => {
    expect(files.filter((file) => stageOf(file) < 0)).toEqual([]);
  });

  it(`has no file over ${maxLines} lines`, () => {
    const long = files
      .map((file) => ({ file, lines: readFileSync(path.join(src, file), "utf8").split("\n").length - 1 }))
      .filter((f) => f.lines > maxLines);
    expect(long).toEqual([]);
  });

  it("imports only from the same or an earlier stage, and never what a stage must not see", () => {
    const problems: string[] = [];
    for (const file of files) {
      const from = stageOf(file);
      for (const specifier of importsOf(readFileSync(path.join(src, file), "utf8"))) {
        const target = resolve(file, specifier);
        const to = stageOf(target);
        if (to < 0) problems.push(`${file} imports ${target}, which is in no stage`);
        else if (to > from)
          problems.push(`${file} (${stages[from]!.name}) imports ${target} (${stages[to]!.name}, a later stage)`);
        else if (forbidden[stages[from]!.name]?.includes(stages[to]!.name))
          problems.push(`${file} (${stages[from]!.name}) imports ${target} (${stages[to]!.name})`);
      }
    }
    expect(problems).toEqual([]);
  });
});
