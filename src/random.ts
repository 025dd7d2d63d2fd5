// mulberry32: the one generator of the compiler's tools, its tests and both generated modules
// (initialisers, the TypeScript trainer's dropout masks). src/emit/runtime-source.ts copies this
// file's code into each generated module, so it must stay self-contained.

/**
 * mulberry32: a small, fast 32-bit generator; integer arithmetic only, so every engine agrees. The
 * state lives in a Uint32Array: a closure variable holding a uint32 ≥ 2³¹ would be a heap number,
 * allocated afresh on every draw.
 */
export function createRandom(seed: number): () => number {
  const state = new Uint32Array([seed >>> 0]);
  return () => {
    state[0] = state[0]! + 0x6d2b79f5;
    let t = state[0]!;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
