// Training-step speed of gradgen against every JavaScript trainer that runs here, in one process.
//
//   npm run bench:peers                      (builds dist/, then runs this file)
//   node bench/peers.mjs [--quick] [--models xor,small] [--rounds N]
//
// Models (float32; one step = forward + backward + plain SGD update, the mean loss read back):
//   xor    2-4-1 sigmoid, half squared error        batch 4     examples/xor.ts
//   small  64-64-10 ReLU, softmax cross-entropy     batch 32    bench/models/small.ts
//   mnist  784-128-10 ReLU, softmax cross-entropy   batch 64    examples/mlp.ts
//   wide   784-512-512-10 ReLU, softmax cross-ent.  batch 128   bench/models/wide.ts
//   cnn    LeNet [1, 28, 28]: conv 5×5 ×6, pool 2, conv 5×5 ×16, pool 2, 256-120-84-10   batch 64   bench/models/cnn.ts
//          (no hand-written reference; TF.js wasm has no Conv2DBackpropFilter kernel, so it cannot train it)
// Peers:
//   gradgen       the generated trainer, compiled in-process by the freshly built compiler, backend "auto" (wasm)
//   gradgen (js)  the same module with backend "js" (its plain-JS fallback)
//   reference     bench/support/reference.mjs: hand-written allocation-free plain JS, 4×4 register-blocked products
//   TF.js cpu     @tensorflow/tfjs-core + tfjs-backend-cpu, tf.train.sgd().minimize inside tf.tidy
//   TF.js wasm    the same with @tensorflow/tfjs-backend-wasm (SIMD binary from node_modules, single thread in Node)
//   jax-js        @jax-js/jax on its wasm device, the whole step (valueAndGrad + update) under jit
//
// Every peer starts from the gradgen trainer's initial parameters (seed 7) and trains on the same
// batches; their first three losses are checked against gradgen's (relative difference < 1e-4).
// Timing: after a warm-up, each peer runs timed chunks of about CHUNK_MS (at least one step); the
// peers' chunks are interleaved round by round (the order rotates every round) so that a noisy
// neighbour on this shared machine hits all alike. The figure is the median of the per-chunk ms/step.
// GCs are PerformanceObserver 'gc' entries that start inside a peer's timed chunks (before each chunk
// of an allocation-free peer the process waits until the others' GC work has died down).
// GFLOP/s counts the matrix products only, 2·m·n·k each: the forward product of every layer, the
// weight gradient (aᵀ·δ) of every layer and the input gradient (δ·Wᵀ) of every layer but the first
// (nobody needs ∂loss/∂x); elementwise work, bias sums and the update are not counted. A convolution
// counts as its im2col product: 2·positions·(C·kh·kw)·O per example, forward, filter gradient and (but for
// the first) input gradient; pooling is not counted (LeNet at batch 64: 97.1 MFLOP).
//
// Writes bench/results/peers.json and bench/results/peers.svg (a partial run — --quick or --models —
// writes peers.partial.json / peers.partial.svg instead, leaving the full run's figures alone).
// Exits 0 even when a target is missed (misses print as MISSED); non-zero only when a peer failed.

import { PerformanceObserver, performance } from "node:perf_hooks";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, loadavg, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Session } from "node:inspector/promises";
import { loadTfjs, tfjsWasmFlavour } from "./support/tfjs.mjs";
import { createReferenceTrainer } from "./support/reference.mjs";
import { barChartSvg } from "./support/bar-chart.mjs";
import { createRandom, median, settle, sleep } from "./support/measure.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// ---------------------------------------------------------------------------------------------
// Arguments and configuration.

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const QUICK = flag("--quick");
const ALL_MODELS = ["xor", "small", "mnist", "wide", "cnn"];
const SELECTED =
  option("--models")
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean) ?? ALL_MODELS;
for (const m of SELECTED)
  if (!ALL_MODELS.includes(m)) throw new Error(`--models: unknown model ${m} (known: ${ALL_MODELS.join(", ")})`);
const ROUNDS = Number(option("--rounds") ?? (QUICK ? 3 : 15));
/** Warm-up allowance per peer: this many steps or this long, whichever comes first (--quick: a tenth). */
const WARM_STEPS = QUICK ? 200 : 2000;
const WARM_MS = QUICK ? 2000 : 20_000;
const PARTIAL = QUICK || SELECTED.length !== ALL_MODELS.length || option("--rounds") !== undefined;

