// Compile time and peak memory of very deep and very wide graphs (a benchmark, not a test):
//   npm run bench:depth   (npm run build && node bench/compile-depth.mjs)
// Each row compiles one model of bench/support/deep-graphs.mjs to TypeScript in a fresh process
// with a 500 KB stack (half of V8's default, far too small for recursion as deep as the graph),
// and prints the compile time (wall clock, and CPU time of all the process's threads, which other
// jobs on the machine disturb less), the process's peak resident memory and the generated size.
// The per-op columns stay flat when compile time and memory grow linearly with the graph.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const [mode, name, size] = process.argv.slice(2);

if (mode === "--row") {
  const { compile, model, nn } = await import("../dist/index.js");
  const { deepGraphs } = await import("./support/deep-graphs.mjs");
  const definition = deepGraphs[name]({ model, nn }, Number(size));
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  const bytes = compile(definition).files[0].contents.length;
  const cpu = process.cpuUsage(cpuBefore);
  const ms = performance.now() - start;
  process.stdout.write(
    JSON.stringify({
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      bytes,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    }),
  );
} else {
  const rows = [
    ["affineChain", [12_500, 25_000, 50_000], (pairs) => 2 * pairs],
    ["sinTanhChain", [25_000, 50_000, 100_000], (ops) => ops],
    ["parameterSum", [5_000, 10_000, 20_000], (count) => count],
  ];
  console.log("model          size     ops   wall ms    CPU ms   peak MiB   MB out  CPU µs/op  KiB/op");
  for (const [model, sizes, opsOf] of rows) {
    for (const n of sizes) {
      const run = spawnSync(
        process.execPath,
        ["--stack-size=500", fileURLToPath(import.meta.url), "--row", model, String(n)],
        { encoding: "utf8" },
      );
      if (run.status !== 0) {
        console.log(`${model} ${n}: failed\n${run.stderr}`);
        continue;
      }
      const { ms, cpuMs, bytes, peakRssMiB } = JSON.parse(run.stdout);
      const ops = opsOf(n);
      console.log(
        `${model.padEnd(13)} ${String(n).padStart(6)} ${String(ops).padStart(7)} ${ms.toFixed(0).padStart(9)} ${cpuMs.toFixed(0).padStart(9)} ` +
          `${peakRssMiB.toFixed(0).padStart(10)} ${(bytes / 1e6).toFixed(1).padStart(8)} ${((1000 * cpuMs) / ops).toFixed(0).padStart(10)} ${((1024 * peakRssMiB) / ops).toFixed(1).padStart(7)}`,
      );
    }
  }
}
