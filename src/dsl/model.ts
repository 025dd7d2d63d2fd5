// model(name, build): a plain value describing a model. Tracing runs `build` once with `input` and
// `param` factories and records the per-example graph; the batch is added by the compiler.

import { GradgenError, type SourceLocation } from "../errors.js";
import { makeNode, type Node } from "../ir/node.js";
import { initProblem, type Fans, type InitSpec } from "../initializers.js";
import { optimizer, type OptimizerSpec } from "../optimizers.js";
import { Op } from "../ir/ops.js";
import { formatShape, type Shape } from "../ir/shape.js";
import { callerLocation } from "./callsite.js";
import { Tensor } from "./tensor.js";
import { activeTrace, newTrace, recordOrigin, withTrace } from "./trace.js";

export interface InputOptions {
  /** Also report ∂loss/∂input from gradient() (input sensitivities, adversarial examples). */
  readonly grad?: boolean;
  /** "int32": integer ids (the batch field is an Int32Array), read by nn.gather, nn.oneHot, nn.sparseSoftmaxCrossEntropy. */
  readonly dtype?: "float32" | "int32";
}

export interface ParamOptions {
  /** "zeros" (default), "ones", "uniform", "normal", "lecun", "xavier"/"glorot", "xavierNormal", "he", "heUniform", a constant, or init.uniform/normal/sparse(...). */
  readonly init?: InitSpec;
  /**
   * false: a frozen value — settable (createTrainer({ params })), saved in checkpoints, never updated
   * by the optimizer; no gradient flows into it (its grads entry stays 0).
   */
  readonly trainable?: boolean;
}

export interface ModelBuilder {
  input(name: string, shape: Shape, options?: InputOptions): Tensor;
  param(name: string, shape: Shape, options?: ParamOptions): Tensor;
}

export interface ModelResult {
  /** The per-example loss, a scalar; the trainer averages it over the batch. */
  readonly loss: Tensor;
  /** Named values predict() returns. */
  readonly outputs?: Readonly<Record<string, Tensor>>;
}

export interface ModelOptions {
  /** The update step() applies, e.g. adam({ learningRate: 1e-3 }); the CLI's flags take precedence. */
  readonly optimizer?: OptimizerSpec;
}

export interface ModelDefinition {
  readonly kind: "gradgen.model";
  readonly name: string;
  readonly build: (builder: ModelBuilder) => ModelResult;
  readonly options: ModelOptions;
  readonly origin: SourceLocation | undefined;
}

export interface TracedModel {
  readonly name: string;
  readonly inputs: readonly Node[];
  readonly params: readonly Node[];
  /** Per-example loss (batched scalar). */
  readonly loss: Node;
  readonly outputs: readonly { readonly name: string; readonly node: Node }[];
  /** The residual r when the loss is nn.leastSquares(r) (½‖r‖² per example). */
  readonly residual?: Node;
  /** Where this model's file created each node (first use within this model, whatever else was traced before). */
  readonly origins: ReadonlyMap<Node, SourceLocation>;
  /** Parameters used as conv1d/conv2d filters → their fans (C·∏k in, O·∏k out) for "he", "xavier", …. */
  readonly filterFans?: ReadonlyMap<Node, Fans>;
}

/**
 * A JavaScript identifier (ECMAScript's IdentifierName: Unicode letters, digits, `_` and `$`, not
 * starting with a digit). Generated code holds user names only in strings and behind role prefixes
 * (src/schedule/names.ts), so reserved words, `__proto__` and the templates' own names all work.
 */
const identifier = /^[\p{ID_Start}_$][\p{ID_Continue}$\u200C\u200D]*$/u;
/** Windows cannot create files with these names (any extension), and the model name names the generated file. */
const windowsDeviceName = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/** A fresh dropout mask for the model being traced. */
export function newDropoutMask(shape: Shape, dropProbability: number): Node {
  const trace = activeTrace();
  if (!trace) {
    throw new GradgenError(
      `nn.dropout can only be used inside a model(...) definition, where training steps draw its masks.`,
    );
  }
  return makeNode(Op.DropoutMask, [], { name: `dropout${trace.dropoutMasks++}`, shape: [...shape], dropProbability });
}