const MODELS = {
  xor: {
    source: "examples/xor.ts",
    module: "xor",
    sizes: [2, 4, 1],
    hidden: "sigmoid",
    loss: "halfSquaredError",
    batch: 4,
    learningRate: 2,
    chunkMs: QUICK ? 40 : 150,
  },
  small: {
    source: "bench/models/small.ts",
    module: "small",
    sizes: [64, 64, 10],
    hidden: "relu",
    loss: "softmaxCrossEntropy",
    batch: 32,
    learningRate: 0.05,
    chunkMs: QUICK ? 40 : 150,
  },
  mnist: {
    source: "examples/mlp.ts",
    module: "mlp",
    sizes: [784, 128, 10],
    hidden: "relu",
    loss: "softmaxCrossEntropy",
    batch: 64,
    learningRate: 0.05,
    chunkMs: QUICK ? 60 : 250,
  },
  wide: {
    source: "bench/models/wide.ts",
    module: "wide",
    sizes: [784, 512, 512, 10],
    hidden: "relu",
    loss: "softmaxCrossEntropy",
    batch: 128,
    learningRate: 0.02,
    chunkMs: QUICK ? 150 : 600,
  },
  cnn: {
    source: "bench/models/cnn.ts",
    module: "cnn",
    describe: "LeNet 1×28×28 c6 p c16 p 120-84-10",
    sizes: [784, 10], // inputs and classes of the random batches
    // [positions, C·kh·kw, O] of each convolution's product, then the dense layers
    convolutions: [
      [24 * 24, 25, 6],
      [8 * 8, 150, 16],
    ],
    dense: [256, 120, 84, 10],
    loss: "softmaxCrossEntropy",
    batch: 64,
    learningRate: 0.02,
    chunkMs: QUICK ? 300 : 1000,
    skip: {
      reference: "no hand-written convolution",
      "tfjs-wasm": "TF.js wasm has no Conv2DBackpropFilter kernel: it cannot train a convolution",
    },
  },
};
const PEERS = ["gradgen", "gradgen-js", "reference", "tfjs-cpu", "tfjs-wasm", "jax-js"];
const PEER_LABEL = {
  gradgen: "gradgen (auto)",
  "gradgen-js": "gradgen (js)",
  reference: "hand-written JS",
  "tfjs-cpu": "TF.js cpu",
  "tfjs-wasm": "TF.js wasm",
  "jax-js": "jax-js wasm (jit)",
};
/** The issue's targets: peer ms / gradgen ms at least this much. */
const TARGETS = [
  { model: "xor", peer: "tfjs-cpu", ratio: 100 },
  { model: "small", peer: "jax-js", ratio: 2 },
  { model: "mnist", peer: "jax-js", ratio: 1.2 },
  { model: "wide", peer: "jax-js", ratio: 1.2 },
  { model: "cnn", peer: "jax-js", ratio: 40 },
];
/** The issue's absolute targets: gradgen (auto) ms/step at most this much. */
const MS_TARGETS = [{ model: "cnn", ms: 10 }];
const PARAM_SEED = 7;
const DATA_SEED = 12345;
const BATCHES = 4; // distinct random batches per model, cycled
const CHECK_STEPS = 3;
const CHECK_TOLERANCE = 1e-4;

// ---------------------------------------------------------------------------------------------
// Helpers.

const fmtMs = (ms) =>
  ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms >= 0.01 ? ms.toFixed(3) : ms.toPrecision(2);
const fmtRatio = (r) => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2));
const fmtGflops = (g) => (g >= 10 ? g.toFixed(1) : g >= 0.1 ? g.toFixed(2) : g.toPrecision(2));

/** FLOPs of one step's matrix products (see the header). */
function stepFlops({ sizes, batch, convolutions, dense }) {
  if (convolutions) {
    let flops = 0;
    convolutions.forEach(([positions, k, o], i) => (flops += 2 * batch * positions * k * o * (i === 0 ? 2 : 3)));
    for (let l = 1; l < dense.length; l++) flops += 2 * batch * dense[l - 1] * dense[l] * 3;
    return flops;
  }
  let flops = 0;
  for (let l = 1; l < sizes.length; l++) {
    const mnk = 2 * batch * sizes[l - 1] * sizes[l];
    flops += mnk * (l === 1 ? 2 : 3);
  }
  return flops;
}

function makeBatches(name, config) {
  if (name === "xor") return [{ x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) }];
  const random = createRandom(DATA_SEED);
  const inputs = config.sizes[0],
    classes = config.sizes.at(-1);
  return Array.from({ length: BATCHES }, () => {
    const x = new Float32Array(config.batch * inputs);
    const label = new Float32Array(config.batch * classes);
    for (let i = 0; i < x.length; i++) x[i] = random();
    for (let e = 0; e < config.batch; e++) label[e * classes + Math.floor(random() * classes)] = 1;
    return { x, label };
  });
}

// ---------------------------------------------------------------------------------------------
// GC observation (as in step-speed.mjs).

const gcEntries = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcEntries.push(e.startTime);
});
gcObserver.observe({ entryTypes: ["gc"] });
function flushGc() {
  for (const e of gcObserver.takeRecords?.() ?? []) gcEntries.push(e.startTime);
}
async function gcsBetween(t0, t1) {
  await settle();
  flushGc();
  let count = 0;
  for (const start of gcEntries) if (start >= t0 && start <= t1) count++;
  return count;
}
/** Wait until no GC has been reported for 100 ms (at most ~1 s): others' garbage is not charged to an allocation-free peer. */
async function quiesce() {
  for (let tries = 0; tries < 10; tries++) {
    await settle();
    flushGc();
    const before = gcEntries.length;
    await sleep(100);
    await settle();
    flushGc();
    if (gcEntries.length === before) return;
  }
}

// ---------------------------------------------------------------------------------------------
// gradgen: compile every model in-process with the freshly built compiler.

