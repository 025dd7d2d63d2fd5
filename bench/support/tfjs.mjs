// TensorFlow.js with both of its Node-loadable pure backends in one engine: "cpu" (plain JS) and
// "wasm" (@tensorflow/tfjs-backend-wasm, SIMD WebAssembly, single-threaded under Node), gradients
// registered. The .wasm binaries ship inside the npm package; setWasmPaths points at them in
// node_modules, so nothing is fetched.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * tfjs-core's Node entry registers no gradients, so core + gradients + backends
 * are bundled from their ES module builds with esbuild and imported. One bundle, one engine: the
 * engine and kernel registry live on globalThis, so two bundles would share (and fight over) them.
 * Switch with `await tf.setBackend("cpu" | "wasm")`; tensors stay on the backend they were made on.
 */
export async function loadTfjs() {
  const text = await bundleTfjs(
    ['import "@tensorflow/tfjs-backend-cpu";', 'export { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";'],
    {
      logLevel: "error",
      // The emscripten glue of the wasm backend uses __dirname and __filename under Node.
      define: {
        __dirname: JSON.stringify(path.join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist")),
        __filename: JSON.stringify(
          path.join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.js"),
        ),
      },
    },
  );
  const directory = mkdtempSync(path.join(tmpdir(), "gradgen-bench-tfjs-"));
  const file = path.join(directory, "tfjs.mjs");
  writeFileSync(file, text);
  const warn = console.warn;
  console.warn = (...args) => {
    if (!String(args[0]).includes("tfjs-node")) warn(...args);
  }; // the "install tfjs-node" banner
  let tf;
  try {
    tf = await import(pathToFileURL(file).href);
    tf.setWasmPaths(`${path.join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist")}${path.sep}`);
    if (!(await tf.setBackend("wasm"))) throw new Error("TF.js: the wasm backend did not initialise");
    await tf.ready();
    if (!(await tf.setBackend("cpu"))) throw new Error("TF.js: the cpu backend did not initialise");
    await tf.ready();
  } finally {
    console.warn = warn;
    rmSync(directory, { recursive: true, force: true });
  }
  return tf;
}

/**
 * TF.js core with its gradients registered and the backend imports `lines`, bundled by esbuild into
 * the text of one ES module; `options` are further esbuild options (bench/wgsl.mjs bundles the WebGPU
 * backend the same way).
 */
export async function bundleTfjs(lines, options = {}) {
  const { build } = await import("esbuild");
  const result = await build({
    stdin: {
      contents: [
        'export * from "@tensorflow/tfjs-core";',
        'import "@tensorflow/tfjs-core/dist/register_all_gradients";',
        ...lines,
      ].join("\n"),
      resolveDir: root,
      loader: "js",
    },
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node20",
    mainFields: ["module", "main"],
    // tfjs-core's Node platform (and the wasm backend's glue) call require: the ES module gets one of its own.
    banner: {
      js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);',
    },
    logLevel: "silent",
    ...options,
  });
  return result.outputFiles[0].text;
}

/** Which .wasm binary the wasm backend runs ("simd", "threaded-simd" or plain), from its feature flags. */
export async function tfjsWasmFlavour(tf) {
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
  return simd && threads ? "threaded-simd" : simd ? "simd" : "plain";
}
