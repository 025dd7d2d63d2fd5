// A 784-128-10 ReLU network for MNIST-sized inputs, trained with softmax cross-entropy.
import { model, nn } from "gradgen";

export default model("mlp", ({ input, param }) => {
  const x = input("x", [784]);
  const label = input("label", [10]); // one-hot
  const W1 = param("W1", [784, 128], { init: "he" });
  const b1 = param("b1", [128]);
  const W2 = param("W2", [128, 10], { init: "xavier" });
  const b2 = param("b2", [10]);
  const hidden = nn.relu(x.matmul(W1).add(b1));
  const logits = hidden.matmul(W2).add(b2);
  return { loss: nn.softmaxCrossEntropy(logits, label), outputs: { probabilities: nn.softmax(logits) } };
});
