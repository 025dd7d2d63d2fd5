// Matrix-product speed: the WebAssembly SIMD kernel (src/emit/wasm/gemm.ts) against the plain-JS
// 4×4 register-blocked routine that generated trainers use today (templates/gemm.ts.tpl, copied below).
//
//   node bench/gemm.mjs [--quick] [--dtype f64] [--only NAME] [--sweep]
//
// Shapes are the mlp 784-128-10 products at batch 64 and the "wide" 784-512-512-10 ones at batch 128
// (float32 by default). Each measurement is the median over interleaved samples (the variants alternate,
// each sample ≥ ~30 ms), because this machine is shared and noisy. Results are also checked against
// each other before timing. "wasm" is the kernel with its default cache blocking (GEMM_BLOCKING),
// "unblocked" the same kernel with blocking switched off (the kernel before cache blocking).
//
// --sweep times the wasm kernel alone under several cache-block sizes instead (the measurement the
// defaults in src/emit/wasm/gemm.ts were chosen from); --only NAME keeps the shapes whose name
// contains NAME.

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
let gemmModuleBytes, GEMM_BLOCKING;
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
  ({ gemmModuleBytes, GEMM_BLOCKING } = await import(pathToFileURL(outfile).href));
} finally {
  rmSync(outDir, { recursive: true, force: true });
}

// The body of templates/gemm.ts.tpl, types stripped.
function jsGemm(m, n, k, a, aOffset, aRow, aCol, b, bOffset, bRow, bCol, c, cOffset, cRow) {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = aOffset + i * aRow,
      a1 = a0 + aRow,
      a2 = a1 + aRow,
      a3 = a2 + aRow;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let pa = 0;
      let pb = bOffset + j * bCol;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + pa],
          x1 = a[a1 + pa],
          x2 = a[a2 + pa],
          x3 = a[a3 + pa];
        const y0 = b[pb],
          y1 = b[pb + bCol],
          y2 = b[pb + 2 * bCol],
          y3 = b[pb + 3 * bCol];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
        pa += aCol;
        pb += bRow;
      }
      const r0 = cOffset + i * cRow + j,
        r1 = r0 + cRow,
        r2 = r1 + cRow,
        r3 = r2 + cRow;
      c[r0] = c00;
      c[r0 + 1] = c01;
      c[r0 + 2] = c02;
      c[r0 + 3] = c03;
      c[r1] = c10;
      c[r1 + 1] = c11;
      c[r1 + 2] = c12;
      c[r1 + 3] = c13;
      c[r2] = c20;
      c[r2 + 1] = c21;
      c[r2 + 2] = c22;
      c[r2 + 3] = c23;
      c[r3] = c30;
      c[r3 + 1] = c31;
      c[r3 + 2] = c32;
      c[r3 + 3] = c33;
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
  // The "wide" mlp 784-512-512-10 at batch 128. X: 128×784, W1: 784×512, W2: 512×512, δ: 128×512.
  { name: "wide forward X·W1   128×784 · 784×512", m: 128, n: 512, k: 784, aRow: 784, aCol: 1, bRow: 512, bCol: 1 },
  { name: "wide forward H·W2   128×512 · 512×512", m: 128, n: 512, k: 512, aRow: 512, aCol: 1, bRow: 512, bCol: 1 },
  { name: "wide w-grad Xᵀ·δ1   (128×784)ᵀ · 128×512", m: 784, n: 512, k: 128, aRow: 1, aCol: 784, bRow: 512, bCol: 1 },
  { name: "wide w-grad Hᵀ·δ2   (128×512)ᵀ · 128×512", m: 512, n: 512, k: 128, aRow: 1, aCol: 512, bRow: 512, bCol: 1 },
  { name: "wide in-grad δ2·W2ᵀ 128×512 · (512×512)ᵀ", m: 128, n: 512, k: 512, aRow: 512, aCol: 1, bRow: 1, bCol: 512 },
  { name: "wide in-grad δ1·W1ᵀ 128×512 · (784×512)ᵀ", m: 128, n: 784, k: 512, aRow: 512, aCol: 1, bRow: 1, bCol: 512 },
  // Not an mlp product: both operands transposed, the kernel's gathered-B fallback path.
  {
    name: "fallback Aᵀ·Bᵀ      (128×128)ᵀ · (128×128)ᵀ",
    m: 128,
    n: 128,
    k: 128,
    aRow: 1,
    aCol: 128,
    bRow: 1,
    bCol: 128,
  },
];

