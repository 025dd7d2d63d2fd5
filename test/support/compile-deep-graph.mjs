// Child process of test/ir/deep-graphs.test.ts, run as
//   node --stack-size=<KB> compile-deep-graph.mjs <built package> <model> <size> <targets> <text to count>…
// Compiles a model of bench/support/deep-graphs.mjs with the built package for the targets (e.g.
// "ts,wgsl") and prints one JSON line: whether naive recursion as deep as the graph overflows this
// stack (so a passing compile proves the compiler's stack use is bounded, not lucky), and for each
// generated file its length and how often each given text occurs in it (and, for WGSL, in the
// shaders its dispatches run).
import path from "node:path";
import { pathToFileURL } from "node:url";
import { deepGraphs } from "../../bench/support/deep-graphs.mjs";

const [packageDir, name, size, targets, ...texts] = process.argv.slice(2);
const gradgen = await import(pathToFileURL(path.join(packageDir, "dist", "index.js")).href);

const recurse = (depth) => (depth === 0 ? 0 : 1 + recurse(depth - 1));
let recursionOverflows = false;
try {
  recurse(Number(size));
} catch (error) {
  recursionOverflows = error instanceof RangeError;
}

const { files } = gradgen.compile(deepGraphs[name](gradgen, Number(size)), { targets: targets.split(",") });
const count = (contents, text) => contents.split(text).length - 1;
// WGSL: identical kernels share one shader, so the text is counted per dispatch too: the most any
// sequence (loss, gradient, …) runs, summed over its dispatches' shaders.
const executed = (shaders, dispatches, text) =>
  Math.max(
    ...Object.values(dispatches).map((sequence) =>
      sequence.reduce((sum, dispatch) => sum + count(shaders[dispatch.shader], text), 0),
    ),
  );
const generated = Object.fromEntries(
  files.map(({ path: file, contents, shaders, dispatches }) => [
    file,
    {
      length: contents.length,
      occurrences: Object.fromEntries(texts.map((text) => [text, count(contents, text)])),
      ...(shaders && dispatches
        ? { dispatched: Object.fromEntries(texts.map((text) => [text, executed(shaders, dispatches, text)])) }
        : {}),
    },
  ]),
);
process.stdout.write(`${JSON.stringify({ recursionOverflows, generated })}\n`);
