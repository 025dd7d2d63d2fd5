// Checkpoints of a trainer's parameters and optimizer state.
//
// Layout: "GGCKPT01" | u32 LE header length | header JSON (UTF-8) | zero padding to 8 bytes |
// tensor data, raw little-endian, each tensor 8-byte aligned | SHA-256 of everything before it.

import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { endianness } from "node:os";
import path from "node:path";
import { GradgenError } from "../errors.js";
import { dtypeOf, ownField, type Real, type TrainerLike } from "./trainer.js";

const MAGIC = "GGCKPT01";
const CHECKSUM_BYTES = 32;
const PREFIX_BYTES = MAGIC.length + 4;
const LITTLE_ENDIAN = endianness() === "LE";

export interface CheckpointTensor {
  readonly name: string;
  readonly group: "param" | "state";
  readonly shape: readonly number[];
  readonly dtype: "f32" | "f64";
  /** Byte offset from the start of the data section. */
  readonly offset: number;
  readonly byteLength: number;
}

/** The header of a checkpoint. */
export interface CheckpointInfo {
  readonly format: "gradgen-checkpoint";
  readonly version: 1;
  readonly model: string;
  readonly structureHash: string;
  readonly dtype: "f32" | "f64";
  readonly optimizer: string;
  /** Optimizer updates applied when saved (trainer.state.step). */
  readonly step: number;
  /** The learning rate when saved; informative, load() does not apply it. */
  readonly learningRate: number;
  readonly tensors: readonly CheckpointTensor[];
  readonly dataBytes: number;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

function tensorsOf(trainer: TrainerLike): { tensor: Omit<CheckpointTensor, "offset" | "byteLength">; values: Real }[] {
  const result: { tensor: Omit<CheckpointTensor, "offset" | "byteLength">; values: Real }[] = [];
  for (const [name, values] of Object.entries(trainer.params)) {
    result.push({
      tensor: {
        name,
        group: "param",
        shape: [...(ownField(trainer.spec.params, name) ?? [values.length])],
        dtype: dtypeOf(values),
      },
      values,
    });
  }
  for (const [name, values] of Object.entries(trainer.state.buffers)) {
    result.push({ tensor: { name, group: "state", shape: [values.length], dtype: dtypeOf(values) }, values });
  }
  return result;
}

/** The checkpoint file's bytes for the trainer's current parameters and optimizer state. */
export function encodeCheckpoint(trainer: TrainerLike): Uint8Array {
  return encode(trainer).bytes;
}

function encode(trainer: TrainerLike): { bytes: Buffer; info: CheckpointInfo } {
  let dataBytes = 0;
  const tensors: CheckpointTensor[] = [];
  const entries = tensorsOf(trainer);
  for (const { tensor, values } of entries) {
    tensors.push({ ...tensor, offset: dataBytes, byteLength: values.byteLength });
    dataBytes = align8(dataBytes + values.byteLength);
  }
  const info: CheckpointInfo = {
    format: "gradgen-checkpoint",
    version: 1,
    model: trainer.spec.model,
    structureHash: trainer.spec.structureHash,
    dtype: trainer.spec.dtype,
    optimizer: trainer.spec.optimizer.kind,
    step: trainer.state.step,
    learningRate: trainer.learningRate,
    tensors,
    dataBytes,
  };
  const header = Buffer.from(JSON.stringify(info), "utf8");
  const dataStart = align8(PREFIX_BYTES + header.length);
  const total = dataStart + dataBytes + CHECKSUM_BYTES;
  const bytes = Buffer.alloc(total);
  bytes.write(MAGIC, 0, "latin1");
  bytes.writeUInt32LE(header.length, MAGIC.length);
  header.copy(bytes, PREFIX_BYTES);
  entries.forEach(({ values }, i) => writeLittleEndian(values, bytes, dataStart + tensors[i]!.offset));
  createHash("sha256")
    .update(bytes.subarray(0, total - CHECKSUM_BYTES))
    .digest()
    .copy(bytes, total - CHECKSUM_BYTES);
  return { bytes, info };
}

/**
 * Check `bytes` against the trainer, then copy its parameters, optimizer state and step count
 * in. Throws a GradgenError, before changing anything, for another model, other shapes or dtype,
 * or a truncated or corrupt file.
 */
export function decodeCheckpoint(trainer: TrainerLike, bytes: Uint8Array, source = "the checkpoint"): CheckpointInfo {
  const { info, dataStart } = parseCheckpoint(bytes, source);
  const problems = incompatibilities(trainer, info);
  if (problems.length > 0) {
    throw new GradgenError(
      `Cannot load ${source} into this trainer of model "${trainer.spec.model}": ${problems.join("; ")}. ` +
        `A checkpoint loads only into a trainer compiled from the same model, with the same shapes, dtype and optimizer. ` +
        `The trainer was left unchanged.`,
    );
  }
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const tensor of info.tensors) {
    // incompatibilities() matched every tensor to one of the trainer's own buffers.
    const target = ownField(tensor.group === "param" ? trainer.params : trainer.state.buffers, tensor.name)!;
    readLittleEndian(view, dataStart + tensor.offset, target);
  }
  trainer.state.step = info.step;
  return info;
}

