// XOR with a 2-4-1 sigmoid network: the classic first backpropagation exercise.
import { model, nn } from "gradgen";

export default model("xor", ({ input, param }) => {
  const x = input("x", [2]);
  const t = input("t", [1]);
  const W1 = param("W1", [2, 4], { init: "xavier" });
  const b1 = param("b1", [4]);
  const W2 = param("W2", [4, 1], { init: "xavier" });
  const b2 = param("b2", [1]);
  const h = nn.sigmoid(x.matmul(W1).add(b1));
  const y = nn.sigmoid(h.matmul(W2).add(b2));
  return { loss: nn.halfSquaredError(y, t), outputs: { y } };
});
