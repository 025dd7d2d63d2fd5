// Sparse rows of a gather table's gradient (issue 11, src/schedule/sparse-rows.ts): gradient() zeroes
// only the rows the previous call touched and SGD (without weight decay) updates only the rows this
// call touched. Checked against the definitions: grads.E after every gradient() is the gradient
// written out by hand (rows touched by the previous call and not by this one are zero again), and
// k steps give bit-for-bit the parameters of the same model compiled dense (tuning.sparseRows false),
// for SGD, SGD with weight decay, momentum and Adam, short batches, repeated ids and two gathers of
// one table; applyUpdate() after a gradient its caller wrote takes the dense path.
import { describe, expect, it } from "vitest";
import { compile, model, nn, type CompileOptions } from "gradgen";
import { loadGenerated, type GeneratedTrainer } from "./support/load-generated.js";

const INT = { dtype: "int32" } as const;
const [V, D, C, T, BATCH] = [12, 3, 4, 3, 4];
let count = 0;

/** Int32Array ids where the test helpers' types say Float64Array (the generated module takes Int32Array). */
const ids = (values: readonly number[]) => Int32Array.from(values) as unknown as Float64Array;

/** tokens [T] → gather(E [V, D]) · W [D, C] → Σₜ −log softmax(z)[label]; `twice` adds a second gather of E. */
function embedding(twice = false) {
  return model(`sparse_${count++}`, ({ input, param }) => {
    const E = param("E", [V, D], { init: "normal" });
    let h = nn.gather(E, input("tokens", [T], INT));
    if (twice) h = h.add(nn.gather(E, input("others", [T], INT)));
    const logits = h.matmul(param("W", [D, C], { init: "xavier" }));
    return { loss: nn.sparseSoftmaxCrossEntropy(logits, input("labels", [T], INT)) };
  });
}

/** ∂/∂E of the mean over n examples of Σₜ −log softmax(E[id]·W)[label], from the definition (f64). */
function expectedGradE(E: ArrayLike<number>, W: ArrayLike<number>, tokens: number[], labels: number[], n: number) {
  const grad = new Float64Array(V * D);
  for (let p = 0; p < n * T; p++) {
    const row = tokens[p]!;
    const z = Array.from({ length: C }, (_, c) => {
      let s = 0;
      for (let k = 0; k < D; k++) s += E[row * D + k]! * W[k * C + c]!;
      return s;
    });
    const m = Math.max(...z);
    const total = z.reduce((s, v) => s + Math.exp(v - m), 0);
    // ∂ℓ/∂z = softmax(z) − onehot(label); ∂ℓ/∂E[row, k] = Σ_c ∂ℓ/∂z_c · W[k, c]
    const dz = z.map((v, c) => Math.exp(v - m) / total - (c === labels[p] ? 1 : 0));
    for (let k = 0; k < D; k++) for (let c = 0; c < C; c++) grad[row * D + k]! += (dz[c]! * W[k * C + c]!) / n;
  }
  return grad;
}

/** Seeded batches of n examples; ids drawn from `rows` (so calls touch chosen rows, with repeats). */
function batch(seed: number, rows: readonly number[], n = BATCH) {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = () => rows[Math.floor(next() * rows.length)]!;
  const tokens = Array.from({ length: n * T }, pick);
  const others = Array.from({ length: n * T }, pick);
  const labels = Array.from({ length: n * T }, () => Math.floor(next() * C));
  return { tokens, others, labels, fields: { tokens: ids(tokens), others: ids(others), labels: ids(labels) } };
}

async function pair(options: CompileOptions, twice = false) {
  const definition = embedding(twice);
  const sparse = await loadGenerated(definition, BATCH, options);
  const dense = await loadGenerated(definition, BATCH, { ...options, tuning: { sparseRows: false } });
  return { sparse, dense };
}

