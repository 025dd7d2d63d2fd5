// gradgen/data: fitted transforms (checked by statistics computed here), encoding, shuffling, batches.
import { describe, expect, it } from "vitest";
import {
  Batcher,
  argmaxRows,
  createRandom,
  fitCentering,
  fitMinMax,
  fitPCA,
  fitStandardization,
  fitZCA,
  oneHot,
  permutation,
  selectExamples,
  shuffleInPlace,
  splitExamples,
  transformFromJSON,
  type Real,
} from "../../src/runtime/data.ts";
import { GradgenError } from "../../src/errors.ts";

/** Independent statistics: per-feature means and the population covariance. */
function means(x: ArrayLike<number>, d: number): number[] {
  const n = x.length / d;
  const m = new Array(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m[j] += x[i * d + j]! / n;
  return m;
}
function covariance(x: ArrayLike<number>, d: number): number[][] {
  const n = x.length / d;
  const m = means(x, d);
  const c = Array.from({ length: d }, () => new Array(d).fill(0));
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) c[a]![b] += ((x[i * d + a]! - m[a]!) * (x[i * d + b]! - m[b]!)) / n;
  }
  return c;
}
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
/** n examples of d correlated features: z·M + offset, z standard normal. */
function correlated(n: number, d: number, seed: number): Float64Array {
  const random = createRandom(seed);
  const M = Array.from({ length: d * d }, () => random() * 2 - 1);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: d }, () => gaussian(random));
    for (let b = 0; b < d; b++) {
      let sum = 3 * b - 2;
      for (let a = 0; a < d; a++) sum += z[a]! * M[a * d + b]!;
      x[i * d + b] = sum;
    }
  }
  return x;
}

describe("fitted elementwise transforms", () => {
  const d = 4;
  const random = createRandom(3);
  const x = Float64Array.from({ length: 500 * d }, (_, i) => (random() - 0.2) * ((i % d) + 1) * 10 + (i % d) * 100);

  it("standardisation gives mean 0 and population std 1 per feature", () => {
    const standardize = fitStandardization(x, d);
    const y = standardize.apply(x);
    expect(y).toBeInstanceOf(Float64Array);
    const m = means(y, d);
    const c = covariance(y, d);
    for (let j = 0; j < d; j++) {
      expect(m[j]).toBeCloseTo(0, 10);
      expect(Math.sqrt(c[j]![j]!)).toBeCloseTo(1, 10);
    }
  });

  it("centring gives mean 0 and keeps the spread", () => {
    const y = fitCentering(x, d).apply(x);
    const m = means(y, d);
    for (let j = 0; j < d; j++) expect(m[j]).toBeCloseTo(0, 10);
    expect(covariance(y, d)[2]![2]).toBeCloseTo(covariance(x, d)[2]![2]!, 8);
  });

  it("min-max scaling maps each feature onto the range", () => {
    const y = fitMinMax(x, d, { range: [-1, 1] }).apply(x);
    for (let j = 0; j < d; j++) {
      const column = Array.from({ length: 500 }, (_, i) => y[i * d + j]!);
      expect(Math.min(...column)).toBeCloseTo(-1, 12);
      expect(Math.max(...column)).toBeCloseTo(1, 12);
    }
  });

  it("saved as JSON and re-applied, gives the same values (also in place and into f32)", () => {
    for (const transform of [fitCentering(x, d), fitStandardization(x, d), fitMinMax(x, d)]) {
      const restored = transformFromJSON(JSON.stringify(transform));
      expect(restored.kind).toBe(transform.kind);
      const expected = transform.apply(x);
      expect(restored.apply(x)).toEqual(expected);
      const copy = Float64Array.from(x);
      expect(restored.apply(copy, copy)).toBe(copy);
      expect(copy).toEqual(expected);
      const single = restored.apply(Float32Array.from(x));
      expect(single).toBeInstanceOf(Float32Array);
      expect(single[5]).toBeCloseTo(expected[5]!, 4);
    }
  });

  it("a constant feature is centred, not divided by zero", () => {
    const data = Float64Array.from([1, 5, 2, 5, 3, 5]);
    expect(Array.from(fitStandardization(data, 2).apply(data))).toEqual([-Math.sqrt(1.5), 0, 0, 0, Math.sqrt(1.5), 0]);
    expect(Array.from(fitMinMax(data, 2).apply(data))).toEqual([0, 0, 0.5, 0, 1, 0]);
  });

  it("rejects data that is not a whole number of examples, and unknown saved kinds", () => {
    expect(() => fitStandardization(new Float64Array(7), 2)).toThrow(GradgenError);
    expect(() => fitStandardization(new Float64Array(7), 2)).toThrow(/not a whole number of examples/);
    expect(() => transformFromJSON('{"kind":"log"}')).toThrow(/Unknown saved transform kind "log"/);
    expect(() => fitStandardization(x, d).apply(x, new Float64Array(3))).toThrow(/holds 3 values/);
  });
});

