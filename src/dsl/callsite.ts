// Where in the user's model file an op was created: the first stack frame outside gradgen itself.

import { fileURLToPath } from "node:url";
import path from "node:path";
import type { SourceLocation } from "../errors.js";

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
// bin/ too: the CLI's entry frame sits under every stack, and is never the user's line.
const ownCode = ["src", "dist", "bin"].map((part) => path.join(packageRoot, part) + path.sep);
const framePattern = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/;

export function locationFromStack(stack: string | undefined): SourceLocation | undefined {
  for (const line of (stack ?? "").split("\n").slice(1)) {
    const match = framePattern.exec(line.trim());
    if (!match) continue;
    let file = match[1]!;
    if (file.startsWith("file://")) file = fileURLToPath(file);
    if (file.startsWith("node:") || !path.isAbsolute(file) || file.includes(`${path.sep}node_modules${path.sep}`))
      continue;
    if (ownCode.some((prefix) => file.startsWith(prefix))) continue;
    return { file: path.relative(process.cwd(), file) || file, line: Number(match[2]), column: Number(match[3]) };
  }
  return undefined;
}

export function callerLocation(): SourceLocation | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40; // user frames sit below a few layers of DSL helpers
  const stack = new Error().stack;
  Error.stackTraceLimit = limit;
  return locationFromStack(stack);
}
