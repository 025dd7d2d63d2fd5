// bench/peers.mjs's "small" model: a 64-64-10 ReLU network with softmax cross-entropy.
import { model, nn } from "gradgen";

export default model("small", ({ input, param }) => {
  const x = input("x", [64]);
  const label = input("label", [10]); // one-hot
  const W1 = param("W1", [64, 64], { init: "he" });
  const b1 = param("b1", [64]);
  const W2 = param("W2", [64, 10], { init: "xavier" });
  const b2 = param("b2", [10]);
  const hidden = nn.relu(x.matmul(W1).add(b1));
  const logits = hidden.matmul(W2).add(b2);
  return { loss: nn.softmaxCrossEntropy(logits, label), outputs: { probabilities: nn.softmax(logits) } };
});
