// A small problem for comparing optimizers: three interleaved spirals in the plane, classified by a
// 2-32-3 tanh network with softmax cross-entropy. examples/train/optimizers.ts compiles it once per
// optimizer (sgd, momentum, nesterov, adagrad, rmsprop, adam) and charts the loss curves.
import { model, nn } from "gradgen";

export default model("optimizers", ({ input, param }) => {
  const x = input("x", [2]);
  const label = input("label", [3]); // one-hot: which arm of the spiral
  const W1 = param("W1", [2, 32], { init: "xavier" });
  const b1 = param("b1", [32]);
  const W2 = param("W2", [32, 3], { init: "xavier" });
  const b2 = param("b2", [3]);
  const hidden = nn.tanh(x.matmul(W1).add(b1));
  const logits = hidden.matmul(W2).add(b2);
  return { loss: nn.softmaxCrossEntropy(logits, label), outputs: { probabilities: nn.softmax(logits) } };
});