const sweep = args.includes("--sweep");
const UNBLOCKED = { nc: 1 << 30, kc: 1 << 30, dotNc: 1 << 30, dotKc: 1 << 30, unblockedElements: 0 };
// Block sizes tried by --sweep (elements); the panel sizes matter for bCol = 1 shapes, the dot ones for δ·Wᵀ.
const SWEEP = [
  UNBLOCKED,
  { nc: 64 },
  { nc: 128 },
  { nc: 256 },
  { nc: 128, kc: 256 },
  { nc: 128, kc: 384 },
  { nc: 128, kc: 512 },
  { nc: 256, kc: 256 },
  { nc: 256, kc: 512 },
  { nc: 512, kc: 128 },
  { dotNc: 32 },
  { dotNc: 64 },
  { dotNc: 128 },
  { dotNc: 256 },
  { dotNc: 128, dotKc: 256 },
].map((b) => ({ ...UNBLOCKED, ...b }));
const variants = (sweep ? SWEEP : [GEMM_BLOCKING, UNBLOCKED]).map((blocking) => ({
  blocking,
  bytes: gemmModuleBytes({ dtype, blocking }),
}));
const memory = new WebAssembly.Memory({ initial: 128 }); // 8 MiB
for (const v of variants)
  v.gemm = new WebAssembly.Instance(new WebAssembly.Module(v.bytes), { env: { memory } }).exports.gemm;
const bytes = variants[0].bytes;
const heap = new Float(memory.buffer);
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const blockingName = (b) =>
  Object.entries(b)
    .filter(([name, size]) => size < 1 << 30 && name !== "unblockedElements")
    .map(([name, size]) => `${name} ${size}`)
    .join(", ") + (b.unblockedElements ? `; unblocked where B has ≤ ${b.unblockedElements} elements` : "") ||
  "unblocked";

console.log(
  `gemm ${dtype}: wasm module ${bytes.length} bytes; Node ${process.version}; median GFLOP/s of ${quick ? 5 : 15} interleaved samples`,
);
if (sweep)
  console.log(
    `cache-block sweep (elements); default: ${blockingName(GEMM_BLOCKING)}\n` +
      SWEEP.map((b, index) => `  [${index}] ${blockingName(b)}`).join("\n"),
  );
else
  console.log(`wasm: default cache blocking (${blockingName(GEMM_BLOCKING)}); unblocked: the same kernel without it`);
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : null;
for (const s of shapes.filter((s) => !only || s.name.includes(only))) {
  const { m, n, k, aRow, aCol, bRow, bCol } = s;
  const aSize = (m - 1) * aRow + (k - 1) * aCol + 1;
  const bSize = (k - 1) * bRow + (n - 1) * bCol + 1;
  const cSize = m * n;
  const aOff = 0,
    bOff = aSize,
    cOff = aSize + bSize;
  const a = new Float(aSize).map(() => Math.random() - 0.5);
  const b = new Float(bSize).map(() => Math.random() - 0.5);
  const c = new Float(cSize);
  heap.set(a, aOff);
  heap.set(b, bOff);

  const runs = variants.map((v) => () => v.gemm(m, n, k, aOff, aRow, aCol, bOff, bRow, bCol, cOff, n));
  const runJs = () => jsGemm(m, n, k, a, 0, aRow, aCol, b, 0, bRow, bCol, c, 0, n);
  runJs();
  let maxDiff = 0;
  for (const run of runs) {
    heap.fill(NaN, cOff, cOff + cSize);
    run();
    for (let e = 0; e < cSize; e++)
      maxDiff = Math.max(maxDiff, Math.abs(heap[cOff + e] - c[e]) || (heap[cOff + e] === c[e] ? 0 : Infinity));
  }

  const flops = 2 * m * n * k;
  // Repetitions per sample: about 30 ms at 10 GFLOP/s.
  const reps = Math.max(1, Math.round(((quick ? 0.01 : 0.03) * 10e9) / flops));
  const sample = (run) => {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) run();
    return (flops * reps) / ((performance.now() - t0) * 1e6);
  };
  // Every variant (and JS, unless sweeping) once per round, starting at a different one each round.
  const timed = sweep ? runs : [...runs, runJs];
  for (let w = 0; w < 3; w++) timed.forEach(sample); // warm up (tier-up)
  const rates = timed.map(() => []);
  const samples = quick ? 5 : 15;
  for (let t = 0; t < samples; t++) {
    for (let v = 0; v < timed.length; v++) {
      const index = (v + t) % timed.length;
      rates[index].push(sample(timed[index]));
    }
  }
  const medians = rates.map(median);
  const figure = (x) => x.toFixed(2).padStart(6);
  if (sweep) {
    const best = medians.indexOf(Math.max(...medians));
    console.log(
      `${s.name.padEnd(46)} ` +
        medians.map((x, index) => `[${index}]${index === best ? "*" : " "}${figure(x)}`).join(" "),
    );
    continue;
  }
  const [w, u, j] = medians;
  console.log(
    `${s.name.padEnd(46)} wasm ${figure(w)}  unblocked ${figure(u)}  js ${figure(j)} GFLOP/s  ` +
      `(×${(w / u).toFixed(2)} from blocking, ×${(w / j).toFixed(1)} over js; max |Δ| ${maxDiff.toExponential(1)})`,
  );
}
