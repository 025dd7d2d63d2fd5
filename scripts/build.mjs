// Transpile src/ to dist/ (one ES module per source file, so the CLI and user models share one copy
// of gradgen). Type checking is `tsc`'s job (npm run typecheck); this only strips types.
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const entryPoints = readdirSync(path.join(root, "src"), { recursive: true })
  .filter((file) => String(file).endsWith(".ts"))
  .map((file) => path.join(root, "src", String(file)));

rmSync(path.join(root, "dist"), { recursive: true, force: true });
await build({
  entryPoints,
  outdir: path.join(root, "dist"),
  outbase: path.join(root, "src"),
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "inline",
  logLevel: "warning",
});