export function model(
  name: string,
  build: (builder: ModelBuilder) => ModelResult,
  options: ModelOptions = {},
): ModelDefinition {
  const origin = callerLocation();
  if (typeof name !== "string" || !identifier.test(name)) {
    throw new GradgenError(
      `model name ${JSON.stringify(name)} is not an identifier; it names the generated file, so use letters, digits, _ and $ (not starting with a digit), e.g. "mlp".`,
      origin,
    );
  }
  if (windowsDeviceName.test(name)) {
    throw new GradgenError(
      `model name ${JSON.stringify(name)} names the generated file ${name}.ts, which Windows cannot create (${name.toUpperCase()} is a device name there); choose another name, e.g. "${name}Model".`,
      origin,
    );
  }
  if (options.optimizer !== undefined) {
    try {
      const { kind, ...hyperparameters } = options.optimizer;
      optimizer(kind, hyperparameters as never);
    } catch (error) {
      if (error instanceof GradgenError) throw new GradgenError(error.message, origin);
      throw error;
    }
  }
  return Object.freeze(
    Object.assign(Object.create(definitionDisplay) as object, {
      kind: "gradgen.model" as const,
      name,
      build,
      options,
      origin,
    }),
  );
}

type MimeBundle = Readonly<Record<string, string | undefined>>;
interface ModelView {
  toMimeBundle(): MimeBundle;
}

// How a definition shows in a notebook (its equations) or on a console. src/inspect/model.ts sets
// it, so the compile path does not load the printer.
let viewModel: ((definition: ModelDefinition) => ModelView) | undefined;
export function setModelViewer(viewer: (definition: ModelDefinition) => ModelView): void {
  viewModel = viewer;
}

