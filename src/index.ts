// Public API of gradgen.
export { model, type ModelDefinition, type ModelBuilder, type ModelResult, type ModelOptions } from "./dsl/model.js";
export { nn } from "./dsl/nn.js";
export { grad } from "./dsl/grad.js";
export { Tensor, type TensorLike } from "./dsl/tensor.js";
export { compile, type CompileOptions, type CompiledFile } from "./compile.js";
export { GradgenError } from "./errors.js";
export { init, type InitSpec, type InitName } from "./initializers.js";
export { optimizer, sgd, momentum, nesterov, adagrad, rmsprop, adam, type OptimizerSpec, type OptimizerKind } from "./optimizers.js";
