// TensorFlow.js on its pure-JS cpu backend, gradients registered (the peer of bench/step-speed.mjs
// and an oracle in tests): the one bundle of ./tfjs.mjs, switched to "cpu".
import { loadTfjs } from "./tfjs.mjs";

export async function loadTfjsCpu() {
  const tf = await loadTfjs();
  if (!(await tf.setBackend("cpu"))) throw new Error("TF.js: the cpu backend did not initialise");
  return tf;
}
