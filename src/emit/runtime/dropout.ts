// The TypeScript trainer's dropout masks (the WGSL target draws its masks on the GPU). Copied into
// the generated module by src/emit/runtime-source.ts; tested directly.

/** Inverted dropout: keep with probability `keep`, scaled by 1/keep so the expected activation is unchanged. */
export function drawMask(mask: Float32Array | Float64Array, count: number, keep: number, random: () => number): void {
  const scale = 1 / keep;
  for (let i = 0; i < count; i++) mask[i] = random() < keep ? scale : 0;
}
