// Checkpoints: round trips, atomic writes, and clear refusals that leave the trainer untouched.
import { spawnSync } from "node:child_process";
import * as nodeFs from "node:fs";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { build } from "esbuild";
import {
  decodeCheckpoint,
  encodeCheckpoint,
  load,
  readCheckpointInfo,
  save,
  saveWith,
  type CheckpointFileSystem,
} from "../../src/runtime/checkpoint.ts";
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
    expect(info).toMatchObject({
      model: "linear",
      structureHash: "linear-3-2-f32",
      dtype: "f32",
      optimizer: "momentum",
      step: 5,
    });
    expect(info.tensors.map((t) => `${t.group}:${t.name}[${t.shape.join(",")}]`)).toEqual([
      "param:W[3,2]",
      "param:b[2]",
      "state:W.v[6]",
      "state:b.v[2]",
    ]);

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
    expect(bytes.readDoubleLE(dataStart + b.offset + 8)).toBe(trainer.params.b![1]);
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
    expect(refuse(good.subarray(0, good.length - 10))).toMatch(
      /checkpoint test\.ckpt: the file is truncated \(\d+ bytes of the \d+ its header announces\)/,
    );
    expect(refuse(good.subarray(0, 30))).toMatch(/truncated/);
    expect(refuse(good.subarray(0, 5))).toMatch(/not a gradgen checkpoint/);
  });

  it("a flipped byte in the data, the checksum or the header", () => {
    for (const at of [good.length - 40, good.length - 1]) {
      const corrupt = Buffer.from(good);
      corrupt[at]! ^= 0x10;
      expect(refuse(corrupt)).toMatch(/SHA-256 checksum does not match/);
    }
    const header = Buffer.from(good);
    header[20]! ^= 0x01;
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
    expect(refuse(good, createLinearTrainer({ ...options, dtype: "f64" }))).toMatch(
      /parameter "W" is f32 in the checkpoint, f64 in the trainer/,
    );
    const sgd = createLinearTrainer(options);
    (sgd.spec as { optimizer: { kind: string; learningRate: number } }).optimizer = { kind: "sgd", learningRate: 0.1 };
    expect(refuse(good, sgd)).toMatch(/saved with optimizer momentum, this trainer uses sgd/);
  });

  it("a missing file or one that is not a checkpoint", () => {
    const target = createLinearTrainer(options);
    expect(() => load(target, path.join(dir, "missing.ckpt"))).toThrow(
      /Cannot read checkpoint .*missing\.ckpt: no such file/,
    );
    const text = path.join(dir, "text.ckpt");
    writeFileSync(text, '{"hello": 1}');
    expect(() => load(target, text)).toThrow(/it is not a gradgen checkpoint/);
    expect(readFileSync(text, "utf8")).toBe('{"hello": 1}');
  });
});

