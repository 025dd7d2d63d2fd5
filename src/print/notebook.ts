// Talking to the notebook kernel that runs this code, if any. Measured with the kernels that
// scripts/setup-notebooks.sh pins (Deno 2.9, tslab 1.0.22):
//  - Deno renders a cell's last value through [Symbol.for("Jupyter.display")]() and shows
//    Deno.jupyter.display(bundle, { raw: true }) as one output with every MIME type of the bundle.
//  - tslab prints a cell's last value with console.log (util.inspect: text only), and its public
//    display API sends one MIME type per output. Its internal jupyter module sends a whole bundle;
//    we use that, and render the last value richly by recognising tslab's own console.log of it.

import { createRequire } from "node:module";
import type { MimeBundle } from "./expression.js";

export interface Displayable {
  toString(): string;
  toMimeBundle(): MimeBundle;
  /** Several outputs (a model view: its equations, then its drawing); display() shows them all. */
  toMimeBundles?(): MimeBundle[];
}

type DenoJupyter = { display(value: unknown, options?: { raw?: boolean }): Promise<void> | void };
type DisplayData = { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> };
type TslabGlobal = {
  require: ((name: string) => unknown) & { cache?: Record<string, { exports?: unknown } | undefined> };
};

export function denoJupyter(): DenoJupyter | undefined {
  try {
    const deno = (globalThis as { Deno?: { jupyter?: DenoJupyter } }).Deno;
    return deno?.jupyter; // throws outside `deno jupyter`
  } catch {
    return undefined;
  }
}

function tslabGlobal(): TslabGlobal | undefined {
  return (globalThis as { __tslab__?: TslabGlobal }).__tslab__;
}

/** tslab's function that sends one display_data message (set while a cell runs), if in tslab. */
function tslabWriteDisplayData(): ((content: DisplayData, update: boolean) => void) | undefined {
  const tslab = tslabGlobal();
  if (!tslab) return undefined;
  const cache = tslab.require.cache ?? createRequire(import.meta.url).cache;
  for (const [file, module] of Object.entries(cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) continue;
    const write = (module?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    if (typeof write === "function") return write as (content: DisplayData, update: boolean) => void;
  }
  return undefined;
}

type TslabDisplay = { latex(s: string): void; svg(s: string): void; text(s: string): void };

function tslabPublicDisplay(): TslabDisplay | undefined {
  try {
    return (tslabGlobal()?.require("tslab") as { display?: TslabDisplay } | undefined)?.display;
  } catch {
    return undefined;
  }
}

/** Send a bundle as one output of the running tslab cell; false when not in tslab. */
export function tslabSend(bundle: MimeBundle): boolean {
  const write = tslabWriteDisplayData();
  if (write) {
    write({ data: { ...bundle }, metadata: {}, transient: {} }, false);
    return true;
  }
  const display = tslabPublicDisplay(); // one MIME type per output: the richest one
  if (!display) return false;
  if (bundle["image/svg+xml"]) display.svg(bundle["image/svg+xml"]);
  else if (bundle["text/latex"]) display.latex(bundle["text/latex"]);
  else display.text(bundle["text/plain"]);
  return true;
}

export function bundlesOf(value: unknown): MimeBundle[] {
  const candidate = value as Partial<Displayable> | null;
  if (candidate && typeof candidate.toMimeBundles === "function") return candidate.toMimeBundles();
  if (candidate && typeof candidate.toMimeBundle === "function") return [candidate.toMimeBundle()];
  const hook = (candidate as Record<symbol, unknown> | null)?.[Symbol.for("Jupyter.display")];
  if (typeof hook === "function") return [hook.call(candidate) as MimeBundle];
  return [{ "text/plain": typeof value === "string" ? value : String(value) }];
}

const ownDirectory = new URL("..", import.meta.url); // dist/ (or src/): frames of gradgen itself

/** Is this util.inspect call tslab printing a cell's last value (and not user code calling console.log)? */
function printedByTslabAsCellValue(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const ownPath = decodeURIComponent(ownDirectory.pathname);
  const caller = stack
    .split("\n")
    .slice(1)
    .find((frame) => !frame.includes("node:") && !frame.includes(ownDirectory.href) && !frame.includes(ownPath));
  return caller !== undefined && /[\\/]tslab[\\/]dist[\\/]executor\.js:/.test(caller);
}

/**
 * What [Symbol.for("nodejs.util.inspect.custom")] returns: the text, except for a cell's last value
 * in tslab, which is sent as rich output instead (and tslab's line of text is dropped).
 */
export function inspectText(
  value: Displayable,
  depth: number | null,
  options: { depth?: number | null } | undefined,
): string {
  const topLevel = depth === (options?.depth ?? depth);
  if (topLevel && tslabGlobal() && printedByTslabAsCellValue()) {
    if (tslabSend(value.toMimeBundle())) {
      // one bundle, as Deno shows a cell's value
      dropNextNewline();
      return "";
    }
  }
  return value.toString();
}

/** console.log writes the (now empty) text and a newline: keep that blank line out of the cell. */
function dropNextNewline(): void {
  const stdout = process.stdout;
  const write = stdout.write;
  stdout.write = function (this: typeof stdout, chunk: unknown, ...rest: unknown[]): boolean {
    stdout.write = write;
    if (chunk === "\n") return true;
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof stdout.write;
}