/** The file operations save() uses; tests pass one that fails (a full disk, a kill) part way. */
export interface CheckpointFileSystem {
  openSync(file: string, flags: string): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(file: string): void;
  readdirSync(directory: string): string[];
}

const nodeFileSystem: CheckpointFileSystem = {
  openSync,
  writeSync,
  fsyncSync,
  closeSync,
  renameSync,
  unlinkSync,
  readdirSync: (directory) => readdirSync(directory),
};

/**
 * Write a checkpoint atomically: every byte to a temporary file beside `file` (each write checked,
 * since a full disk or a file-size limit can cut one short), fsync it, rename it over `file`, fsync
 * the directory. On any failure the previous checkpoint is left as it was, the temporary file is
 * removed, and a GradgenError says why. Temporary files of earlier saves of the same path that were
 * killed part way are removed first.
 */
export function save(trainer: TrainerLike, file: string): CheckpointInfo {
  return saveWith(nodeFileSystem, trainer, file);
}

/** save() over the given file operations. */
export function saveWith(fs: CheckpointFileSystem, trainer: TrainerLike, file: string): CheckpointInfo {
  const { bytes, info } = encode(trainer);
  const directory = path.dirname(file);
  removeStaleTemporaries(fs, file);
  const temporary = path.join(
    directory,
    `${temporaryPrefix(file)}${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  let written = 0;
  try {
    const fd = fs.openSync(temporary, "wx");
    try {
      while (written < bytes.length) {
        const count = fs.writeSync(fd, bytes, written, bytes.length - written, written);
        if (!(count > 0)) throw Object.assign(new Error("the write made no progress"), { code: "EIO" });
        written += count;
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  } catch (error) {
    try {
      fs.unlinkSync(temporary);
    } catch {
      // never created, or already renamed
    }
    throw new GradgenError(
      `Cannot save checkpoint ${file}: ${describeFailure(error)} after writing ${written} of ${bytes.length} bytes. ` +
        `The previous checkpoint at that path, if any, was left as it was. Free some disk space (or raise the file-size limit) and save again, or save to another path.`,
    );
  }
  syncDirectory(fs, file);
  return info;
}

/** Temporary files of `file` start with this: `.<name>.` then `<pid>.<8 hex digits>.tmp`. */
function temporaryPrefix(file: string): string {
  return `.${path.basename(file)}.`;
}

/** Remove temporary files an earlier save of `file` left when its process was killed. */
function removeStaleTemporaries(fs: CheckpointFileSystem, file: string): void {
  const prefix = temporaryPrefix(file);
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(file));
  } catch {
    return; // a missing directory: openSync reports it below
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length));
    // A live process may be saving the same path right now: leave its file alone.
    if (!match || processIsAlive(Number(match[1]))) continue;
    try {
      fs.unlinkSync(path.join(path.dirname(file), name));
    } catch {
      // removed by someone else meanwhile
    }
  }
}

function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true; // another thread of this process, perhaps
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, but another user's
  }
}

/** Make the rename itself durable. Some systems (Windows) cannot open or sync a directory; there the rename is all we can do. */
function syncDirectory(fs: CheckpointFileSystem, file: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path.dirname(file), "r");
    fs.fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!["EISDIR", "EINVAL", "EPERM", "ENOTSUP", "EBADF", "EACCES"].includes(code ?? "")) {
      throw new GradgenError(
        `Checkpoint ${file} was written and renamed into place, but its directory could not be synced (${describeFailure(error)}), so a power failure now could undo the rename. Check the disk, then save again.`,
      );
    }
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function describeFailure(error: unknown): string {
  const { code, message } = (error ?? {}) as NodeJS.ErrnoException;
  const known: Record<string, string> = {
    ENOSPC: "the disk is full (ENOSPC)",
    EFBIG: "the file would exceed the file-size limit (EFBIG)",
    EDQUOT: "the disk quota is exhausted (EDQUOT)",
    EACCES: "permission denied (EACCES)",
    EROFS: "the file system is read-only (EROFS)",
    ENOENT: "the directory does not exist (ENOENT)",
  };
  return (code && ownField(known, code)) ?? (message ? `${message}` : String(error));
}

/** Load a checkpoint written by save() into the trainer (see decodeCheckpoint). */
export function load(trainer: TrainerLike, file: string): CheckpointInfo {
  return decodeCheckpoint(trainer, readCheckpointFile(file), `checkpoint ${file}`);
}

/** The header of a checkpoint file, after checking its integrity. */
export function readCheckpointInfo(file: string): CheckpointInfo {
  return parseCheckpoint(readCheckpointFile(file), `checkpoint ${file}`).info;
}

function readCheckpointFile(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GradgenError(
      `Cannot read checkpoint ${file}: ${code === "ENOENT" ? "no such file" : (error as Error).message}.`,
    );
  }
}

/** Header and data offset of a well-formed, intact checkpoint; throws a GradgenError otherwise. */
function parseCheckpoint(bytes: Uint8Array, source: string): { info: CheckpointInfo; dataStart: number } {
  const fail = (why: string): never => {
    throw new GradgenError(`Cannot load ${source}: ${why}. Nothing was loaded; the trainer was left unchanged.`);
  };
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < PREFIX_BYTES || buffer.toString("latin1", 0, MAGIC.length) !== MAGIC) {
    fail(`it is not a gradgen checkpoint (it does not start with "${MAGIC}")`);
  }
  const headerLength = buffer.readUInt32LE(MAGIC.length);
  if (PREFIX_BYTES + headerLength + CHECKSUM_BYTES > buffer.length) {
    fail(`the file is truncated (${buffer.length} bytes, shorter than its ${headerLength}-byte header announces)`);
  }
  let info: CheckpointInfo;
  try {
    info = JSON.parse(buffer.toString("utf8", PREFIX_BYTES, PREFIX_BYTES + headerLength));
  } catch {
    return fail("its header is not valid JSON (the file is corrupt)");
  }
  if (
    info?.format !== "gradgen-checkpoint" ||
    info.version !== 1 ||
    !Array.isArray(info.tensors) ||
    !Number.isInteger(info.dataBytes)
  ) {
    fail("its header is not that of a version 1 gradgen checkpoint (the file is corrupt)");
  }
  const dataStart = align8(PREFIX_BYTES + headerLength);
  const expected = dataStart + info.dataBytes + CHECKSUM_BYTES;
  if (buffer.length !== expected) {
    fail(
      buffer.length < expected
        ? `the file is truncated (${buffer.length} bytes of the ${expected} its header announces)`
        : `the file has ${buffer.length - expected} unexpected trailing bytes (corrupt)`,
    );
  }
  const checksum = createHash("sha256")
    .update(buffer.subarray(0, expected - CHECKSUM_BYTES))
    .digest();
  if (!checksum.equals(buffer.subarray(expected - CHECKSUM_BYTES))) {
    fail("its SHA-256 checksum does not match its contents (the file is corrupt)");
  }
  for (const t of info.tensors) {
    const elementBytes = t.dtype === "f64" ? 8 : 4;
    if (t.offset < 0 || t.offset + t.byteLength > info.dataBytes || t.byteLength % elementBytes !== 0) {
      fail(`its header places tensor "${t.name}" outside the data (the file is corrupt)`);
    }
  }
  return { info, dataStart };
}

/** Every reason the checkpoint does not fit the trainer, most telling first. */
function incompatibilities(trainer: TrainerLike, info: CheckpointInfo): string[] {
  const spec = trainer.spec;
  if (info.model !== spec.model) return [`it was saved from model "${info.model}"`];
  const problems: string[] = [];
  const saved = new Map(info.tensors.map((t) => [`${t.group}:${t.name}`, t]));
  const expected = tensorsOf(trainer);
  for (const { tensor, values } of expected) {
    const label = tensor.group === "param" ? `parameter "${tensor.name}"` : `optimizer state "${tensor.name}"`;
    const found = saved.get(`${tensor.group}:${tensor.name}`);
    if (found === undefined) {
      problems.push(`it has no ${label}`);
    } else if (found.dtype !== tensor.dtype) {
      problems.push(`${label} is ${found.dtype} in the checkpoint, ${tensor.dtype} in the trainer`);
    } else if (found.byteLength !== values.byteLength || !sameShape(found.shape, tensor.shape)) {
      problems.push(
        `${label} has shape [${found.shape.join(", ")}] in the checkpoint, [${tensor.shape.join(", ")}] in the trainer`,
      );
    }
    saved.delete(`${tensor.group}:${tensor.name}`);
  }
  for (const t of saved.values()) {
    problems.push(
      `it holds ${t.group === "param" ? "parameter" : "optimizer state"} "${t.name}", which this trainer does not have`,
    );
  }
  if (info.optimizer !== spec.optimizer.kind)
    problems.unshift(`it was saved with optimizer ${info.optimizer}, this trainer uses ${spec.optimizer.kind}`);
  if (problems.length === 0 && info.dtype !== spec.dtype)
    problems.push(`it holds ${info.dtype} values, this trainer is ${spec.dtype}`);
  if (problems.length === 0 && info.structureHash !== spec.structureHash) {
    problems.push(
      `its model structure hash ${info.structureHash} differs from this trainer's ${spec.structureHash} (the model changed since it was saved)`,
    );
  }
  if (problems.length > 4) problems.splice(4, problems.length - 4, `${problems.length - 4} more differences`);
  return problems;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((d, i) => d === b[i]);
}

function writeLittleEndian(values: Real, bytes: Buffer, offset: number): void {
  if (LITTLE_ENDIAN) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const step = values.BYTES_PER_ELEMENT;
  for (let i = 0; i < values.length; i++) {
    if (step === 8) view.setFloat64(offset + i * 8, values[i]!, true);
    else view.setFloat32(offset + i * 4, values[i]!, true);
  }
}

function readLittleEndian(bytes: Buffer, offset: number, target: Real): void {
  if (LITTLE_ENDIAN) {
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(
      bytes.subarray(offset, offset + target.byteLength),
    );
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const step = target.BYTES_PER_ELEMENT;
  for (let i = 0; i < target.length; i++)
    target[i] = step === 8 ? view.getFloat64(offset + i * 8, true) : view.getFloat32(offset + i * 4, true);
}