describe("PCA and ZCA", () => {
  const d = 5;
  const n = 4000;
  const x = correlated(n, d, 11);

  it("ZCA-whitened data has identity covariance and a symmetric whitening matrix", () => {
    const zca = fitZCA(x, d, { epsilon: 0 });
    const y = zca.apply(x);
    const c = covariance(y, d);
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) expect(Math.abs(c[a]![b]! - (a === b ? 1 : 0))).toBeLessThan(1e-8);
    // The default ε = 1e-5 shrinks each direction's variance to λ/(λ + ε): identity within 1e-2 here.
    const regularised = covariance(fitZCA(x, d).apply(x), d);
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) expect(Math.abs(regularised[a]![b]! - (a === b ? 1 : 0))).toBeLessThan(1e-2);
    const m = zca.toJSON();
    if (m.kind !== "zca") throw new Error("kind");
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) expect(m.matrix[a * d + b]).toBeCloseTo(m.matrix[b * d + a]!, 10);
  });

  it("PCA-whitened data has identity covariance over the kept components", () => {
    const pca = fitPCA(x, d, { components: 3, whiten: true, epsilon: 0 });
    const y = pca.apply(x);
    expect(y.length).toBe(n * 3);
    const c = covariance(y, 3);
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) expect(Math.abs(c[a]![b]! - (a === b ? 1 : 0))).toBeLessThan(1e-8);
  });

  it("PCA projection: orthonormal basis, uncorrelated coordinates with the stated variances, reconstruction error = discarded variance", () => {
    const k = 2;
    const pca = fitPCA(x, d, { components: k });
    const { basis, variances } = pca;
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += basis[a * d + j]! * basis[b * d + j]!;
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
      }
    }
    expect(variances[0]).toBeGreaterThanOrEqual(variances[1]!);
    const y = pca.apply(x);
    const c = covariance(y, k);
    expect(c[0]![0]).toBeCloseTo(variances[0]!, 8);
    expect(c[1]![1]).toBeCloseTo(variances[1]!, 8);
    expect(c[0]![1]).toBeCloseTo(0, 8);
    expect(Math.abs(means(y, k)[0]!)).toBeLessThan(1e-10);

    // Σ of all eigenvalues = trace of the covariance; the discarded part is the mean squared reconstruction error.
    const cx = covariance(x, d);
    const trace = cx.reduce((s, row, i) => s + row[i]!, 0);
    expect(pca.totalVariance).toBeCloseTo(trace, 8);
    const reconstructed = pca.inverse(y, new Float64Array(n * d));
    let error = 0;
    for (let i = 0; i < n * d; i++) error += (x[i]! - reconstructed[i]!) ** 2 / n;
    expect(error).toBeCloseTo(trace - variances[0]! - variances[1]!, 8);
    // No other unit direction holds more variance than the first (checked against random directions).
    const random = createRandom(5);
    for (let trial = 0; trial < 200; trial++) {
      const u = Array.from({ length: d }, () => gaussian(random));
      const norm = Math.hypot(...u);
      let variance = 0;
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) variance += (u[a]! / norm) * cx[a]![b]! * (u[b]! / norm);
      expect(variance).toBeLessThanOrEqual(variances[0]! + 1e-9);
    }
  });

  it("full PCA reconstructs exactly, whitened or not, and survives JSON", () => {
    for (const whiten of [false, true]) {
      const pca = fitPCA(x, d, { whiten });
      const restored = transformFromJSON(JSON.parse(JSON.stringify(pca)));
      if (restored.kind !== "pca") throw new Error("kind");
      const y = restored.apply(x);
      expect(y).toEqual(pca.apply(x));
      const back = restored.inverse(y);
      for (let i = 0; i < 50; i++) expect(back[i]).toBeCloseTo(x[i]!, 8);
    }
  });

  it("retainVariance keeps the fewest components explaining that fraction; in-place projection works", () => {
    const all = fitPCA(x, d);
    const pca = fitPCA(x, d, { retainVariance: 0.9 });
    const v = all.variances;
    const k = pca.outputFeatures;
    const sum = (m: number) => Array.from(v.subarray(0, m)).reduce((s, a) => s + a, 0);
    expect(sum(k) / all.totalVariance).toBeGreaterThanOrEqual(0.9);
    if (k > 1) expect(sum(k - 1) / all.totalVariance).toBeLessThan(0.9);
    expect(pca.explainedVarianceRatio).toBeCloseTo(sum(k) / all.totalVariance, 12);
    const copy = Float64Array.from(x);
    const expected = pca.apply(x);
    pca.apply(copy, copy);
    expect(copy.subarray(0, n * k)).toEqual(expected);
  });
});

