import { createTrainer as createMlp } from "./generated/mlp.js";
import { createTrainer as createXor } from "./generated/xor.js";
const x = new Float32Array(64 * 784).map(() => Math.random());
const label = new Float32Array(64 * 10); for (let e = 0; e < 64; e++) label[e * 10 + (e % 10)] = 1;
const t = createMlp();
for (let r = 0; r < 5; r++) { const s = performance.now(); for (let i = 0; i < 50; i++) t.step({ x, label }); console.log("mlp ms/step", ((performance.now() - s) / 50).toFixed(3)); }
const xb = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) };
const xt = createXor();
for (let r = 0; r < 5; r++) { const s = performance.now(); for (let i = 0; i < 100000; i++) xt.step(xb); console.log("xor us/step", ((performance.now() - s) / 100).toFixed(3)); }