function viewOrProblem(definition: ModelDefinition): ModelView | string {
  if (!viewModel) return `model ${definition.name}`;
  try {
    return viewModel(definition);
  } catch (error) {
    return `model ${definition.name}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

// The prototype of every definition: no string-named members, so Deno's notebook does not mistake
// a definition for a chart, canvas or DOM node.
const definitionDisplay = {
  [Symbol.for("Jupyter.display")](this: ModelDefinition): MimeBundle {
    const view = viewOrProblem(this);
    return typeof view === "string" ? { "text/plain": view } : view.toMimeBundle();
  },
  [Symbol.for("nodejs.util.inspect.custom")](this: ModelDefinition, ...args: unknown[]): string {
    const view = viewOrProblem(this);
    if (typeof view === "string") return view;
    const custom = (view as unknown as Record<symbol, (...a: unknown[]) => string>)[
      Symbol.for("nodejs.util.inspect.custom")
    ]!;
    return custom.apply(view, args);
  },
};

export function isModelDefinition(value: unknown): value is ModelDefinition {
  return typeof value === "object" && value !== null && (value as ModelDefinition).kind === "gradgen.model";
}

function checkShape(what: string, name: string, shape: Shape, location: SourceLocation | undefined): void {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new GradgenError(
      `${what} "${name}": shape ${JSON.stringify(shape)} must be an array of positive integers, e.g. [784] or [784, 128] ([] for a scalar).`,
      location,
    );
  }
}

/** Whether an input holds int32 ids; refuses an unknown dtype and a gradient with respect to ids. */
function integerInput(name: string, options: InputOptions, location: SourceLocation | undefined): boolean {
  const dtype: unknown = options.dtype;
  if (dtype !== undefined && dtype !== "float32" && dtype !== "int32")
    throw new GradgenError(
      `input "${name}": dtype ${JSON.stringify(dtype)} is not supported; use "int32" for integer ids or leave it out for float values.`,
      location,
    );
  if (dtype === "int32" && options.grad === true)
    throw new GradgenError(
      `input "${name}": an int32 input has no gradient (ids are not continuous), so { grad: true } cannot be given with dtype "int32"; ` +
        `to differentiate with respect to what the ids select, ask for the gradient of the table they index (a parameter).`,
      location,
    );
  return dtype === "int32";
}

export function traceModel(definition: ModelDefinition): TracedModel {
  const inputs: Node[] = [];
  const params: Node[] = [];
  const declared = new Map<string, SourceLocation | undefined>();

  function declare(what: string, name: string, shape: Shape): SourceLocation | undefined {
    const location = callerLocation();
    if (typeof name !== "string" || !identifier.test(name)) {
      throw new GradgenError(
        `${what} name ${JSON.stringify(name)} is not an identifier; use letters, digits, _ and $ (not starting with a digit), e.g. "x" or "W1".`,
        location,
      );
    }
    if (declared.has(name)) {
      const first = declared.get(name);
      throw new GradgenError(
        `${what} "${name}" is declared twice${first ? ` (first at ${first.file}:${first.line})` : ""}; every input and parameter needs its own name.`,
        location,
      );
    }
    checkShape(what, name, shape, location);
    declared.set(name, location);
    return location;
  }

  const builder: ModelBuilder = {
    input(name, shape, options = {}) {
      const location = declare("input", name, shape);
      const integer = integerInput(name, options, location);
      const node = makeNode(Op.Input, [], {
        name,
        shape: [...shape],
        wantsGrad: options.grad === true,
        ...(integer ? { dtype: "int32" as const } : {}),
      });
      recordOrigin(node, location);
      inputs.push(node);
      return new Tensor(node);
    },
    param(name, shape, options = {}) {
      const location = declare("param", name, shape);
      const init = options.init ?? "zeros";
      const problem = initProblem(init, shape);
      if (problem) throw new GradgenError(`param "${name}": ${problem}.`, location);
      if (options.trainable !== undefined && typeof options.trainable !== "boolean")
        throw new GradgenError(
          `param "${name}": trainable must be true or false, got ${JSON.stringify(options.trainable)}.`,
          location,
        );
      const frozen = options.trainable === false;
      const node = makeNode(Op.Param, [], { name, shape: [...shape], init, ...(frozen ? { frozen } : {}) });
      recordOrigin(node, location);
      params.push(node);
      if (!frozen) return new Tensor(node);
      // A frozen parameter is read through a stop-gradient, so nothing differentiates it.
      const stopped = makeNode(Op.StopGradient, [node]);
      recordOrigin(stopped, location);
      return new Tensor(stopped);
    },
  };

  const trace = newTrace();
  const result = withTrace(trace, () => definition.build(builder));
  const where = definition.origin;
  if (!result || !(result.loss instanceof Tensor)) {
    throw new GradgenError(
      `model "${definition.name}" must return { loss, outputs? } where loss is a tensor (for example nn.halfSquaredError(y, t)).`,
      where,
    );
  }
  if (result.loss.shape.length !== 0) {
    throw new GradgenError(
      `model "${definition.name}": the loss must be a scalar per example, but it has shape ${formatShape(result.loss.shape)}; reduce it with .sum() or .mean().`,
      result.loss.node.origin ?? where,
    );
  }
  if (!result.loss.node.batched && inputs.length > 0) {
    throw new GradgenError(
      `model "${definition.name}": the loss does not depend on any input, so there is nothing to average over the batch.`,
      result.loss.node.origin ?? where,
    );
  }
  const outputsPrototype: unknown = result.outputs == null ? null : Object.getPrototypeOf(result.outputs);
  if (outputsPrototype !== Object.prototype && outputsPrototype !== null) {
    throw new GradgenError(
      `model "${definition.name}": outputs must be a plain object of named tensors (in an object literal, \`__proto__: …\` sets the prototype; write ["__proto__"]: … for an output of that name).`,
      where,
    );
  }
  const outputs = Object.entries(result.outputs ?? {}).map(([name, tensor]) => {
    if (!identifier.test(name) || !(tensor instanceof Tensor)) {
      throw new GradgenError(
        `model "${definition.name}": output "${name}" must be a tensor with an identifier name.`,
        where,
      );
    }
    if (declared.has(name)) {
      throw new GradgenError(
        `model "${definition.name}": output "${name}" has the name of an input or parameter; give it its own name.`,
        where,
      );
    }
    return { name, node: tensor.node };
  });
  const residual = trace.leastSquares.get(result.loss.node);
  return {
    name: definition.name,
    inputs,
    params,
    loss: result.loss.node,
    outputs,
    origins: trace.origins,
    ...(trace.filterFans.size > 0 ? { filterFans: trace.filterFans } : {}),
    ...(residual ? { residual } : {}),
  };
}
