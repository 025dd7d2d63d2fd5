// Builds the browser demo: compiles examples/xor.ts for the WGSL target (with the compiler in dist/,
// so run `npm run build` first) and bundles demo.ts with the generated host into one ES module.
// Usage: node examples/web/build.mjs [outDir]   (default examples/web/build), then serve outDir, e.g.
//   npx esbuild --servedir=examples/web/build   or any static file server on 127.0.0.1.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");

export async function buildDemo(outDir = path.join(here, "build")) {
  const { compile } = await import(path.join(root, "dist", "index.js"));
  const { loadModel } = await import(path.join(root, "dist", "cli", "load-model.js"));
  const definition = await loadModel(path.join(root, "examples", "xor.ts"));
  const { files } = compile(definition, { batch: 4, learningRate: 2, targets: ["wgsl"], source: "examples/xor.ts" });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "xor.wgsl.ts"), files[0].contents);
  writeFileSync(
    path.join(outDir, "entry.ts"),
    [
      `import { createGpuTrainer } from "./xor.wgsl.ts";`,
      `import { startDemo, type CreateTrainer } from ${JSON.stringify(path.join(here, "demo.ts"))};`,
      `void startDemo(createGpuTrainer as unknown as CreateTrainer);`,
    ].join("\n"),
  );
  await build({
    entryPoints: [path.join(outDir, "entry.ts")],
    outfile: path.join(outDir, "demo.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "warning",
  });
  copyFileSync(path.join(here, "index.html"), path.join(outDir, "index.html"));
  return outDir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = await buildDemo(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  process.stdout.write(`built the WGSL demo in ${path.relative(process.cwd(), outDir) || "."}\n`);
}
