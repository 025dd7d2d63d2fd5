// A small transformer that sorts a sequence of 8 digits: token embeddings (nn.gather on int32 ids) plus
// learned position embeddings, two pre-norm blocks of multi-head self-attention and a swish (SiLU) MLP with
// residuals, then a per-position head trained with sparse softmax cross-entropy. The digit at output
// position t is the t-th smallest of all eight inputs, so no per-position function can produce it: the
// positions have to read each other, through the attention. examples/train/transformer.ts trains it
// (Adam) on random sequences (sorted, or reversed with --task reverse).
import { adam, init, model, nn, type Tensor } from "gradgen";

const LENGTH = 8; // tokens per sequence
const VOCAB = 10; // the digits 0–9
const D = 32; // model width
const HEADS = 4;
const DH = D / HEADS; // width of one head
const HIDDEN = 4 * D; // MLP width
const BLOCKS = 2;

export default model(
  "transformer",
  ({ input, param }) => {
    const tokens = input("tokens", [LENGTH], { dtype: "int32" });
    const target = input("target", [LENGTH], { dtype: "int32" }); // the digits sorted
    const normal = (fanIn: number) => ({ init: init.normal(0, Math.sqrt(1 / fanIn)) });
    const E = param("E", [VOCAB, D], { init: init.normal(0, 1) });
    const P = param("P", [LENGTH, D], { init: init.normal(0, 1) });
    const layerNorm = (x: Tensor, name: string) =>
      nn.layerNorm(x, param(`${name}_g`, [D], { init: "ones" }), param(`${name}_b`, [D]));

    let x = nn.gather(E, tokens).add(P); // [T, D]
    for (let b = 0; b < BLOCKS; b++) {
      // Per-head projections [HEADS, D, DH]: [T, D]·[HEADS, D, DH] broadcasts to [HEADS, T, DH].
      const Wq = param(`Wq${b}`, [HEADS, D, DH], normal(D));
      const Wk = param(`Wk${b}`, [HEADS, D, DH], normal(D));
      const Wv = param(`Wv${b}`, [HEADS, D, DH], normal(D));
      const Wo = param(`Wo${b}`, [HEADS, DH, D], normal(D)); // the heads' outputs, concatenated, times [D, D]
      const h = layerNorm(x, `ln${b}a`);
      const q = h.matmul(Wq);
      const k = h.matmul(Wk);
      const v = h.matmul(Wv);
      const scores = q.matmul(k.transpose([0, 2, 1])).mul(1 / Math.sqrt(DH)); // [HEADS, T, T]
      const attended = nn.softmax(scores, -1).matmul(v); // [HEADS, T, DH]
      x = x.add(attended.matmul(Wo).sum(0)); // [T, D]

      const W1 = param(`W1_${b}`, [D, HIDDEN], { init: "he" });
      const b1 = param(`b1_${b}`, [HIDDEN]);
      const W2 = param(`W2_${b}`, [HIDDEN, D], normal(HIDDEN));
      const b2 = param(`b2_${b}`, [D]);
      x = x.add(
        nn
          .swish(layerNorm(x, `ln${b}m`).matmul(W1).add(b1))
          .matmul(W2)
          .add(b2),
      );
    }
    const Wout = param("Wout", [D, VOCAB], { init: "xavier" });
    const bout = param("bout", [VOCAB]);
    const logits = layerNorm(x, "lnf").matmul(Wout).add(bout); // [T, VOCAB]
    // Σ over the 8 positions of −log softmax(logits[t])[target[t]]
    return { loss: nn.sparseSoftmaxCrossEntropy(logits, target), outputs: { digits: nn.argmax(logits, -1) } };
  },
  { optimizer: adam({ learningRate: 3e-3 }) },
);