describe("a save that fails part way leaves the previous checkpoint loadable", () => {
  const realFs: CheckpointFileSystem = {
    openSync: nodeFs.openSync,
    writeSync: nodeFs.writeSync,
    fsyncSync: nodeFs.fsyncSync,
    closeSync: nodeFs.closeSync,
    renameSync: nodeFs.renameSync,
    unlinkSync: nodeFs.unlinkSync,
    readdirSync: (directory) => nodeFs.readdirSync(directory),
  };
  const errno = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

  /** A directory holding one good checkpoint of a trainer after 5 steps, and a trainer that has moved on since. */
  function previousAndNewer(name: string) {
    const sub = mkdtempSync(path.join(dir, `${name}-`));
    const file = path.join(sub, `${name}.ckpt`);
    const { trainer, batch } = trained();
    save(trainer, file);
    const previous = contents(trainer);
    for (let i = 0; i < 3; i++) trainer.step(batch);
    expect(contents(trainer)).not.toEqual(previous);
    return { sub, file, trainer, previous };
  }

  /** What load() gives for `file`, read into a fresh trainer. */
  function loaded(file: string) {
    const fresh = createLinearTrainer({ ...options, seed: 42 });
    load(fresh, file);
    return contents(fresh);
  }

  it("a disk that fills up: the write is cut short, then fails with ENOSPC", () => {
    const { sub, file, trainer, previous } = previousAndNewer("full");
    let room = 100; // bytes left on the disk
    const full: CheckpointFileSystem = {
      ...realFs,
      writeSync(fd, buffer, offset, length, position) {
        if (room === 0) throw errno("ENOSPC");
        const count = Math.min(length, room); // as write(2) does: a short count first, the error on the next call
        room -= count;
        return realFs.writeSync(fd, buffer, offset, count, position);
      },
    };
    let thrown: unknown;
    try {
      saveWith(full, trainer, file);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GradgenError);
    expect((thrown as Error).message).toMatch(
      /^Cannot save checkpoint .*full\.ckpt: the disk is full \(ENOSPC\) after writing 100 of \d+ bytes\. The previous checkpoint .* was left as it was/,
    );
    expect(loaded(file)).toEqual(previous);
    expect(readdirSync(sub)).toEqual(["full.ckpt"]); // the temporary file is gone
  });

  it("writes that return short counts (as to a pipe or a slow device) are continued, not taken as complete", () => {
    const { sub, file, trainer } = previousAndNewer("short");
    const calls: number[] = [];
    const dribble: CheckpointFileSystem = {
      ...realFs,
      writeSync(fd, buffer, offset, length, position) {
        calls.push(length);
        return realFs.writeSync(fd, buffer, offset, Math.min(length, 7), position);
      },
    };
    saveWith(dribble, trainer, file);
    expect(calls.length).toBeGreaterThan(10);
    expect(loaded(file)).toEqual(contents(trainer));
    expect(readdirSync(sub)).toEqual(["short.ckpt"]);
  });

  it("a write that makes no progress, a failed fsync, a failed rename", () => {
    const failures: Partial<CheckpointFileSystem>[] = [
      { writeSync: () => 0 },
      {
        fsyncSync: () => {
          throw errno("EIO");
        },
      },
      {
        renameSync: () => {
          throw errno("EACCES");
        },
      },
    ];
    for (const failure of failures) {
      const { sub, file, trainer, previous } = previousAndNewer("fails");
      expect(() => saveWith({ ...realFs, ...failure }, trainer, file)).toThrow(
        /Cannot save checkpoint .*The previous checkpoint at that path, if any, was left as it was/,
      );
      expect(loaded(file)).toEqual(previous);
      expect(readdirSync(sub)).toEqual(["fails.ckpt"]);
    }
  });

  it.skipIf(process.platform === "win32")(
    "a real file-size limit (ulimit -f in a child process: writes past it fail with EFBIG)",
    async () => {
      // A checkpoint of about 200 KB; the child may write at most 64 blocks (of 512 or 1024 bytes, by shell) to any file.
      const big = { ...options, features: 3000, outputs: 8 };
      const sub = mkdtempSync(path.join(dir, "ulimit-"));
      const file = path.join(sub, "big.ckpt");
      const trainer = createLinearTrainer(big);
      save(trainer, file);
      const previous = contents(trainer);
      expect(readFileSync(file).length).toBeGreaterThan(128 * 1024);

      const script = path.join(sub, "child.mjs");
      await build({
        stdin: {
          contents: `
          import { save } from ${JSON.stringify(path.resolve(import.meta.dirname, "../../src/runtime/checkpoint.ts"))};
          import { createLinearTrainer } from ${JSON.stringify(path.resolve(import.meta.dirname, "linear-trainer.ts"))};
          const trainer = createLinearTrainer({ ...${JSON.stringify(big)}, seed: 5 });
          try { save(trainer, process.argv[2]); console.log("saved"); } catch (error) { console.log(error.name + ": " + error.message); }
        `,
          resolveDir: import.meta.dirname,
          loader: "ts",
        },
        bundle: true,
        platform: "node",
        format: "esm",
        outfile: script,
        logLevel: "silent",
      });
      // Node ignores SIGXFSZ itself, so the write past the limit returns a short count, then EFBIG.
      const child = spawnSync("/bin/sh", ["-c", `ulimit -f 64 && exec "${process.execPath}" "${script}" "${file}"`], {
        encoding: "utf8",
      });
      expect(child.stderr).toBe("");
      expect(child.stdout).toMatch(
        /^GradgenError: Cannot save checkpoint .*big\.ckpt: the file would exceed the file-size limit \(EFBIG\) after writing \d+ of \d+ bytes\./,
      );
      const fresh = createLinearTrainer({ ...big, seed: 42 });
      load(fresh, file);
      expect(contents(fresh)).toEqual(previous);
      expect(readdirSync(sub).sort()).toEqual(["big.ckpt", "child.mjs"]);
    },
  );

  it("temporary files left by a save that was killed (SIGKILL before its rename) are removed by the next save of that path", async () => {
    const sub = mkdtempSync(path.join(dir, "killed-"));
    const file = path.join(sub, "run.ckpt");
    const { trainer } = trained();
    save(trainer, file);
    const script = path.join(sub, "child.mjs");
    await build({
      stdin: {
        contents: `
          import * as fs from "node:fs";
          import { saveWith } from ${JSON.stringify(path.resolve(import.meta.dirname, "../../src/runtime/checkpoint.ts"))};
          import { createLinearTrainer } from ${JSON.stringify(path.resolve(import.meta.dirname, "linear-trainer.ts"))};
          const trainer = createLinearTrainer(${JSON.stringify(options)});
          const killedBeforeRename = { ...fs, readdirSync: (d) => fs.readdirSync(d), renameSync: () => process.kill(process.pid, "SIGKILL") };
          saveWith(killedBeforeRename, trainer, process.argv[2]);
        `,
        resolveDir: import.meta.dirname,
        loader: "ts",
      },
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: script,
      logLevel: "silent",
    });
    const temporaries = () => readdirSync(sub).filter((name) => name.startsWith(".run.ckpt."));
    const left: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const child = spawnSync(process.execPath, [script, file], { encoding: "utf8" });
      expect(child.signal).toBe("SIGKILL");
      left.push(temporaries());
    }
    // Each killed save left its temporary file, and each save removed the one before it.
    expect(left.map((names) => names.length)).toEqual([1, 1, 1]);
    expect(new Set(left.flat()).size).toBe(3);
    expect(readCheckpointInfo(file).step).toBe(5); // the kills never touched the checkpoint
    // Files that are not stale temporaries of this path stay: another checkpoint's, a live process's, the user's own.
    const others = [
      ".other.ckpt.999999.0123abcd.tmp",
      `.run.ckpt.${process.ppid}.0123abcd.tmp`,
      ".run.ckpt.notes",
      "run.ckpt.bak",
    ];
    for (const name of others) writeFileSync(path.join(sub, name), "keep");
    save(trainer, file);
    expect(readdirSync(sub).sort()).toEqual(["child.mjs", "run.ckpt", ...others].sort());
    expect(readCheckpointInfo(file).step).toBe(5);
  });
});
