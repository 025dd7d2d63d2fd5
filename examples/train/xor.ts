// Train the generated XOR trainer: four examples, full batch, plain SGD.
import { createTrainer } from "../../generated/xor.js";

const batch = {
  x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]),
  t: new Float32Array([0, 1, 1, 0]),
};

const trainer = createTrainer({ seed: 1 });
let loss = trainer.loss(batch);
console.log(`step     0  loss ${loss.toFixed(6)}`);
for (let step = 1; step <= 5000; step++) {
  loss = trainer.step(batch);
  if (step % 500 === 0) console.log(`step ${String(step).padStart(5)}  loss ${loss.toFixed(6)}`);
}
const { y } = trainer.predict(batch);
console.log(`predictions for 00 01 10 11: ${Array.from(y, (v) => v.toFixed(3)).join(" ")}`);
