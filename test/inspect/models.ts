// Models the printing tests share: gradient penalties (a gradient inside the loss), a tanh RNN, and
// a sigmoid layer with binary cross-entropy, besides the models of examples/.
import { readdirSync } from "node:fs";
import { grad, model, nn, type ModelDefinition } from "gradgen";
import type { ModelBuilder } from "../../src/dsl/model.js";
import type { Tensor } from "../../src/dsl/tensor.js";

/** f(x) = Σ tanh(x·W + c) ⊙ v, a scalar per example (as in test/ops.test.ts). */
function smallNet(b: ModelBuilder, hidden = 4): { x: Tensor; W: Tensor; f: Tensor } {
  const x = b.input("x", [3]);
  const W = b.param("W", [3, hidden]);
  const f = nn
    .tanh(x.matmul(W).add(b.param("c", [hidden])))
    .mul(b.param("v", [hidden]))
    .sum();
  return { x, W, f };
}

export const inputPenalty = model("inputPenalty", (b) => {
  const { x, f } = smallNet(b);
  return { loss: f.add(grad(f, x).square().sum()) };
});

export const rnn = model("rnn", ({ input, param }) => {
  const Wx = param("Wx", [2, 3]);
  const Wh = param("Wh", [3, 3]);
  const bh = param("bh", [3]);
  let h = input("h0", [3]);
  for (let i = 0; i < 3; i++) h = nn.tanh(input(`x${i}`, [2]).matmul(Wx).add(h.matmul(Wh)).add(bh));
  return { loss: nn.halfSquaredError(h.matmul(param("Wo", [3, 1])), input("t", [1])) };
});

export const extraModels: Record<string, ModelDefinition> = {
  "input gradient penalty": inputPenalty,
  "parameter gradient penalty": model("paramPenalty", (b) => {
    const { W, f } = smallNet(b);
    return { loss: f.add(grad(f, W).square().sum()) };
  }),
  "parameter gradient penalty, W [3, 1]": model("columnPenalty", (b) => {
    const { W, f } = smallNet(b, 1);
    return { loss: f.add(grad(f, W).square().sum()) };
  }),
  "both gradients": model("bothGradients", (b) => {
    const { x, W, f } = smallNet(b);
    const [gx, gW] = grad(f, [x, W]);
    return { loss: gx!.mul(x).sum().add(gW!.sum()) };
  }),
  "tanh RNN over three steps": rnn,
  "binary cross-entropy of a sigmoid": model("bce", (b) => {
    const logits = b.input("x", [2]).matmul(b.param("W", [2, 3]));
    return { loss: nn.binaryCrossEntropy(nn.sigmoid(logits), b.input("t", [3])), outputs: { logits } };
  }),
};

/** The default export of every examples/*.ts, by file name. */
export async function exampleModels(): Promise<[string, ModelDefinition][]> {
  const dir = new URL("../../examples/", import.meta.url);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .sort();
  return Promise.all(
    files.map(
      async (file) =>
        [file, (await import(new URL(file, dir).href)).default as ModelDefinition] as [string, ModelDefinition],
    ),
  );
}