async function compileTrainers(names) {
  if (!existsSync(path.join(root, "dist/cli/load-model.js")))
    throw new Error("dist/ is missing: run `npm run build` first (npm run bench:peers does).");
  const { importTypeScript, loadModel } = await import(pathToFileURL(path.join(root, "dist/cli/load-model.js")).href);
  const { compile } = await import(pathToFileURL(path.join(root, "dist/index.js")).href);
  const directory = mkdtempSync(path.join(tmpdir(), "gradgen-peers-"));
  const modules = {};
  try {
    for (const name of names) {
      const config = MODELS[name];
      const definition = await loadModel(path.join(root, config.source));
      const started = performance.now();
      const { files } = compile(definition, {
        batch: config.batch,
        dtype: "f32",
        learningRate: config.learningRate,
        source: config.source,
      });
      const compileMs = performance.now() - started;
      const file = files.find((f) => f.path === `${config.module}.ts`) ?? files[0];
      // One module instance per trainer: V8 specialises a closure's optimised code to its context (the
      // buffers a trainer's functions close over) only while its function literal has made one closure,
      // so a second trainer from the same module instance de-specialises both (measured: the LeNet step
      // 8.9 → 12.1 ms/step with a second trainer in the process). A user's one trainer is what is timed.
      const instances = {};
      for (const role of ["seed", "auto", "js"]) {
        const target = path.join(directory, role, file.path);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, file.contents);
        instances[role] = await importTypeScript(target, "generated trainer");
      }
      modules[name] = {
        module: instances.auto,
        instances,
        compileMs,
        lines: file.contents.split("\n").length,
      };
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return modules;
}

// ---------------------------------------------------------------------------------------------
// Peers. Each: { step(i) → loss of batch i mod count, run(steps), before?(), dispose?(), allocationFree }.

const sink = new Float64Array(1);

/**
 * The timed loop of an allocation-free peer, compiled afresh for each peer: closures made from one
 * function literal share V8's feedback and optimized code, so one shared loop would see every
 * model's step function, stop inlining it and box its returned double (a heap allocation per step).
 * A loop of its own keeps each call monomorphic, as in an application with one trainer.
 */
function makeLoop(trainer, batches) {
  // eslint-disable-next-line no-new-func
  return new Function(
    "trainer",
    "batches",
    "sink",
    [
      "return function runChunk(steps) {",
      "  const count = batches.length;",
      "  let sum = 0;",
      "  for (let i = 0; i < steps; i++) sum += trainer.step(batches[i % count]);",
      "  sink[0] = sum;",
      "};",
    ].join("\n"),
  )(trainer, batches, sink);
}

/**
 * Bytes the JS heap allocates per step inside runChunk, by V8's sampling heap profiler over `steps`
 * more steps (after the timed rounds, so it cannot disturb them). Heap-size deltas would also count
 * code objects made by the optimizing compiler.
 */
async function sampleAllocation(run, steps) {
  const session = new Session();
  session.connect();
  try {
    await session.post("HeapProfiler.startSampling", { samplingInterval: 64 });
    run(steps);
    const { profile } = await session.post("HeapProfiler.stopSampling");
    let bytes = 0;
    (function walk(node, inside) {
      const here = inside || node.callFrame.functionName === "runChunk";
      if (here) bytes += node.selfSize;
      for (const child of node.children) walk(child, here);
    })(profile.head, false);
    return bytes / steps;
  } finally {
    session.disconnect();
  }
}

function gradgenPeer(createTrainer, backend, initial, batches) {
  const trainer = createTrainer({ seed: PARAM_SEED, backend, params: initial });
  const count = batches.length;
  return {
    allocationFree: true,
    backend: trainer.backend,
    step: (i) => trainer.step(batches[i % count]),
    run: makeLoop(trainer, batches),
  };
}

function referencePeer(config, initial, batches) {
  const trainer = createReferenceTrainer({
    sizes: config.sizes,
    hidden: config.hidden,
    loss: config.loss,
    batch: config.batch,
    learningRate: config.learningRate,
    params: initial,
  });
  const count = batches.length;
  return {
    allocationFree: true,
    step: (i) => trainer.step(batches[i % count]),
    run: makeLoop(trainer, batches),
  };
}

let tfVariableCounter = 0;
async function tfjsPeer(tf, backend, config, initial, batches) {
  await tf.setBackend(backend);
  const L = config.sizes.length - 1;
  const W = [],
    b = [];
  for (let l = 1; l <= L; l++) {
    W[l] = tf.variable(
      tf.tensor2d(initial[`W${l}`], [config.sizes[l - 1], config.sizes[l]], "float32"),
      true,
      `W${l}_${++tfVariableCounter}`,
    );
    b[l] = tf.variable(tf.tensor1d(initial[`b${l}`], "float32"), true, `b${l}_${tfVariableCounter}`);
  }
  const varList = [...W.slice(1), ...b.slice(1)];
  const optimizer = tf.train.sgd(config.learningRate);
  const inputs = config.sizes[0],
    outputs = config.sizes.at(-1);
  const data = batches.map((batch) => ({
    x: tf.tensor2d(batch.x, [batch.x.length / inputs, inputs]),
    target: tf.tensor2d(batch.label ?? batch.t, [(batch.label ?? batch.t).length / outputs, outputs]),
  }));
  const act = config.hidden === "sigmoid" ? tf.sigmoid : tf.relu;
  const closures = data.map(({ x, target }) => () => {
    let h = x;
    for (let l = 1; l < L; l++) h = act(tf.add(tf.matMul(h, W[l]), b[l]));
    const z = tf.add(tf.matMul(h, W[L]), b[L]);
    if (config.loss === "softmaxCrossEntropy") return tf.losses.softmaxCrossEntropy(target, z); // mean over the batch
    return tf.mul(tf.sum(tf.square(tf.sub(tf.sigmoid(z), target))), 0.5 / config.batch);
  });
  const count = closures.length;
  const step = (i) => tf.tidy(() => optimizer.minimize(closures[i % count], true, varList).dataSync()[0]);
  return {
    allocationFree: false,
    before: () => tf.setBackend(backend),
    step,
    run(steps) {
      let sum = 0;
      for (let i = 0; i < steps; i++) sum += step(i);
      sink[0] = sum;
    },
    tensors: () => tf.memory().numTensors,
    dispose() {
      tf.dispose([...varList, ...data.flatMap((d) => [d.x, d.target])]);
      optimizer.dispose();
    },
  };
}

function jaxPeer(jax, config, initial, batches) {
  const { jit, valueAndGrad, numpy: np, nn, tree } = jax;
  const L = config.sizes.length - 1;
  const scale = 1 / config.batch;
  // jax-js arrays are reference-counted and every function consumes its arguments: `.ref` keeps one alive.
  function lossOf(p, x, t) {
    let h = x;
    for (let l = 1; l < L; l++) {
      const z = np.matmul(h, p[`W${l}`].ref).add(p[`b${l}`].ref);
      h = config.hidden === "sigmoid" ? nn.sigmoid(z) : nn.relu(z);
    }
    const z = np.matmul(h, p[`W${L}`].ref).add(p[`b${L}`].ref);
    const loss =
      config.loss === "softmaxCrossEntropy"
        ? nn.logSoftmax(z, -1).mul(t).sum().mul(-scale)
        : np
            .square(nn.sigmoid(z).sub(t))
            .sum()
            .mul(0.5 * scale);
    for (const key of Object.keys(p)) p[key].dispose();
    return loss;
  }
  const rate = config.learningRate;
  const trainStep = jit((p, x, t) => {
    const [loss, grads] = valueAndGrad(lossOf)(tree.ref(p), x, t);
    return [tree.map((w, g) => w.sub(g.mul(rate)), p, grads), loss];
  });
  let params = {};
  for (let l = 1; l <= L; l++) {
    params[`W${l}`] = np.array(Float32Array.from(initial[`W${l}`])).reshape([config.sizes[l - 1], config.sizes[l]]);
    params[`b${l}`] = np.array(Float32Array.from(initial[`b${l}`]));
  }
  const inputs = config.sizes[0],
    outputs = config.sizes.at(-1);
  const data = batches.map((batch) => ({
    x: np.array(batch.x).reshape([batch.x.length / inputs, inputs]),
    t: np.array(batch.label ?? batch.t).reshape([(batch.label ?? batch.t).length / outputs, outputs]),
  }));
  const count = data.length;
  const step = (i) => {
    const { x, t } = data[i % count];
    const [next, loss] = trainStep(params, x.ref, t.ref);
    params = next;
    return loss.dataSync()[0]; // dataSync consumes the loss array
  };
  return {
    allocationFree: false,
    step,
    run(steps) {
      let sum = 0;
      for (let i = 0; i < steps; i++) sum += step(i);
      sink[0] = sum;
    },
    dispose() {
      tree.dispose(params);
      for (const d of data) {
        d.x.dispose();
        d.t.dispose();
      }
      trainStep.dispose?.();
    },
  };
}

/** bench/models/cnn.ts in TF.js: NHWC (TF.js's layout; one input channel, so the same bytes), filters [kh, kw, C, O]. */
async function tfjsLeNetPeer(tf, backend, config, initial, batches) {
  await tf.setBackend(backend);
  const n = ++tfVariableCounter;
  const variable = (name, tensor) => tf.variable(tensor, true, `${name}_${n}`);
  const filters = (name, shape) => variable(name, tf.transpose(tf.tensor4d(initial[name], shape), [2, 3, 1, 0]));
  const p = {
    K1: filters("K1", [6, 1, 5, 5]),
    c1: variable("c1", tf.tensor1d(initial.c1)),
    K2: filters("K2", [16, 6, 5, 5]),
    c2: variable("c2", tf.tensor1d(initial.c2)),
  };
  for (let l = 3; l <= 5; l++) {
    p[`W${l}`] = variable(`W${l}`, tf.tensor2d(initial[`W${l}`], [config.dense[l - 3], config.dense[l - 2]]));
    p[`b${l}`] = variable(`b${l}`, tf.tensor1d(initial[`b${l}`]));
  }
  const varList = Object.values(p);
  const optimizer = tf.train.sgd(config.learningRate);
  const data = batches.map((batch) => ({
    x: tf.tensor4d(batch.x, [config.batch, 28, 28, 1]),
    target: tf.tensor2d(batch.label, [config.batch, 10]),
  }));
  const closures = data.map(({ x, target }) => () => {
    const pool = (h) => tf.maxPool(h, 2, 2, "valid");
    const h1 = pool(tf.relu(tf.add(tf.conv2d(x, p.K1, 1, "valid"), p.c1)));
    const h2 = pool(tf.relu(tf.add(tf.conv2d(h1, p.K2, 1, "valid"), p.c2))); // [N, 4, 4, 16]
    const flat = tf.reshape(tf.transpose(h2, [0, 3, 1, 2]), [config.batch, 256]); // gradgen's [16, 4, 4] order
    const h3 = tf.relu(tf.add(tf.matMul(flat, p.W3), p.b3));
    const h4 = tf.relu(tf.add(tf.matMul(h3, p.W4), p.b4));
    return tf.losses.softmaxCrossEntropy(target, tf.add(tf.matMul(h4, p.W5), p.b5));
  });
  const step = (i) => tf.tidy(() => optimizer.minimize(closures[i % closures.length], true, varList).dataSync()[0]);
  return {
    allocationFree: false,
    before: () => tf.setBackend(backend),
    step,
    run(steps) {
      let sum = 0;
      for (let i = 0; i < steps; i++) sum += step(i);
      sink[0] = sum;
    },
    dispose() {
      tf.dispose([...varList, ...data.flatMap((d) => [d.x, d.target])]);
      optimizer.dispose();
    },
  };
}

/** bench/models/cnn.ts in jax-js: NCHW as gradgen, lax.conv, 2×2 max pooling as a reshape and a max. */
function jaxLeNetPeer(jax, config, initial, batches) {
  const { jit, valueAndGrad, numpy: np, nn, lax, tree } = jax;
  const N = config.batch;
  const pool = (h, c, size) => np.max(h.reshape([N, c, size / 2, 2, size / 2, 2]), [3, 5]);
  function lossOf(p, x, t) {
    const h1 = pool(nn.relu(lax.conv(x, p.K1.ref, [1, 1], "VALID").add(p.c1.ref)), 6, 24);
    const h2 = pool(nn.relu(lax.conv(h1, p.K2.ref, [1, 1], "VALID").add(p.c2.ref)), 16, 8);
    const h3 = nn.relu(np.matmul(h2.reshape([N, 256]), p.W3.ref).add(p.b3.ref));
    const h4 = nn.relu(np.matmul(h3, p.W4.ref).add(p.b4.ref));
    const z = np.matmul(h4, p.W5.ref).add(p.b5.ref);
    const loss = nn
      .logSoftmax(z, -1)
      .mul(t)
      .sum()
      .mul(-1 / N);
    for (const key of Object.keys(p)) p[key].dispose();
    return loss;
  }
  const rate = config.learningRate;
  const trainStep = jit((p, x, t) => {
    const [loss, grads] = valueAndGrad(lossOf)(tree.ref(p), x, t);
    return [tree.map((w, g) => w.sub(g.mul(rate)), p, grads), loss];
  });
  const shapes = { K1: [6, 1, 5, 5], c1: [6, 1, 1], K2: [16, 6, 5, 5], c2: [16, 1, 1] };
  for (let l = 3; l <= 5; l++) {
    shapes[`W${l}`] = [config.dense[l - 3], config.dense[l - 2]];
    shapes[`b${l}`] = [config.dense[l - 2]];
  }
  let params = Object.fromEntries(
    Object.entries(shapes).map(([k, shape]) => [k, np.array(Float32Array.from(initial[k])).reshape(shape)]),
  );
  const data = batches.map((batch) => ({
    x: np.array(batch.x).reshape([N, 1, 28, 28]),
    t: np.array(batch.label).reshape([N, 10]),
  }));
  const step = (i) => {
    const { x, t } = data[i % data.length];
    const [next, loss] = trainStep(params, x.ref, t.ref);
    params = next;
    return loss.dataSync()[0];
  };
  return {
    allocationFree: false,
    step,
    run(steps) {
      let sum = 0;
      for (let i = 0; i < steps; i++) sum += step(i);
      sink[0] = sum;
    },
    dispose() {
      tree.dispose(params);
      for (const d of data) {
        d.x.dispose();
        d.t.dispose();
      }
      trainStep.dispose?.();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One model: build every peer, cross-check the first losses, warm up, interleave timed chunks.

async function benchModel(name, instances, libs) {
  const config = MODELS[name];
  const batches = makeBatches(name, config);
  const flops = stepFlops(config);
  const seedTrainer = instances.seed.createTrainer({ seed: PARAM_SEED, backend: "js" });
  const initial = Object.fromEntries(Object.entries(seedTrainer.params).map(([k, v]) => [k, Float32Array.from(v)]));

  const ran = PEERS.filter((p) => !config.skip?.[p]);
  const peers = {};
  const convolutional = config.convolutions !== undefined;
  peers.gradgen = gradgenPeer(instances.auto.createTrainer, "auto", initial, batches);
  peers["gradgen-js"] = gradgenPeer(instances.js.createTrainer, "js", initial, batches);
  if (ran.includes("reference")) peers.reference = referencePeer(config, initial, batches);
  const tfjs = convolutional ? tfjsLeNetPeer : tfjsPeer;
  peers["tfjs-cpu"] = await tfjs(libs.tf, "cpu", config, initial, batches);
  if (ran.includes("tfjs-wasm")) peers["tfjs-wasm"] = await tfjs(libs.tf, "wasm", config, initial, batches);
  peers["jax-js"] = (convolutional ? jaxLeNetPeer : jaxPeer)(libs.jax, config, initial, batches);

  // Cross-check: the first CHECK_STEPS losses of every peer against gradgen's.
  const losses = {};
  for (const peer of ran) {
    await peers[peer].before?.();
    losses[peer] = Array.from({ length: CHECK_STEPS }, (_, i) => peers[peer].step(i));
  }
  const check = {};
  for (const peer of ran) {
    let worst = 0;
    for (let i = 0; i < CHECK_STEPS; i++)
      worst = Math.max(
        worst,
        Math.abs(losses[peer][i] - losses.gradgen[i]) / Math.max(1e-6, Math.abs(losses.gradgen[i])),
      );
    check[peer] = {
      losses: losses[peer],
      worstRelativeDifference: worst,
      ok: worst < CHECK_TOLERANCE && losses[peer].every(Number.isFinite),
    };
  }
  const failed = ran.filter((p) => !check[p].ok);
  console.log(
    `  ${name}: first ${CHECK_STEPS} losses ${losses.gradgen.map((l) => l.toFixed(5)).join(", ")}; every peer agrees: ${failed.length === 0 ? "yes" : `NO (${failed.map((p) => `${PEER_LABEL[p]} ${check[p].worstRelativeDifference.toExponential(1)}`).join(", ")})`}; worst relative difference ${Math.max(...ran.map((p) => check[p].worstRelativeDifference)).toExponential(1)}`,
  );

  // Warm-up: at least two chunks' worth per peer (at least 3 steps), which also sizes the chunks, and
  // up to WARM_STEPS steps or WARM_MS, whichever comes first: V8 tiers a large step function up after
  // ~1,000 calls or more (the LeNet trainer, 2,000 lines: 300 steps in, 57 GCs per 1,000 steps and
  // 9.5 ms/step on Node 20; 3,000 steps in, 3 GCs and 8.5 ms), and every peer gets the same allowance.
  const stepsPerChunk = {};
  for (const peer of ran) {
    await peers[peer].before?.();
    let steps = 3,
      elapsed = 0,
      done = 0;
    while (elapsed < 2 * config.chunkMs || (done < WARM_STEPS && elapsed < WARM_MS)) {
      const t0 = performance.now();
      peers[peer].run(steps);
      elapsed += performance.now() - t0;
      done += steps;
      steps = Math.min(steps * 2, 256); // small runs, so the WARM_MS cap is not overshot by much
    }
    stepsPerChunk[peer] = Math.max(1, Math.round(config.chunkMs / (elapsed / done)));
  }
  const tensorsBefore = libs.tf.memory().numTensors;

  const timing = Object.fromEntries(ran.map((p) => [p, { chunks: [], gcs: 0, steps: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = ran.map((_, i) => ran[(i + round) % ran.length]);
    for (const peer of order) {
      const p = peers[peer];
      if (p.allocationFree) await quiesce();
      else await settle();
      await p.before?.();
      const steps = stepsPerChunk[peer];
      const t0 = performance.now();
      p.run(steps);
      const t1 = performance.now();
      timing[peer].chunks.push((t1 - t0) / steps);
      timing[peer].steps += steps;
      timing[peer].gcs += await gcsBetween(t0, t1);
    }
    process.stdout.write(
      `  ${name}: round ${round + 1}/${ROUNDS}: ${ran.map((p) => `${PEER_LABEL[p]} ${fmtMs(timing[p].chunks.at(-1))}`).join(", ")} ms/step\n`,
    );
  }
  const tensorsLeaked = libs.tf.memory().numTensors - tensorsBefore;
  const heapBytesPerStep = {};
  // The smaller of two sampled chunks: a one-off allocation (V8 tiering up a function) is not per step.
  for (const peer of ran) {
    if (!peers[peer].allocationFree) continue;
    const steps = stepsPerChunk[peer];
    heapBytesPerStep[peer] = Math.min(
      await sampleAllocation(peers[peer].run, steps),
      await sampleAllocation(peers[peer].run, steps),
    );
  }
  for (const peer of ["tfjs-cpu", "tfjs-wasm", "jax-js"]) peers[peer]?.dispose();

  const gradgenMs = median(timing.gradgen.chunks);
  const rows = {};
  for (const peer of ran) {
    const t = timing[peer];
    const ms = median(t.chunks);
    rows[peer] = {
      peer,
      label: peer === "gradgen" ? `gradgen (auto → ${peers.gradgen.backend})` : PEER_LABEL[peer],
      msPerStep: ms,
      minMsPerStep: Math.min(...t.chunks),
      maxMsPerStep: Math.max(...t.chunks),
      chunkMsPerStep: t.chunks,
      stepsPerChunk: stepsPerChunk[peer],
      timedSteps: t.steps,
      gflops: flops / (ms * 1e6),
      gcs: t.gcs,
      gcsPer1000Steps: (t.gcs / t.steps) * 1000,
      ...(peer in heapBytesPerStep ? { sampledHeapBytesPerStep: heapBytesPerStep[peer] } : {}),
      ratioToGradgen: ms / gradgenMs,
      firstLosses: check[peer].losses,
      lossesAgree: check[peer].ok,
      worstRelativeLossDifference: check[peer].worstRelativeDifference,
      ...(peers[peer].backend ? { backend: peers[peer].backend } : {}),
    };
  }
  return {
    model: name,
    ...(config.describe ? { describe: config.describe, skipped: config.skip } : {}),
    batch: config.batch,
    sizes: config.sizes,
    hidden: config.hidden,
    loss: config.loss,
    learningRate: config.learningRate,
    source: config.source,
    flopsPerStep: flops,
    tfjsTensorsLeaked: tensorsLeaked,
    peers: rows,
  };
}

// ---------------------------------------------------------------------------------------------

const started = performance.now();
const version = (pkg) => {
  try {
    return JSON.parse(readFileSync(path.join(root, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
};
const machine = {
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? "cpu",
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  loadAverageAtStart: loadavg(),
};
console.log(
  `peers: Node ${machine.node}, ${machine.cpus} × ${machine.cpu}, load ${machine.loadAverageAtStart.map((l) => l.toFixed(2)).join(" ")}; models ${SELECTED.join(", ")}; ${ROUNDS} rounds${QUICK ? " (--quick: figures only indicative)" : ""}`,
);

const trainers = await compileTrainers(SELECTED);
for (const name of SELECTED)
  console.log(
    `  ${name}: gradgen trainer compiled from ${MODELS[name].source} in ${trainers[name].compileMs.toFixed(0)} ms (${trainers[name].lines} lines)`,
  );
const tf = await loadTfjs();
tf.enableProdMode();
const jax = await import("@jax-js/jax");
const devices = await jax.init("wasm"); // plain init() fails under Node ("navigator is not defined")
jax.defaultDevice("wasm");
const versions = {
  "@tensorflow/tfjs-core": tf.version_core,
  "@tensorflow/tfjs-backend-wasm": version("@tensorflow/tfjs-backend-wasm"),
  tfjsWasmBinary: await tfjsWasmFlavour(tf),
  "@jax-js/jax": version("@jax-js/jax"),
  jaxDevices: devices,
};
console.log(
  `  TF.js ${versions["@tensorflow/tfjs-core"]} (cpu; wasm ${versions.tfjsWasmBinary} binary), jax-js ${versions["@jax-js/jax"]} (devices ${devices.join(", ")}; using wasm)`,
);

const results = [];
for (const name of SELECTED) {
  results.push(await benchModel(name, trainers[name].instances, { tf, jax }));
}
gcObserver.disconnect();

// Table: one row per model and peer.
const header = [
  "model (batch)",
  "peer",
  "ms/step",
  "min–max of chunks",
  "GFLOP/s",
  "GCs / 1,000 steps",
  "peer / gradgen",
];
const tableRows = [];
for (const r of results) {
  for (const peer of PEERS) {
    const row = r.peers[peer];
    if (!row) {
      tableRows.push([`${r.model} ${r.describe} (${r.batch})`, PEER_LABEL[peer], "—", r.skipped[peer], "", "", ""]);
      continue;
    }
    tableRows.push([
      `${r.model} ${r.describe ?? r.sizes.join("-")} (${r.batch})`,
      row.label,
      fmtMs(row.msPerStep),
      `${fmtMs(row.minMsPerStep)}–${fmtMs(row.maxMsPerStep)}`,
      fmtGflops(row.gflops),
      row.gcsPer1000Steps === 0
        ? "0"
        : row.gcsPer1000Steps >= 10
          ? row.gcsPer1000Steps.toFixed(0)
          : row.gcsPer1000Steps.toFixed(2),
      peer === "gradgen" ? "1" : `${fmtRatio(row.ratioToGradgen)}×`,
    ]);
  }
}
const widths = header.map((h, i) => Math.max(h.length, ...tableRows.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log("");
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of tableRows) console.log(line(row));
// The same as a models × peers matrix (ms/step, peer/gradgen in parentheses).
console.log("");
const matrixHeader = ["model (batch)", ...PEERS.map((p) => PEER_LABEL[p])];
const matrix = results.map((r) => [
  `${r.model} (${r.batch})`,
  ...PEERS.map((p) =>
    !r.peers[p]
      ? "—"
      : `${fmtMs(r.peers[p].msPerStep)}${p === "gradgen" ? (r.peers.gradgen.backend === "wasm" ? "" : ` [${r.peers.gradgen.backend}]`) : ` (${fmtRatio(r.peers[p].ratioToGradgen)}×)`}`,
  ),
]);
const mWidths = matrixHeader.map((h, i) => Math.max(h.length, ...matrix.map((row) => row[i].length)));
const mLine = (cells) => `| ${cells.map((c, i) => c.padEnd(mWidths[i])).join(" | ")} |`;
console.log(mLine(matrixHeader));
console.log(`|${mWidths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of matrix) console.log(mLine(row));
console.log(
  `\nHeap allocation inside the timed loop (sampled, the smaller of two more chunks): ${results
    .map(
      (r) =>
        `${r.model} ${PEERS.filter((p) => r.peers[p]?.sampledHeapBytesPerStep !== undefined)
          .map((p) => `${r.peers[p].label} ${r.peers[p].sampledHeapBytesPerStep.toFixed(1)}`)
          .join(", ")}`,
    )
    .join("; ")} B/step.`,
);
console.log(
  `GFLOP/s: 2·m·n·k per product — forward of every layer, aᵀ·δ of every layer, δ·Wᵀ of every layer but the first; per step: ${results.map((r) => `${r.model} ${(r.flopsPerStep / 1e6).toPrecision(3)} MFLOP`).join(", ")}.`,
);

// Targets.
const checks = [];
for (const target of TARGETS) {
  const r = results.find((x) => x.model === target.model);
  if (!r) continue;
  const ratio = r.peers[target.peer].ratioToGradgen;
  checks.push({
    what: `${target.model}: ${PEER_LABEL[target.peer]} / gradgen ≥ ${target.ratio}`,
    measured: `${fmtRatio(ratio)}×`,
    ok: ratio >= target.ratio,
    shortBy: ratio >= target.ratio ? 0 : target.ratio / ratio,
  });
}
for (const target of MS_TARGETS) {
  const r = results.find((x) => x.model === target.model);
  if (!r) continue;
  const ms = r.peers.gradgen.msPerStep;
  checks.push({
    what: `${target.model}: gradgen ≤ ${target.ms} ms/step`,
    measured: `${fmtMs(ms)} ms/step`,
    ok: ms <= target.ms,
    shortBy: ms <= target.ms ? 0 : ms / target.ms,
  });
}
for (const r of results) {
  for (const peer of ["gradgen", "gradgen-js"]) {
    const row = r.peers[peer];
    checks.push({
      what: `${r.model}: 0 GCs in ${PEER_LABEL[peer]}'s timed steps`,
      measured: `${row.gcs} in ${row.timedSteps.toLocaleString("en-US")} steps`,
      ok: row.gcs === 0,
    });
  }
}
for (const r of results) {
  const ran = PEERS.filter((p) => r.peers[p]);
  const bad = ran.filter((p) => !r.peers[p].lossesAgree);
  checks.push({
    what: `${r.model}: every peer's first ${CHECK_STEPS} losses agree with gradgen's (relative < ${CHECK_TOLERANCE})`,
    measured: `worst ${Math.max(...ran.map((p) => r.peers[p].worstRelativeLossDifference)).toExponential(1)}${bad.length ? `; disagree: ${bad.join(", ")}` : ""}`,
    ok: bad.length === 0,
  });
}
const fastest = results.map((r) => {
  const best = PEERS.filter((p) => p !== "gradgen-js" && r.peers[p]).reduce((a, b) =>
    r.peers[b].msPerStep < r.peers[a].msPerStep ? b : a,
  );
  return {
    what: `${r.model}: gradgen is faster than every other peer`,
    measured:
      best === "gradgen"
        ? "yes"
        : `no: ${PEER_LABEL[best]} ${fmtMs(r.peers[best].msPerStep)} vs ${fmtMs(r.peers.gradgen.msPerStep)} ms/step`,
    ok: best === "gradgen",
  };
});
checks.push(...fastest);
console.log("\nTargets:");
for (const c of checks)
  console.log(
    `  ${c.ok ? "met   " : "MISSED"}  ${c.what} (measured ${c.measured}${c.shortBy ? `; gradgen would need to be ${c.shortBy.toFixed(2)}× faster` : ""})`,
  );
const allMet = checks.every((c) => c.ok);
console.log(allMet ? "All targets met." : `MISSED: ${checks.filter((c) => !c.ok).length} of ${checks.length} targets.`);
const totalSeconds = (performance.now() - started) / 1000;
machine.loadAverageAtEnd = loadavg();
console.log(
  `Total ${totalSeconds.toFixed(0)} s; load average at the end ${machine.loadAverageAtEnd.map((l) => l.toFixed(2)).join(" ")}.`,
);

const output = {
  benchmark: "peers",
  date: new Date().toISOString(),
  quick: QUICK,
  partial: PARTIAL,
  rounds: ROUNDS,
  machine,
  versions,
  definitions: {
    step: "forward + backward + SGD update, float32, the mean loss read back to JavaScript",
    msPerStep: "median over interleaved timed chunks of the chunk's ms/step",
    gflops:
      "2·m·n·k per matrix product: forward of every layer, weight gradient of every layer, input gradient of every layer but the first",
    gcs: "PerformanceObserver 'gc' entries starting inside the peer's timed chunks",
    ratioToGradgen: "peer ms/step ÷ gradgen (backend auto) ms/step: how many times faster gradgen is",
    gradgenAuto:
      'backend "auto": the WebAssembly SIMD product where the model has a blocked product; xor\'s products are all straight-line code, so its trainer runs plain JS either way',
  },
  trainers: Object.fromEntries(
    SELECTED.map((n) => [n, { source: MODELS[n].source, compileMs: trainers[n].compileMs, lines: trainers[n].lines }]),
  ),
  results,
  targets: checks,
  allTargetsMet: allMet,
  totalSeconds,
};
const base = PARTIAL ? "peers.partial" : "peers";
mkdirSync(path.join(root, "bench/results"), { recursive: true });
writeFileSync(path.join(root, `bench/results/${base}.json`), `${JSON.stringify(output, null, 2)}\n`);
writeFileSync(
  path.join(root, `bench/results/${base}.svg`),
  barChartSvg({
    title: `Training step, float32: median ms/step (log scale; lower is better) — ${machine.cpus} × ${machine.cpu}, Node ${machine.node}${QUICK ? ", --quick" : ""}`,
    subtitle: "n× = the peer's time ÷ gradgen's: how many times faster gradgen is. One process, chunks interleaved.",
    groups: results.map((r) => ({
      title: `${r.model} ${r.describe ?? r.sizes.join("-")}, batch ${r.batch}`,
      bars: PEERS.filter((p) => r.peers[p]).map((p) => ({
        label: r.peers[p].label,
        value: r.peers[p].msPerStep,
        note:
          p === "gradgen"
            ? `${fmtMs(r.peers[p].msPerStep)} ms`
            : `${fmtMs(r.peers[p].msPerStep)} ms · ${fmtRatio(r.peers[p].ratioToGradgen)}×`,
      })),
    })),
    unit: "ms/step",
  }),
);
console.log(`Wrote bench/results/${base}.json and bench/results/${base}.svg`);
process.exit(0); // jax-js's and TF.js's wasm runtimes may keep handles open
