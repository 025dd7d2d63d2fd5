// Public API of gradgen.
export { model, type ModelDefinition, type ModelBuilder, type ModelResult } from "./dsl/model.js";
export { nn } from "./dsl/nn.js";
export { grad } from "./dsl/grad.js";
export { Tensor, type TensorLike } from "./dsl/tensor.js";
export { compile, type CompileOptions, type CompiledFile } from "./compile.js";
export { GradgenError } from "./errors.js";
