// Matrix-product speed: the WebAssembly SIMD kernel (src/emit/wasm/gemm.ts) against the plain-JS
// 4×4 register-blocked routine that generated trainers use today (templates/gemm.ts.tpl, copied below).
//
//   node bench/gemm.mjs [--quick] [--dtype f64]
//
// Shapes are the mlp 784-128-10 products at batch 64 (float32 by default). Each measurement is the
// median over interleaved samples (wasm and JS alternate, each sample ≥ ~30 ms), because this machine is
// shared and noisy. Results are also checked against each other before timing.

import { build } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const dtype = args.includes("--dtype") ? args[args.indexOf("--dtype") + 1] : "f32";
const Float = dtype === "f64" ? Float64Array : Float32Array;

// Transpile the TypeScript generator to a temporary ES module and import it.
const outDir = mkdtempSync(path.join(tmpdir(), "gradgen-bench-gemm-"));
let gemmModuleBytes;
try {
  const outfile = path.join(outDir, "gemm.mjs");
  await build({
    entryPoints: [path.join(root, "src/emit/wasm/gemm.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outfile,
    logLevel: "warning",
  });
  ({ gemmModuleBytes } = await import(pathToFileURL(outfile).href));
} finally {
  rmSync(outDir, { recursive: true, force: true });
}

// The body of templates/gemm.ts.tpl, types stripped.
function jsGemm(m, n, k, a, aOffset, aRow, aCol, b, bOffset, bRow, bCol, c, cOffset, cRow) {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = aOffset + i * aRow, a1 = a0 + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let pa = 0;
      let pb = bOffset + j * bCol;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + pa], x1 = a[a1 + pa], x2 = a[a2 + pa], x3 = a[a3 + pa];
        const y0 = b[pb], y1 = b[pb + bCol], y2 = b[pb + 2 * bCol], y3 = b[pb + 3 * bCol];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
        pa += aCol;
        pb += bRow;
      }
      const r0 = cOffset + i * cRow + j, r1 = r0 + cRow, r2 = r1 + cRow, r3 = r2 + cRow;
      c[r0] = c00; c[r0 + 1] = c01; c[r0 + 2] = c02; c[r0 + 3] = c03;
      c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12; c[r1 + 3] = c13;
      c[r2] = c20; c[r2 + 1] = c21; c[r2 + 2] = c22; c[r2 + 3] = c23;
      c[r3] = c30; c[r3 + 1] = c31; c[r3 + 2] = c32; c[r3 + 3] = c33;
    }
  }
  for (let i = 0; i < m; i++) {
    for (let j = i < m4 ? n4 : 0; j < n; j++) {
      let dot = 0;
      for (let p = 0; p < k; p++) dot += a[aOffset + i * aRow + p * aCol] * b[bOffset + p * bRow + j * bCol];
      c[cOffset + i * cRow + j] = dot;
    }
  }
}

// mlp 784-128-10, batch 64. X: 64×784, W1: 784×128, H: 64×128, W2: 128×10, δ1: 64×128, δ2: 64×10.
const shapes = [
  { name: "forward X·W1        64×784 · 784×128", m: 64, n: 128, k: 784, aRow: 784, aCol: 1, bRow: 128, bCol: 1 },
  { name: "weight grad Xᵀ·δ1   (64×784)ᵀ · 64×128", m: 784, n: 128, k: 64, aRow: 1, aCol: 784, bRow: 128, bCol: 1 },
  { name: "forward H·W2        64×128 · 128×10", m: 64, n: 10, k: 128, aRow: 128, aCol: 1, bRow: 10, bCol: 1 },
  { name: "input grad δ2·W2ᵀ   64×10 · (128×10)ᵀ", m: 64, n: 128, k: 10, aRow: 10, aCol: 1, bRow: 1, bCol: 10 },
  { name: "weight grad Hᵀ·δ2   (64×128)ᵀ · 64×10", m: 128, n: 10, k: 64, aRow: 1, aCol: 128, bRow: 10, bCol: 1 },
  // Not an mlp product: both operands transposed, the kernel's gathered-B fallback path.
  { name: "fallback Aᵀ·Bᵀ      (128×128)ᵀ · (128×128)ᵀ", m: 128, n: 128, k: 128, aRow: 1, aCol: 128, bRow: 1, bCol: 128 },
];

const bytes = gemmModuleBytes({ dtype });
const memory = new WebAssembly.Memory({ initial: 64 }); // 4 MiB
const { gemm } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const heap = new Float(memory.buffer);
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

console.log(`gemm ${dtype}: wasm module ${bytes.length} bytes; Node ${process.version}; median GFLOP/s of ${quick ? 5 : 15} interleaved samples`);
for (const s of shapes) {
  const { m, n, k, aRow, aCol, bRow, bCol } = s;
  const aSize = (m - 1) * aRow + (k - 1) * aCol + 1;
  const bSize = (k - 1) * bRow + (n - 1) * bCol + 1;
  const cSize = m * n;
  const aOff = 0, bOff = aSize, cOff = aSize + bSize;
  const a = new Float(aSize).map(() => Math.random() - 0.5);
  const b = new Float(bSize).map(() => Math.random() - 0.5);
  const c = new Float(cSize);
  heap.set(a, aOff);
  heap.set(b, bOff);

  const runWasm = () => gemm(m, n, k, aOff, aRow, aCol, bOff, bRow, bCol, cOff, n);
  const runJs = () => jsGemm(m, n, k, a, 0, aRow, aCol, b, 0, bRow, bCol, c, 0, n);
  runWasm();
  runJs();
  let maxDiff = 0;
  for (let e = 0; e < cSize; e++) maxDiff = Math.max(maxDiff, Math.abs(heap[cOff + e] - c[e]));

  const flops = 2 * m * n * k;
  // Repetitions per sample: about 30 ms at 10 GFLOP/s.
  const reps = Math.max(1, Math.round((quick ? 0.01 : 0.03) * 10e9 / flops));
  const sample = (run) => {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) run();
    return (flops * reps) / ((performance.now() - t0) * 1e6);
  };
  for (let w = 0; w < 3; w++) { sample(runWasm); sample(runJs); } // warm up (tier-up)
  const wasmRates = [], jsRates = [];
  const samples = quick ? 5 : 15;
  for (let t = 0; t < samples; t++) {
    if (t % 2) { wasmRates.push(sample(runWasm)); jsRates.push(sample(runJs)); }
    else { jsRates.push(sample(runJs)); wasmRates.push(sample(runWasm)); }
  }
  const w = median(wasmRates), j = median(jsRates);
  console.log(
    `${s.name.padEnd(46)} wasm ${w.toFixed(2).padStart(6)}  js ${j.toFixed(2).padStart(6)} GFLOP/s  ` +
      `(×${(w / j).toFixed(1)}; max |Δ| ${maxDiff.toExponential(1)})`,
  );
}
