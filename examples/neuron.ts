// One sigmoid neuron, f = σ(w0·x0 + w1·x1 + w2), as drawn in the lectures' circuit diagrams.
import { model, nn } from "gradgen";

export default model("neuron", ({ input, param }) => {
  const x0 = input("x0", [], { grad: true });
  const x1 = input("x1", [], { grad: true });
  const w0 = param("w0", [], { init: 2 });
  const w1 = param("w1", [], { init: -3 });
  const w2 = param("w2", [], { init: -3 });
  const f = nn.sigmoid(w0.mul(x0).add(w1.mul(x1)).add(w2));
  return { loss: f, outputs: { f } };
});
