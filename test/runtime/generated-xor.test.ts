// The runtime on a real generated trainer: generated/xor.ts is a TrainerLike (tsc checks the
// assignment below), trains under fit() and round-trips through a checkpoint.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { createTrainer, type Trainer as XorTrainer } from "../../generated/xor.ts";
import type { TrainerLike } from "../../src/runtime/trainer.ts";
import { accuracy, fit, load, save } from "../../src/runtime/train.ts";

const asTrainerLike = (trainer: XorTrainer): TrainerLike => trainer;
const dir = mkdtempSync(path.join(tmpdir(), "gradgen-runtime-xor-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The four XOR cases, 8 times over, so that an epoch is 8 shuffled batches of 4.
const x = new Float32Array(64);
const t = new Float32Array(32);
for (let i = 0; i < 32; i++) {
  const a = i & 1;
  const b = (i >> 1) & 1;
  x.set([a, b], 2 * i);
  t[i] = a ^ b;
}

it("fit trains generated/xor.ts and a checkpoint restores it exactly", () => {
  const trainer = asTrainerLike(createTrainer({ seed: 1 }));
  const history = fit(
    trainer,
    { x, t },
    { epochs: 400, metrics: [accuracy({ output: "y", target: "t" })], progress: false },
  );
  expect(history.loss[399]).toBeLessThan(history.loss[0]! / 10);
  expect(history.metrics.accuracy![399]).toBe(1);

  const file = path.join(dir, "xor.ckpt");
  save(trainer, file);
  const other = asTrainerLike(createTrainer({ seed: 2 }));
  expect(Array.from(other.params.W1!)).not.toEqual(Array.from(trainer.params.W1!));
  expect(load(other, file).step).toBe(trainer.state.step);
  for (const name of Object.keys(trainer.params))
    expect(Array.from(other.params[name]!)).toEqual(Array.from(trainer.params[name]!));
  expect(other.state.step).toBe(3200);
  expect(Array.from(other.predict({ x }, 4).y!.subarray(0, 4))).toEqual(
    Array.from(trainer.predict({ x }, 4).y!.subarray(0, 4)),
  );
});
