// Small helpers the benchmark scripts share.
import v8 from "node:v8";
import { performance } from "node:perf_hooks";

/** mulberry32, the generator gradgen's trainers use (for data made in a benchmark). */
export function createRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const tick = () => new Promise((resolve) => setImmediate(resolve));
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Let pending tasks (GC finalisation, observer delivery) run before or after a timed chunk. */
export async function settle() {
  await tick();
  await tick();
  await sleep(0);
  await tick();
}

/** Bytes in use in V8's young generation ("new_space" and "new_large_object_space"). */
export function youngGenerationBytes() {
  let bytes = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === "new_space" || space.space_name === "new_large_object_space")
      bytes += space.space_used_size;
  }
  return bytes;
}
// Reading the statistics allocates too (its result), and how much depends on whether V8 has
// optimised the reader: youngBytesPerCall warms it up once, and cancels whatever a reading costs.
let readerWarm = false;

/**
 * Young-generation bytes allocated per call of run's body: the growth of youngGenerationBytes() over
 * `chunks` chunks of C and 2C calls, alternately (run(count) makes `count` calls); the difference
 * of the mean growths over C is the bytes per call, and what a reading allocates cancels. A chunk
 * in which a GC started (gcsBetween(t0, t1), from a PerformanceObserver) is left out of the bytes,
 * since a scavenge empties the space mid-chunk, and counted in the GCs.
 */
export async function youngBytesPerCall(run, chunk, chunks, gcsBetween) {
  if (!readerWarm) for (let i = 0; i < 20_000; i++) youngGenerationBytes();
  readerWarm = true;
  const deltas = { 1: [], 2: [] };
  const gcKinds = {};
  let calls = 0;
  let gcs = 0;
  let droppedChunks = 0;
  for (let c = 0; c < chunks; c++) {
    const size = c % 2 === 0 ? 1 : 2;
    const t0 = performance.now();
    const before = youngGenerationBytes();
    run(size * chunk);
    const after = youngGenerationBytes();
    const t1 = performance.now();
    calls += size * chunk;
    const collected = await gcsBetween(t0, t1);
    gcs += collected.count;
    for (const [kind, n] of Object.entries(collected.kinds)) gcKinds[kind] = (gcKinds[kind] ?? 0) + n;
    if (collected.count > 0 || after < before) droppedChunks++;
    else deltas[size].push(after - before);
  }
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  const bytesPerCall =
    deltas[1].length && deltas[2].length ? Math.max(0, (mean(deltas[2]) - mean(deltas[1])) / chunk) : NaN;
  return {
    bytesPerCall,
    readingBytes: mean(deltas[1]) - bytesPerCall * chunk,
    calls,
    chunkCalls: [chunk, 2 * chunk],
    gcs,
    gcKinds,
    droppedChunks,
    chunks,
  };
}
