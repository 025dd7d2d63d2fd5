// bench/peers.mjs's "wide" model: a 784-512-512-10 ReLU network with softmax cross-entropy.
import { model, nn } from "gradgen";

export default model("wide", ({ input, param }) => {
  const x = input("x", [784]);
  const label = input("label", [10]); // one-hot
  const W1 = param("W1", [784, 512], { init: "he" });
  const b1 = param("b1", [512]);
  const W2 = param("W2", [512, 512], { init: "he" });
  const b2 = param("b2", [512]);
  const W3 = param("W3", [512, 10], { init: "xavier" });
  const b3 = param("b3", [10]);
  const h1 = nn.relu(x.matmul(W1).add(b1));
  const h2 = nn.relu(h1.matmul(W2).add(b2));
  const logits = h2.matmul(W3).add(b3);
  return { loss: nn.softmaxCrossEntropy(logits, label), outputs: { probabilities: nn.softmax(logits) } };
});
