// The JavaScript target (`--target js`): the TypeScript trainer with its types stripped, for plain
// JavaScript users (Node 20 cannot import a .ts file), and a .d.mts declaring what the TypeScript
// module exports, so TypeScript code that imports the JavaScript is checked as strictly as the .ts.
// The file is <name>.mjs, not .js: Node reads a .js as CommonJS in a package whose package.json says
// "type": "commonjs" (or nothing, before Node 20.19), where its exports are not found; .mjs is an ES module
// everywhere (Node, browsers, bundlers), and it never shadows <name>.ts, which TypeScript sources
// import as "./<name>.js".
//
// esbuild (already the compiler's dependency: it loads model files) strips the types. It drops
// comments, except "legal" ones (`//!`, `/*!`): full-line comments are marked legal before the
// transform and unmarked after it, so the .mjs keeps them; comments at the end of a line of code go.
// Comments on type declarations go with the declarations (they live on in the .d.mts).

import { createRequire } from "node:module";
import { moduleHeader, moduleSpec, objectLiteral, type ModuleHeaderText } from "./module-spec.js";
import { emitTypeScript } from "./typescript.js";
import { propertyKey } from "../schedule/names.js";
import type { Program } from "../schedule/program.js";

interface Esbuild {
  transformSync(
    code: string,
    options: { loader: "ts"; target: string; legalComments: "inline" | "none"; charset: "utf8" },
  ): { code: string };
}

/** esbuild, loaded on first use (compile() is synchronous; only this target needs it). */
let esbuild: Esbuild | undefined;
function loadEsbuild(): Esbuild {
  esbuild ??= createRequire(import.meta.url)("esbuild") as Esbuild;
  return esbuild;
}

/** A line that starts a type declaration, which stripping removes along with its comments. */
const typeDeclaration = /^\s*(export\s+)?(declare\s+)?(type|interface)\s/;

/**
 * Full-line comments marked legal (`//!`, `/*!`), except those on type declarations. A block
 * comment's inner lines are left alone; "/**" becomes "/*!*" so that unmark() can restore it.
 */
function markComments(typescript: string): string {
  const lines = typescript.split("\n");
  let inBlock = false;
  let pending: number[] = []; // comment lines (indices) waiting for the line after them
  const marked = [...lines];
  const flush = (next: string) => {
    if (!typeDeclaration.test(next)) {
      for (const i of pending) {
        marked[i] = lines[i]!.replace(/^(\s*)\/\/(?!!)/, "$1//!").replace(/^(\s*)\/\*(\*?)(?!!)/, "$1/*!$2");
      }
    }
    pending = [];
  };
  for (const [i, line] of lines.entries()) {
    if (inBlock) {
      if (line.includes("*/")) inBlock = false;
      continue;
    }
    if (/^\s*\/\//.test(line)) pending.push(i);
    else if (/^\s*\/\*/.test(line)) {
      pending.push(i);
      inBlock = !line.slice(line.indexOf("/*") + 2).includes("*/");
    } else flush(line); // a blank line ends a comment that describes no declaration: it stays
  }
  flush("");
  return marked.join("\n");
}

function unmarkComments(javascript: string): string {
  return javascript
    .split("\n")
    .map((line) => line.replace(/^(\s*)\/\/!/, "$1//").replace(/^(\s*)\/\*!/, "$1/*"))
    .join("\n");
}

/** A blank line after each top-level block, as in the TypeScript (esbuild prints none). */
function separateTopLevel(javascript: string): string {
  const lines = javascript.split("\n");
  return lines
    .flatMap((line, i) => (i > 0 && /^\}[;)]*$/.test(lines[i - 1]!) && line !== "" ? ["", line] : [line]))
    .join("\n");
}

/** The module as JavaScript: the same statements, in the same order, with the same comments on their lines. */
function javaScriptFrom(typescript: string): string {
  const transform = (code: string, legalComments: "inline" | "none") =>
    loadEsbuild().transformSync(code, { loader: "ts", target: "es2022", legalComments, charset: "utf8" }).code;
  const marked = markComments(typescript);
  // Marking touched only comments: stripped of every comment, the marked module is the module.
  if (transform(marked, "none") !== transform(typescript, "none"))
    throw new Error("marking the comments of the TypeScript module changed its code");
  const lines = separateTopLevel(unmarkComments(transform(marked, "inline"))).split("\n");
  const afterHeader = lines.findIndex((line) => !line.startsWith("//"));
  if (afterHeader > 0 && lines[afterHeader] !== "") lines.splice(afterHeader, 0, ""); // as in the TypeScript
  return lines.join("\n");
}

/** The type of an `as const` value: literal types, readonly arrays as tuples, readonly properties. */
function constType(value: unknown, indent = ""): string {
  if (Array.isArray(value)) return `readonly [${value.map((v) => constType(v, indent)).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    const inner = indent + "  ";
    const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) && k !== "__proto__" ? k : propertyKey(k));
    return `{\n${entries.map(([k, v]) => `${inner}readonly ${key(k)}: ${constType(v, inner)};`).join("\n")}\n${indent}}`;
  }
  if (typeof value === "number") return Number.isFinite(value) ? objectLiteral(value) : "number";
  return JSON.stringify(value);
}

/**
 * The .d.mts of the JavaScript module: the TypeScript module's declarations up to and including the
 * Trainer interface, verbatim, with `spec` declared by its type and createTrainer by its signature.
 * Anything else the TypeScript module exports would be missing here: that is refused.
 */
function declarationsFrom(typescript: string, program: Program, header: string): string {
  const lines = typescript.split("\n");
  const firstCode = lines.findIndex((line) => !line.startsWith("//"));
  const trainerEnd = lines.findIndex(
    (line, i) => line === "}" && lines.slice(0, i).includes("export interface Trainer {"),
  );
  const specStart = lines.indexOf("export const spec = {");
  const specEnd = lines.indexOf("} as const;", specStart);
  const signature = "export function createTrainer(options: TrainerOptions = {}): Trainer {";
  const laterExports = lines.slice(trainerEnd + 1).filter((line) => /^export\s/.test(line));
  if (firstCode < 0 || trainerEnd < 0 || specStart < 0 || specEnd < 0 || laterExports.join("\n") !== signature)
    throw new Error(`the TypeScript trainer's exports are not as the .d.mts expects: ${laterExports.join("; ")}`);
  const specType = `export declare const spec: ${constType(moduleSpec(program))};`;
  return [
    header,
    ...lines.slice(firstCode, specStart),
    specType,
    ...lines.slice(specEnd + 1, trainerEnd + 1),
    "",
    "/** A trainer with its own parameters, gradients and optimizer state (see TrainerOptions). */",
    "export declare function createTrainer(options?: TrainerOptions): Trainer;",
    "",
  ].join("\n");
}

/** `<name>.mjs` and `<name>.d.mts`: the trainer as an ES module for plain JavaScript, and its types. */
export function emitJavaScript(
  program: Program,
  header: ModuleHeaderText,
): { readonly javascript: string; readonly declarations: string } {
  const typescript = emitTypeScript(program, { ...header, target: ", JavaScript target" });
  const typesHeader = moduleHeader(program, header, `, the types of ${program.modelName}.mjs`, program.dtype, ".");
  return {
    javascript: javaScriptFrom(typescript),
    declarations: declarationsFrom(typescript, program, typesHeader),
  };
}
