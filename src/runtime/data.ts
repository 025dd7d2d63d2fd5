// gradgen/data: data preparation on example-major Float32Array/Float64Array (n × features).
// Fitted transforms (centring, standardisation, min-max, PCA, ZCA) are fitted once on training data,
// re-applied to any data and saved as JSON; batches are copied into reused buffers.
// Each section lives in data/; this entry is the public surface of gradgen/data.

export type { Dataset, Real } from "./trainer.js";
export type { FittedTransform, TransformJSON } from "./data/transform.js";
export { MeanCentering, MinMaxScaling, Standardization } from "./data/scaling.js";
export { PCAProjection, ZCAWhitening, type PCAOptions } from "./data/projection.js";
export { fitCentering, fitMinMax, fitPCA, fitStandardization, fitZCA, transformFromJSON } from "./data/fit.js";
export { argmaxRow, argmaxRows, oneHot } from "./data/encoding.js";
export {
  countExamples,
  createRandom,
  permutation,
  selectExamples,
  shuffleInPlace,
  splitExamples,
} from "./data/examples.js";
export { Batcher, batches, type BatchOptions, type BatchView } from "./data/batches.js";
