// f = (x + y)·z, the first circuit of the backpropagation lectures. The inputs ask for gradients,
// so trainer.gradient() also fills inputGrads with ∂f/∂x, ∂f/∂y, ∂f/∂z.
import { model } from "gradgen";

export default model("circuit", ({ input }) => {
  const x = input("x", [], { grad: true });
  const y = input("y", [], { grad: true });
  const z = input("z", [], { grad: true });
  const f = x.add(y).mul(z);
  return { loss: f, outputs: { f } };
});
