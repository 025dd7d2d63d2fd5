// Rosenbrock's function f(x, y) = (1 − x)² + 100·(y − x²)², an objective of two parameters and no
// data: the model has no inputs, so its trainer's loss(), gradient() and step() take no batch. Its
// minimum is f(1, 1) = 0 at the end of a long curved valley; Adam finds it (test/e2e/rosenbrock.test.ts).
import { model } from "gradgen";

// Compiled with Adam: gradgen compile examples/rosenbrock.ts --optimizer adam --lr 0.02 (npm run generate).
export default model("rosenbrock", ({ param }) => {
  const x = param("x", [], { init: -1.5 });
  const y = param("y", [], { init: 2 });
  const f = x.neg().add(1).square().add(y.sub(x.square()).square().mul(100));
  return { loss: f, outputs: { f } };
});
