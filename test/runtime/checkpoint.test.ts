// Checkpoints: round trips, atomic writes, and clear refusals that leave the trainer untouched.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeCheckpoint, encodeCheckpoint, load, readCheckpointInfo, save } from "../../src/runtime/checkpoint.ts";
import { GradgenError } from "../../src/errors.ts";
import { createLinearTrainer, linearData, type LinearOptions } from "./linear-trainer.ts";

const dir = mkdtempSync(path.join(tmpdir(), "gradgen-checkpoint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options: LinearOptions = { features: 3, outputs: 2, batch: 8, dtype: "f32" };

function trained(extra: Partial<LinearOptions> = {}) {
  const trainer = createLinearTrainer({ ...options, ...extra });
  const { x, t } = linearData(8, extra.features ?? options.features, extra.outputs ?? options.outputs);
  const batch = { x: Float32Array.from(x), t: Float32Array.from(t) };
  for (let i = 0; i < 5; i++) trainer.step(batch);
  return { trainer, batch };
}

/** Copies of everything load() may change. */
function contents(trainer: ReturnType<typeof createLinearTrainer>) {
  return {
    params: Object.fromEntries(Object.entries(trainer.params).map(([k, v]) => [k, Array.from(v)])),
    state: Object.fromEntries(Object.entries(trainer.state.buffers).map(([k, v]) => [k, Array.from(v)])),
    step: trainer.state.step,
  };
}

describe("save and load", () => {
  it("round-trip parameters, optimizer state and step count; training continues identically", () => {
    const { trainer, batch } = trained();
    const file = path.join(dir, "linear.ckpt");
    const info = save(trainer, file);
    expect(info).toMatchObject({ model: "linear", structureHash: "linear-3-2-f32", dtype: "f32", optimizer: "momentum", step: 5 });
    expect(info.tensors.map((t) => `${t.group}:${t.name}[${t.shape.join(",")}]`)).toEqual(["param:W[3,2]", "param:b[2]", "state:W.v[6]", "state:b.v[2]"]);

    const fresh = createLinearTrainer({ ...options, seed: 99 });
    expect(contents(fresh)).not.toEqual(contents(trainer));
    expect(load(fresh, file)).toEqual(info);
    expect(contents(fresh)).toEqual(contents(trainer));
    expect(fresh.step(batch)).toBe(trainer.step(batch));
    expect(contents(fresh)).toEqual(contents(trainer));
    expect(readCheckpointInfo(file)).toEqual(info);
  });

  it("writes the header and raw little-endian values at the stated offsets", () => {
    const { trainer } = trained({ dtype: "f64" });
    const bytes = Buffer.from(encodeCheckpoint(trainer));
    expect(bytes.toString("latin1", 0, 8)).toBe("GGCKPT01");
    const headerLength = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.toString("utf8", 12, 12 + headerLength));
    const dataStart = Math.ceil((12 + headerLength) / 8) * 8;
    const b = header.tensors.find((t: { name: string }) => t.name === "b");
    expect(b.dtype).toBe("f64");
    expect(bytes.readDoubleLE(dataStart + b.offset + 8)).toBe(trainer.params.b[1]);
    expect(bytes.length).toBe(dataStart + header.dataBytes + 32);
  });

  it("is atomic: no temporary files remain and an existing checkpoint is replaced whole", () => {
    const file = path.join(dir, "atomic.ckpt");
    writeFileSync(file, "old contents");
    const { trainer } = trained();
    save(trainer, file);
    save(trainer, file);
    expect(readdirSync(dir).filter((f) => f.includes("atomic"))).toEqual(["atomic.ckpt"]);
    expect(readCheckpointInfo(file).step).toBe(5);
  });
});

describe("refusals leave the trainer untouched", () => {
  const { trainer: source } = trained();
  const good = Buffer.from(encodeCheckpoint(source));

  function refuse(bytes: Uint8Array, target = createLinearTrainer({ ...options, seed: 3 })): string {
    const before = contents(target);
    let message = "";
    try {
      decodeCheckpoint(target, bytes, "checkpoint test.ckpt");
    } catch (error) {
      expect(error).toBeInstanceOf(GradgenError);
      message = (error as Error).message;
    }
    expect(message).not.toBe("");
    expect(message).not.toContain("\n");
    expect(contents(target)).toEqual(before);
    return message;
  }

  it("a truncated file", () => {
    expect(refuse(good.subarray(0, good.length - 10))).toMatch(/checkpoint test\.ckpt: the file is truncated \(\d+ bytes of the \d+ its header announces\)/);
    expect(refuse(good.subarray(0, 30))).toMatch(/truncated/);
    expect(refuse(good.subarray(0, 5))).toMatch(/not a gradgen checkpoint/);
  });

  it("a flipped byte in the data, the checksum or the header", () => {
    for (const at of [good.length - 40, good.length - 1]) {
      const corrupt = Buffer.from(good);
      corrupt[at] ^= 0x10;
      expect(refuse(corrupt)).toMatch(/SHA-256 checksum does not match/);
    }
    const header = Buffer.from(good);
    header[20] ^= 0x01;
    expect(refuse(header)).toMatch(/corrupt/);
  });

  it("another model, another structure, other shapes, dtype or optimizer", () => {
    expect(refuse(good, createLinearTrainer({ ...options, model: "other" }))).toMatch(
      /into this trainer of model "other": it was saved from model "linear"\. A checkpoint loads only into a trainer compiled from the same model.*left unchanged\./,
    );
    expect(refuse(good, createLinearTrainer({ ...options, structureHash: "0123abcd" }))).toMatch(
      /its model structure hash linear-3-2-f32 differs from this trainer's 0123abcd/,
    );
    const shapes = refuse(good, createLinearTrainer({ ...options, features: 4, structureHash: "linear-3-2-f32" }));
    expect(shapes).toMatch(/parameter "W" has shape \[3, 2\] in the checkpoint, \[4, 2\] in the trainer/);
    expect(shapes).toMatch(/optimizer state "W.v" has shape \[6\] in the checkpoint, \[8\] in the trainer/);
    expect(refuse(good, createLinearTrainer({ ...options, dtype: "f64" }))).toMatch(/parameter "W" is f32 in the checkpoint, f64 in the trainer/);
    const sgd = createLinearTrainer(options);
    (sgd.spec as { optimizer: { kind: string; learningRate: number } }).optimizer = { kind: "sgd", learningRate: 0.1 };
    expect(refuse(good, sgd)).toMatch(/saved with optimizer momentum, this trainer uses sgd/);
  });

  it("a missing file or one that is not a checkpoint", () => {
    const target = createLinearTrainer(options);
    expect(() => load(target, path.join(dir, "missing.ckpt"))).toThrow(/Cannot read checkpoint .*missing\.ckpt: no such file/);
    const text = path.join(dir, "text.ckpt");
    writeFileSync(text, "{\"hello\": 1}");
    expect(() => load(target, text)).toThrow(/it is not a gradgen checkpoint/);
    expect(readFileSync(text, "utf8")).toBe("{\"hello\": 1}");
  });
});
