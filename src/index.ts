// Public API of gradgen.
export { model, type ModelDefinition, type ModelBuilder, type ModelResult, type ModelOptions } from "./dsl/model.js";
export { nn } from "./dsl/nn.js";
export { grad } from "./dsl/grad.js";
export { customGradient, type CustomGradientContext } from "./dsl/custom.js";
export { Tensor, type TensorLike } from "./dsl/tensor.js";
export { constant } from "./dsl/tensor.js";
export { compile, type CompileOptions, type CompiledFile } from "./compile.js";
export { importGenerated } from "./import-generated.js";
export { GradgenError } from "./errors.js";
export {
  checkGradients,
  formatReport,
  type GradientCheckOptions,
  type GradientCheckReport,
} from "./check/gradient-check.js";
export { init, type InitSpec, type InitName } from "./initializers.js";
export {
  optimizer,
  sgd,
  momentum,
  nesterov,
  adagrad,
  rmsprop,
  adam,
  newton,
  levenbergMarquardt,
  hessianFree,
  type OptimizerSpec,
  type OptimizerKind,
} from "./optimizers.js";
// Symbolic inspection (src/inspect): expressions, gradients, drawings and paths, printable as text, LaTeX and in notebooks.
export { symbol, symbols, evaluate, parse } from "./inspect/symbolic.js";
export { display, graph, equations, Equations } from "./inspect/display.js";
export { paths, PathReport } from "./inspect/paths.js";
export { ComputationGraph } from "./inspect/graph.js";
// The model view: inspect(mlp) (or a definition as a notebook cell's value) shows its equations with shapes and its drawing.
export { inspect, inspectModel, type ModelInspection, type InspectOptions, type ValueShape } from "./inspect/model.js";
export { inspectHessian, type HessianInspection } from "./inspect/hessian.js";
export type { Displayable } from "./print/notebook.js";