describe("a gather table's gradient is zeroed and updated only at the rows the ids touched", () => {
  it("the sparse path is what gets compiled: E's rows are tracked, W's and a dense compile's are not", async () => {
    const { sparse, dense } = await pair({ learningRate: 0.1 });
    expect(sparse.source).toContain("touchedCount_E");
    expect(sparse.source).toContain("only the rows the ids touched");
    expect(sparse.source).not.toContain("touchedCount_W");
    expect(dense.source).not.toContain("touched");
  });

  it("grads.E after each gradient() is the gradient from the definition: rows touched only last call are zero again", async () => {
    const { sparse } = await pair({ learningRate: 0.1 });
    const trainer = sparse.createTrainer({ seed: 3 });
    // Calls touching rows {0, 1, 2}, then {5, 7} (0–2 must be zeroed), then {1, 5, 9} (overlapping), short batch last.
    const calls = [batch(1, [0, 1, 2]), batch(2, [5, 7]), batch(3, [1, 5, 9]), batch(4, [2, 11], 2)];
    for (const call of calls) {
      const n = call.tokens.length / T;
      trainer.gradient(call.fields, n);
      const expected = expectedGradE(trainer.params.E!, trainer.params.W!, call.tokens, call.labels, n);
      const got = trainer.grads.E!;
      for (let i = 0; i < V * D; i++) {
        if (expected[i] === 0) expect(got[i], `row ${Math.floor(i / D)}`).toBe(0);
        else expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-12);
      }
    }
  });

  it("gradients between steps equal the dense compile's bit for bit", async () => {
    const { sparse, dense } = await pair({ learningRate: 0.5 });
    const [a, b] = [sparse.createTrainer({ seed: 5 }), dense.createTrainer({ seed: 5 })];
    for (let k = 0; k < 6; k++) {
      const call = batch(10 + k, k % 2 ? [0, 3, 4] : [4, 8, 10, 11], k === 3 ? 1 : BATCH);
      const n = call.tokens.length / T;
      expect(a.gradient(call.fields, n)).toBe(b.gradient(call.fields, n));
      expect([...a.grads.E!]).toEqual([...b.grads.E!]);
      a.step(call.fields, n);
      b.step(call.fields, n);
    }
  });

  const optimizers: [string, CompileOptions][] = [
    ["sgd", { learningRate: 0.5 }],
    ["sgd in f32", { learningRate: 0.5, dtype: "f32" }],
    ["sgd with weight decay (dense update)", { learningRate: 0.5, hyperparameters: { weightDecay: 0.1 } }],
    ["momentum (dense update)", { optimizer: "momentum", learningRate: 0.1 }],
    ["nesterov (dense update)", { optimizer: "nesterov", learningRate: 0.1 }],
    ["adam (dense update)", { optimizer: "adam", learningRate: 0.05 }],
  ];
  for (const [name, options] of optimizers) {
    for (const twice of [false, true]) {
      it(`${name}${twice ? ", two gathers of E (their sum is dense for now)" : ""}: 8 steps give the dense compile's parameters bit for bit`, async () => {
        const { sparse, dense } = await pair(options, twice);
        const [a, b] = [sparse.createTrainer({ seed: 7 }), dense.createTrainer({ seed: 7 })];
        expect([...a.params.E!]).toEqual([...b.params.E!]);
        const E0 = [...a.params.E!];
        for (let k = 0; k < 8; k++) {
          const call = batch(20 + k, k < 4 ? [1, 2, 6] : [6, 9, 2, 11], k === 5 ? 3 : BATCH);
          const n = call.tokens.length / T;
          expect(a.step(call.fields, n)).toBe(b.step(call.fields, n));
        }
        expect([...a.params.E!]).toEqual([...b.params.E!]);
        expect([...a.params.W!]).toEqual([...b.params.W!]);
        expect([...a.params.E!]).not.toEqual(E0);
        // Rows no call touched have g = 0 at every step (and zero moments): only weight decay moves them.
        const untouched = [0, 3, 4, 5, 7, 8, 10].flatMap((r) => [0, 1, 2].map((k) => r * D + k));
        const moved = untouched.filter((i) => a.params.E![i] !== E0[i]);
        expect(moved.length).toBe(options.hyperparameters?.weightDecay ? untouched.length : 0);
      });
    }
  }

  it("applyUpdate() after a gradient its caller wrote (data-parallel averaging) updates and later zeroes every row", async () => {
    const { sparse, dense } = await pair({ learningRate: 0.5 });
    type Splittable = GeneratedTrainer & { applyUpdate(): void };
    const a = sparse.createTrainer({ seed: 9 }) as Splittable;
    const b = dense.createTrainer({ seed: 9 }) as Splittable;
    for (let k = 0; k < 3; k++) {
      const call = batch(30 + k, [0, 1]);
      a.gradient(call.fields);
      b.gradient(call.fields);
      // Rows 8 and 9 were touched by no call: written here, as another thread's share would be.
      for (const t of [a, b]) t.grads.E!.fill(0.25, 8 * D, 10 * D);
      a.applyUpdate();
      b.applyUpdate();
      expect([...a.params.E!]).toEqual([...b.params.E!]);
    }
    // The next gradient() zeroes all of it (rows 8 and 9 too), then steps go sparse again.
    const call = batch(40, [3]);
    a.gradient(call.fields);
    expect([...a.grads.E!].slice(8 * D, 10 * D)).toEqual(new Array(2 * D).fill(0));
    for (let k = 0; k < 3; k++) {
      const next = batch(41 + k, [3, 4, 8]);
      a.step(next.fields);
      b.step(next.fields);
    }
    expect([...a.params.E!]).toEqual([...b.params.E!]);
  });

  it("a table also used densely (tied output weights) keeps the dense gradient", () => {
    const definition = model(`sparse_${count++}`, ({ input, param }) => {
      const E = param("E", [V, D], { init: "normal" });
      const logits = nn.gather(E, input("tokens", [T], INT)).matmul(E.transpose([1, 0]));
      return { loss: nn.sparseSoftmaxCrossEntropy(logits, input("labels", [T], INT)) };
    });
    const { files } = compile(definition, { batch: BATCH, learningRate: 0.1 });
    expect(files[0]!.contents).not.toContain("touched");
  });
});
