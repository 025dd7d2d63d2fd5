// Types of deep-graphs.mjs (a plain ES module, so benchmarks run it without a build step).
import type { ModelDefinition, model, nn } from "gradgen";

interface Gradgen {
  readonly model: typeof model;
  readonly nn: typeof nn;
}

export function affineChain(gradgen: Gradgen, pairs: number, a?: number, b?: number): ModelDefinition;
export function sinTanhChain(gradgen: Gradgen, ops: number): ModelDefinition;
export function parameterSum(gradgen: Gradgen, count: number): ModelDefinition;
export function unrolledRnn(gradgen: Gradgen, steps: number): ModelDefinition;
export const deepGraphs: {
  readonly affineChain: typeof affineChain;
  readonly sinTanhChain: typeof sinTanhChain;
  readonly parameterSum: typeof parameterSum;
};
