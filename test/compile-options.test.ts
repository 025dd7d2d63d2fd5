// Where the optimizer comes from: the model file's choice, overridden by compile options (the CLI's flags).
import { describe, expect, it } from "vitest";
import { adam, model, momentum, nn } from "gradgen";
import { resolveOptions } from "../src/compile.js";

const withAdam = model("withAdam", ({ input, param }) => {
  const x = input("x", [2]);
  const w = param("w", [2]);
  return { loss: nn.l2(x.mul(w)) };
}, { optimizer: adam({ learningRate: 0.003, beta2: 0.99 }) });

describe("optimizer options", () => {
  it("the model's optimizer is used when no option names one", () => {
    expect(resolveOptions({}, withAdam.options).optimizer).toEqual({ kind: "adam", learningRate: 0.003, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0 });
  });

  it("a learning rate option keeps the model's optimizer and its other hyperparameters", () => {
    expect(resolveOptions({ learningRate: 0.01 }, withAdam.options).optimizer).toMatchObject({ kind: "adam", learningRate: 0.01, beta2: 0.99 });
  });

  it("another optimizer kind starts from that optimizer's defaults", () => {
    expect(resolveOptions({ optimizer: "momentum", hyperparameters: { alpha: 0.5 } }, withAdam.options).optimizer)
      .toEqual({ kind: "momentum", learningRate: 0.01, alpha: 0.5, weightDecay: 0 });
  });

  it("without any choice, sgd with learning rate 0.1", () => {
    expect(resolveOptions({}).optimizer).toEqual({ kind: "sgd", learningRate: 0.1, weightDecay: 0 });
  });

  it("bad hyperparameters are refused with the optimizer's own list", () => {
    expect(() => resolveOptions({ optimizer: "sgd", hyperparameters: { beta1: 0.9 } })).toThrow(/sgd has no hyperparameter "beta1"; it takes learningRate, weightDecay/);
    expect(() => momentum({ alpha: 1.5 })).toThrow(/alpha must be a number in \[0, 1\), got 1.5/);
    expect(() => model("bad", () => ({ loss: undefined as never }), { optimizer: { kind: "adam", learningRate: -1 } as never })).toThrow(/≥ 0|positive/);
  });
});
