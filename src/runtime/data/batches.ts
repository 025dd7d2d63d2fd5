// Batches of examples copied into buffers allocated once.

import { GradgenError } from "../../errors.js";
import { ownField, setOwn, type Dataset, type Field } from "../trainer.js";
import { countExamples, fieldSizes, shuffleSeeded } from "./examples.js";

export interface BatchOptions {
  /** Examples per batch; the last batch of an epoch may be shorter. */
  readonly batchSize: number;
  /** Examples in the data; default: from `sizes`. */
  readonly count?: number;
  /** Values per example of some fields; the others get length / count. */
  readonly sizes?: Readonly<Record<string, number>>;
  /** A fresh seeded order every epoch. Default false. */
  readonly shuffle?: boolean;
  readonly seed?: number;
  /** Type of the real-valued batch buffers; default each field's own. Int32Array fields (ids) stay Int32Array. */
  readonly dtype?: "f32" | "f64";
  /** Only these fields (default all). */
  readonly fields?: readonly string[];
}

export interface BatchView {
  /** The reused batch buffers; the first n examples are valid. */
  readonly batch: Dataset;
  /** Examples in this batch (batchSize, or fewer for the last). */
  n: number;
  /** Batch number within the epoch, from 0. */
  index: number;
}

/**
 * Copies batches of examples into buffers allocated once. `for (const { batch, n } of batcher)`
 * runs one epoch (reshuffled when `shuffle`); `startEpoch()` + `nextBatch()` do the same without an
 * iterator. Nothing is allocated per batch or per epoch.
 */
export class Batcher implements IterableIterator<BatchView, undefined> {
  readonly count: number;
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  /** The batch buffers, batchSize × size per field, reused by every batch. */
  readonly batch: Dataset;
  /** Example order of the current epoch. */
  readonly order: Uint32Array;
  readonly sizes: Readonly<Record<string, number>>;
  private readonly fields: { source: Field; target: Field; size: number }[];
  /** mulberry32 state of the shuffling; undefined without shuffle. */
  private readonly randomState: Uint32Array | undefined;
  private position = 0;
  private readonly view: BatchView;
  private readonly yielded: IteratorYieldResult<BatchView>;
  private readonly finished: IteratorReturnResult<undefined> = { done: true, value: undefined };

  constructor(data: Dataset, options: BatchOptions) {
    const names = options.fields ?? Object.keys(data);
    const selected: Dataset = {};
    for (const name of names) {
      const values = ownField(data, name);
      if (values === undefined)
        throw new GradgenError(
          `Batcher: the data has no field "${name}" (it has ${Object.keys(data).join(", ") || "none"}).`,
        );
      setOwn(selected, name, values);
    }
    const count = options.count ?? countExamples(selected, options.sizes ?? {}, "Batcher");
    const sizes = fieldSizes(selected, count, options.sizes, "Batcher");
    const batchSize = options.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new GradgenError(`Batcher: batchSize = ${batchSize} must be a positive integer.`);
    this.count = count;
    this.batchSize = batchSize;
    this.batchesPerEpoch = Math.ceil(count / batchSize);
    this.sizes = sizes;
    this.batch = {};
    this.fields = [];
    for (const name of names) {
      const source = selected[name]!;
      const size = sizes[name]!;
      const target = batchBuffer(source, options.dtype, batchSize * size);
      setOwn(this.batch, name, target);
      this.fields.push({ source, target, size });
    }
    this.order = new Uint32Array(count);
    for (let i = 0; i < count; i++) this.order[i] = i;
    this.randomState = options.shuffle ? Uint32Array.of((options.seed ?? 0) >>> 0) : undefined;
    this.view = { batch: this.batch, n: 0, index: -1 };
    this.yielded = { done: false, value: this.view };
    this.position = count;
  }

  /** Rewind to the first batch, reshuffling first when shuffle is on. */
  startEpoch(): void {
    if (this.randomState) shuffleSeeded(this.order, this.randomState);
    this.position = 0;
    this.view.index = -1;
    this.view.n = 0;
  }

  /** Fill `batch` with the next examples; returns their number, 0 when the epoch is over. */
  nextBatch(): number {
    const start = this.position;
    const n = Math.min(this.batchSize, this.count - start);
    if (n <= 0) return 0;
    const order = this.order;
    for (const { source, target, size } of this.fields) {
      for (let k = 0; k < n; k++) {
        const from = order[start + k]! * size;
        const to = k * size;
        for (let j = 0; j < size; j++) target[to + j] = source[from + j]!;
      }
    }
    this.position = start + n;
    this.view.n = n;
    this.view.index++;
    return n;
  }

  next(): IteratorResult<BatchView, undefined> {
    return this.nextBatch() > 0 ? this.yielded : this.finished;
  }

  /** Starts a new epoch: each for…of over the batcher is one epoch. */
  [Symbol.iterator](): this {
    this.startEpoch();
    return this;
  }
}

/** A batch buffer for `source`: ids stay Int32Array (converting them to floats would lose their meaning), reals take `dtype`. */
function batchBuffer(source: Field, dtype: "f32" | "f64" | undefined, length: number): Field {
  if (source instanceof Int32Array) return new Int32Array(length);
  if (dtype === "f64") return new Float64Array(length);
  if (dtype === "f32") return new Float32Array(length);
  return source instanceof Float64Array ? new Float64Array(length) : new Float32Array(length);
}

export function batches(data: Dataset, options: BatchOptions): Batcher {
  return new Batcher(data, options);
}
