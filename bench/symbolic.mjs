// Symbolic gradients where math.js's simplify does not scale: time and output size of gradgen's
// simplified, printed derivative next to math.js derivative() + simplify() in the same run.
// Usage: npm run build && node bench/symbolic.mjs [--timeout seconds]   (math.js gets 10 s per case by default)
import { Worker } from "node:worker_threads";
import { grad, nn, parse, symbols, symbol } from "../dist/index.js";

const timeoutArg = process.argv.indexOf("--timeout");
const timeoutS = timeoutArg > 0 ? Number(process.argv[timeoutArg + 1]) : 10;

function productTree(depth) {
  let tree = "w";
  for (let i = 0; i < depth; i++) tree = `(${tree})*(${tree})`;
  return tree;
}

function nestedSigmoids(n) {
  let e = "w";
  for (let i = 0; i < n; i++) e = `1/(1+exp(-(${e})))`;
  return e;
}

function mlp(sizes) {
  // scalar 2-8-8-1 sigmoid MLP as one string, and the same graph through the DSL
  let layer = sizes[0] === 2 ? ["x0", "x1"] : [];
  let tensors = symbols("x0 x1");
  let first;
  for (let l = 1; l < sizes.length; l++) {
    const next = [];
    const nextTensors = [];
    for (let j = 0; j < sizes[l]; j++) {
      let s = `b${l}_${j}`;
      let z = symbol(`b${l}_${j}`);
      for (let i = 0; i < sizes[l - 1]; i++) {
        s += ` + W${l}_${i}_${j}*(${layer[i]})`;
        const w = symbol(`W${l}_${i}_${j}`);
        first ??= w;
        z = z.add(w.mul(tensors[i]));
      }
      next.push(`1/(1+exp(-(${s})))`);
      nextTensors.push(nn.sigmoid(z));
    }
    layer = next;
    tensors = nextTensors;
  }
  return { text: layer[0], tensor: tensors[0], wrt: first };
}

function mathjsInWorker(expression, variable) {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const math = require("mathjs");
    const t0 = performance.now();
    const d = math.derivative(workerData.expression, workerData.variable, { simplify: false });
    const t1 = performance.now();
    const s = math.simplify(d);
    const t2 = performance.now();
    parentPort.postMessage({ derivativeMs: t1 - t0, simplifyMs: t2 - t1, size: s.toString().length, treeSize: d.toString().length });`;
  return new Promise((resolve) => {
    const worker = new Worker(code, { eval: true, workerData: { expression, variable } });
    const timer = setTimeout(() => {
      worker.terminate();
      resolve({ timedOut: true });
    }, timeoutS * 1000);
    worker.on("message", (m) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(m);
    });
    worker.on("error", (e) => {
      clearTimeout(timer);
      resolve({ error: e.message });
    });
  });
}

function gradgenCase(f, wrt) {
  const start = performance.now();
  const text = grad(f, wrt).toString();
  const ms = performance.now() - start;
  return { ms, size: text.length, lines: text.split("\n").length, text };
}

const [w] = symbols("w");
const cases = [];
{
  const text = productTree(5);
  cases.push({ name: "d/dw of w^32 as a product tree", text, variable: "w", f: () => parse(text), wrt: w });
}
{
  const m = mlp([2, 8, 8, 1]);
  cases.push({
    name: "d/dW1[0,0] of a 2-8-8-1 sigmoid MLP",
    text: m.text,
    variable: "W1_0_0",
    f: () => m.tensor,
    wrt: m.wrt,
  });
}
{
  const text = nestedSigmoids(10);
  let f = w;
  for (let i = 0; i < 10; i++) f = nn.sigmoid(f);
  cases.push({ name: "d/dw of 10 nested sigmoids", text, variable: "w", f: () => f, wrt: w });
}

{
  // the printer's scaling target: a 1,000-sigmoid chain prints (as a δ recurrence) in under a second
  let f = w;
  for (let i = 0; i < 1000; i++) f = nn.sigmoid(f);
  cases.push({ name: "d/dw of 1,000 nested sigmoids (target: under 1 s)", f: () => f, wrt: w, mathjs: false });
}

parse("x"); // load math.js once, outside the timings
console.log(
  `symbolic gradients: gradgen (simplify + print) vs math.js derivative + simplify (timeout ${timeoutS} s)\n`,
);
for (const c of cases) {
  const ours = gradgenCase(c.f(), c.wrt);
  const theirs = c.mathjs === false ? { skipped: true } : await mathjsInWorker(c.text, c.variable);
  const mathjs = theirs.skipped
    ? "not run (it does not finish at depth 10)"
    : theirs.timedOut
      ? `did not finish in ${timeoutS} s`
      : theirs.error
        ? `error: ${theirs.error}`
        : `${(theirs.derivativeMs + theirs.simplifyMs).toFixed(0)} ms, ${theirs.size} chars (unsimplified tree ${theirs.treeSize} chars)`;
  console.log(`${c.name}
  gradgen: ${ours.ms.toFixed(1)} ms, ${ours.size} chars in ${ours.lines} line(s)${ours.lines === 1 ? `: ${ours.text}` : ""}
  math.js: ${mathjs}
`);
}
