// Runtime pieces that every generated module carries (src/random.ts: mulberry32; src/emit/runtime/*.ts:
// the initialisers, the argument checks) are ordinary TypeScript files, type-checked and tested
// directly; an emitter copies their text into the module. Copying drops what serves only the
// repository: the file's opening comment, `import type` and `declare` lines (what the generated
// module itself provides), and `export` (the module exports only its own API).

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** src/emit/runtime, from src/emit (tests) or dist/emit (the built compiler): both two levels below the package root. */
const runtimeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "emit", "runtime");

export type RuntimePiece = "random" | "initialisers" | "checks" | "dropout" | "second-order" | "ids";
/** The pieces both targets carry (the TypeScript trainer also carries "dropout"). */
export const sharedPieces: readonly RuntimePiece[] = ["random", "initialisers", "checks"];

const cache = new Map<RuntimePiece, string>();

/** The text of runtime piece `name` as generated modules hold it. */
export function runtimeSource(name: RuntimePiece): string {
  let text = cache.get(name);
  if (text === undefined) {
    // mulberry32 is also the compiler's own generator: one file, src/random.ts, serves both
    const file =
      name === "random" ? path.join(runtimeDir, "..", "..", "random.ts") : path.join(runtimeDir, `${name}.ts`);
    const lines = readFileSync(file, "utf8").split("\n");
    const firstCode = lines.findIndex((line) => !line.startsWith("//"));
    text = lines
      .slice(firstCode)
      .filter((line) => !/^(import type |declare )/.test(line))
      .map((line) => line.replace(/^export /, ""))
      .join("\n")
      .trim();
    cache.set(name, text);
  }
  return text;
}
