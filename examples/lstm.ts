// An LSTM written with nn.scan, on the adding problem (Hochreiter & Schmidhuber 1997, experiment 4): each
// step t reads a pair (v_t, m_t), v_t uniform in [0, 1] and m_t a marker that is 1 at exactly two steps and
// 0 elsewhere; the target is the sum of the two marked values. The marked steps are anywhere in the
// sequence, so the network has to carry what it saw across the steps in between. Predicting the mean (1)
// gives a mean squared error of 1/6 ≈ 0.167. The step (one LSTM cell: input, forget and output gates and a
// tanh candidate, the carry [h; c]) is traced once; the generated code is one loop over the 20 steps.
// examples/train/lstm.ts trains it (Adam) on random sequences.
import { adam, constant, model, nn, type Tensor } from "gradgen";

const LENGTH = 20; // steps per sequence
const HIDDEN = 16; // h and c each

export default model(
  "lstm",
  ({ input, param }) => {
    const xs = input("xs", [LENGTH, 2]); // (value, marker) per step
    const target = input("target", [1]);
    const W = param("W", [4 * HIDDEN, 2 + HIDDEN], { init: "xavier" }); // the four gates' weights, stacked
    const b = param("b", [4 * HIDDEN]);
    // The forget gate's bias starts at 1 (Gers et al. 2000; Jozefowicz et al. 2015), a constant offset added
    // to b: the cell keeps what it holds until it learns not to.
    const offset = constant(
      Array.from({ length: 4 * HIDDEN }, (_, i) => (i >= HIDDEN && i < 2 * HIDDEN ? 1 : 0)),
      [4 * HIDDEN],
    );
    const step = (carry: Tensor, x: Tensor): [Tensor, Tensor] => {
      const h = carry.slice([0], [HIDDEN]);
      const c = carry.slice([HIDDEN], [HIDDEN]);
      const gates = W.matmul(nn.concat([x, h]))
        .add(b)
        .add(offset); // [4H]: input, forget, output, candidate
      const gate = (k: number) => gates.slice([k * HIDDEN], [HIDDEN]);
      const [i, f, o, g] = [nn.sigmoid(gate(0)), nn.sigmoid(gate(1)), nn.sigmoid(gate(2)), nn.tanh(gate(3))];
      const cNext = f.mul(c).add(i.mul(g));
      const hNext = o.mul(nn.tanh(cNext));
      return [nn.concat([hNext, cNext]), hNext];
    };
    const zeros = constant(new Array<number>(2 * HIDDEN).fill(0), [2 * HIDDEN]);
    const [last] = nn.scan(step, zeros, xs, { length: LENGTH });
    const Wo = param("Wo", [1, HIDDEN], { init: "xavier" });
    const bo = param("bo", [1]);
    const prediction = Wo.matmul(last.slice([0], [HIDDEN]).reshape([HIDDEN, 1]))
      .reshape([1])
      .add(bo);
    // Squared error per sequence (the loss is its mean over the batch)
    return { loss: prediction.sub(target).square().sum(), outputs: { sum: prediction } };
  },
  { optimizer: adam({ learningRate: 1e-2 }) },
);
