// TensorFlow.js with its pure-JS cpu backend and gradients, loadable under plain Node (benchmarks
// and tests use it as a peer and an oracle).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * tfjs-core's Node entry (a CommonJS bundle) registers no gradients: TF.js 4 keeps them in
 * dist/register_all_gradients.js, an ES module tree with extensionless imports that Node cannot load
 * (the @tensorflow/tfjs umbrella package bundles it in). So bundle core + gradients + cpu backend
 * from their ES module builds with esbuild, as an application bundler would, and import that.
 */
export async function loadTfjsCpu() {
  const { build } = await import("esbuild");
  const result = await build({
    stdin: {
      contents: 'export * from "@tensorflow/tfjs-core"; import "@tensorflow/tfjs-core/dist/register_all_gradients"; import "@tensorflow/tfjs-backend-cpu";',
      resolveDir: root,
      loader: "js",
    },
    bundle: true, write: false, format: "esm", platform: "node", target: "node20", mainFields: ["module", "main"], logLevel: "warning",
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  });
  const directory = mkdtempSync(path.join(tmpdir(), "gradgen-bench-tfjs-"));
  const file = path.join(directory, "tfjs-cpu.mjs");
  writeFileSync(file, result.outputFiles[0].text);
  const warn = console.warn;
  console.warn = (...args) => { if (!String(args[0]).includes("tfjs-node")) warn(...args); }; // the "install tfjs-node" banner
  let tf;
  try {
    tf = await import(pathToFileURL(file).href);
    await tf.setBackend("cpu");
    await tf.ready();
  } finally {
    console.warn = warn;
    rmSync(directory, { recursive: true, force: true });
  }
  return tf;
}
