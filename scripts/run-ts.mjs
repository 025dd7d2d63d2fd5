// Run a TypeScript file (an example's training script) under plain Node 20.
import { importTypeScript } from "../dist/cli/load-model.js";
import { GradgenError } from "../dist/errors.js";

const [file] = process.argv.slice(2);
try {
  await importTypeScript(file, "script");
} catch (error) {
  if (!(error instanceof GradgenError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
