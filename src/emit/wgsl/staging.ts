// How a workgroup stages one operand tile of a product in workgroup memory (kernels.ts prints the
// product around it): outer × K_STEP elements, element (o, q) at tile[q * outer + o], loaded with
// consecutive invocations on consecutive addresses (along k, or along o: the rows of A or the
// columns of B), zeros past the edges; with vec4 loads (tiling.ts: alignedForVec4) four consecutive
// elements per load.

import { K_STEP, WORKGROUP_SIZE } from "./tiling.js";

/**
 * The loop staging one tile. `load(o, p, vec4)` is the operand's element (or, with vec4, the vec4
 * starting at it) at outer index o and k index p; `edge` is the condition that o is inside C.
 * alignedForVec4 makes k (or the outer extent) a multiple of 4, so a vec4 is wholly inside or outside.
 */
export function stageTile(
  tile: string,
  outer: number,
  contiguousAlongK: boolean,
  load: (o: string, p: string, vec4: boolean) => string,
  edge: string,
  vec4: boolean,
): string[] {
  if (!vec4) {
    const [o, q] = contiguousAlongK ? [`e / ${K_STEP}u`, `e % ${K_STEP}u`] : [`e % ${outer}u`, `e / ${outer}u`];
    return [
      `  for (var e = local; e < ${outer * K_STEP}u; e = e + ${WORKGROUP_SIZE}u) {`,
      `    let o = ${o};`,
      `    let q = ${q};`,
      "    var x = 0.0f;",
      `    if (${edge} && p0 + q < kEnd) { x = ${load("o", "p0 + q", false)}; }`,
      `    ${tile}[q * ${outer}u + o] = x;`,
      "  }",
    ];
  }
  const [o, q] = contiguousAlongK
    ? [`e / ${K_STEP / 4}u`, `(e % ${K_STEP / 4}u) * 4u`]
    : [`(e % ${outer / 4}u) * 4u`, `e / ${outer / 4}u`];
  const at = (c: number) => (contiguousAlongK ? `(q + ${c}u) * ${outer}u + o` : `q * ${outer}u + o + ${c}u`);
  return [
    `  for (var e = local; e < ${(outer * K_STEP) / 4}u; e = e + ${WORKGROUP_SIZE}u) {`,
    `    let o = ${o};`,
    `    let q = ${q};`,
    "    var x = vec4<f32>();",
    `    if (${edge} && p0 + q < kEnd) { x = ${load("o", "p0 + q", true)}; }`,
    ...["x", "y", "z", "w"].map((component, c) => `    ${tile}[${at(c)}] = x.${component};`),
    "  }",
  ];
}
