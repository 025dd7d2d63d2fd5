// A ReLU network of any depth with softmax cross-entropy (built by compiled gradgen in dist/).
import { model, nn } from "../../dist/index.js";

export function reluMlp(name, sizes) {
  return model(name, ({ input, param }) => {
    const x = input("x", [sizes[0]]);
    const label = input("label", [sizes[sizes.length - 1]]);
    let h = x;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const W = param(`W${l + 1}`, [sizes[l], sizes[l + 1]], { init: "he" });
      const b = param(`b${l + 1}`, [sizes[l + 1]]);
      h = h.matmul(W).add(b);
      if (l + 2 < sizes.length) h = nn.relu(h);
    }
    return { loss: nn.softmaxCrossEntropy(h, label) };
  });
}