describe("one-hot encoding", () => {
  it("encodes labels and argmaxRows decodes them", () => {
    const encoded = oneHot([2, 0, 1], 3);
    expect(encoded).toBeInstanceOf(Float32Array);
    expect(Array.from(encoded)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    expect(Array.from(argmaxRows(encoded, 3))).toEqual([2, 0, 1]);
    const into = new Float64Array(9).fill(7);
    expect(oneHot(new Uint8Array([1, 1, 1]), 3, into)).toBe(into);
    expect(Array.from(into)).toEqual([0, 1, 0, 0, 1, 0, 0, 1, 0]);
  });

  it("rejects labels outside the classes", () => {
    expect(() => oneHot([0, 3], 3)).toThrow(/label 3 at index 1 is not an integer from 0 to 2/);
    expect(() => oneHot([0.5], 3)).toThrow(GradgenError);
  });
});

describe("seeded shuffling", () => {
  it("permutation is a permutation, the same for the same seed, different for another", () => {
    const p = permutation(1000, 9);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(1000, 9)).toEqual(p);
    expect(permutation(1000, 10)).not.toEqual(p);
    expect(Array.from(p)).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const reference = Array.from({ length: 1000 }, (_, i) => i);
    shuffleInPlace(reference, createRandom(9));
    expect(Array.from(p)).toEqual(reference);
  });

  it("selectExamples and splitExamples keep the fields' rows together", () => {
    const data = { x: Float64Array.from([0, 0, 1, 1, 2, 2, 3, 3]), label: Float32Array.from([0, 1, 2, 3]) };
    const picked = selectExamples(data, 4, [3, 1]);
    expect(Array.from(picked.x!)).toEqual([3, 3, 1, 1]);
    expect(picked.label).toBeInstanceOf(Float32Array);
    expect(Array.from(picked.label!)).toEqual([3, 1]);
    const [train, held] = splitExamples(data, 4, 3, { seed: 2 });
    expect(train.label!.length + held.label!.length).toBe(4);
    for (let i = 0; i < 3; i++) expect(train.x![2 * i]).toBe(train.label![i]);
    expect(splitExamples(data, 4, 3, { seed: 2 })).toEqual([train, held]);
    const [first] = splitExamples(data, 4, 2);
    expect(Array.from(first.label!)).toEqual([0, 1]);
  });
});

describe("Batcher", () => {
  const count = 10;
  const data = {
    x: Float64Array.from({ length: count * 2 }, (_, i) => Math.floor(i / 2)),
    id: Float64Array.from({ length: count }, (_, i) => i),
  };

  it("yields full batches and a short last batch, in order, in the same reused buffers", () => {
    const batcher = new Batcher(data, { batchSize: 4, sizes: { x: 2 } });
    expect(batcher.count).toBe(10);
    expect(batcher.batchesPerEpoch).toBe(3);
    const seen: number[][] = [];
    for (const { batch, n, index } of batcher) {
      expect(batch).toBe(batcher.batch);
      expect(batch.x).toBe(batcher.batch.x);
      expect(batch.x!.length).toBe(8);
      expect(index).toBe(seen.length);
      seen.push(Array.from(batch.id!.subarray(0, n)));
      for (let k = 0; k < n; k++) expect(batch.x![2 * k]).toBe(batch.id![k]);
    }
    expect(seen).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    // Each for…of is a new epoch; nextBatch is the iterator-free form.
    expect([...batcher].length).toBe(3);
    batcher.startEpoch();
    expect([batcher.nextBatch(), batcher.nextBatch(), batcher.nextBatch(), batcher.nextBatch()]).toEqual([4, 4, 2, 0]);
  });

  it("shuffles every epoch, deterministically by seed, visiting each example once", () => {
    const epochs = (seed: number) => {
      const batcher = new Batcher(data, { batchSize: 3, count, shuffle: true, seed });
      const orders: number[][] = [];
      for (let epoch = 0; epoch < 3; epoch++) {
        const order: number[] = [];
        for (const { batch, n } of batcher) order.push(...batch.id!.subarray(0, n));
        orders.push(order);
      }
      return orders;
    };
    const a = epochs(4);
    for (const order of a) expect([...order].sort((p, q) => p - q)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(a[0]).not.toEqual(a[1]);
    expect(epochs(4)).toEqual(a);
    expect(epochs(5)).not.toEqual(a);
    // Epoch e's order is the permutation of the previous one by the continuing seeded stream.
    const order = Array.from({ length: count }, (_, i) => i);
    const random = createRandom(4);
    shuffleInPlace(order, random);
    expect(a[0]).toEqual(order);
    shuffleInPlace(order, random);
    expect(a[1]).toEqual(order);
  });

  it("converts to the requested dtype and selects fields", () => {
    const batcher = new Batcher(data, { batchSize: 4, count, dtype: "f32", fields: ["x"] });
    expect(Object.keys(batcher.batch)).toEqual(["x"]);
    expect(batcher.batch.x).toBeInstanceOf(Float32Array);
  });

  it("rejects inconsistent fields with a clear message", () => {
    expect(
      () => new Batcher({ x: new Float64Array(10), t: new Float64Array(7) }, { batchSize: 2, sizes: { x: 2, t: 1 } }),
    ).toThrow(/field "t" holds 7 examples but "x" holds 5/);
    expect(() => new Batcher(data, { batchSize: 4, count, fields: ["y"] })).toThrow(/no field "y"/);
    expect(() => new Batcher(data, { batchSize: 0, count })).toThrow(/batchSize = 0/);
  });
});

// Keeps the Real type import used in strict builds.
export type { Real };
