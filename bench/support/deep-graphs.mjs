// Models whose graphs are deep or wide, for the compiler's depth tests (test/ir/deep-graphs.test.ts)
// and benchmark (bench/compile-depth.mjs), and the unrolled RNN of bench/scale.mjs, bench/v8-limit.mjs
// and test/emit/function-sizes.test.ts. Each takes the gradgen module to build with (the sources
// in tests, the built dist/ in child processes and benchmarks) and a size.

/** x ↦ a·x + b, `pairs` times (2·pairs ops); ∂loss/∂x = a^pairs. */
export function affineChain({ model }, pairs, a = 1.0001, b = 0.001) {
  return model("affineChain", ({ input }) => {
    let x = input("x", [], { grad: true });
    for (let i = 0; i < pairs; i++) x = x.mul(a).add(b);
    return { loss: x };
  });
}

/** w·x, then sin and tanh alternately, `ops` of them in all. */
export function sinTanhChain({ model, nn }, ops) {
  return model("sinTanhChain", ({ input, param }) => {
    const w = param("w", [], { init: 0.5 });
    let h = input("x", []).mul(w);
    for (let i = 0; i < ops; i++) h = i % 2 === 0 ? h.sin() : nn.tanh(h);
    return { loss: h };
  });
}

/** (x + p0 + p1 + … + p(count−1))², one scalar parameter per term; ∂loss/∂pᵢ = 2·(x + Σp). */
export function parameterSum({ model }, count) {
  return model("parameterSum", ({ input, param }) => {
    let sum = input("x", []);
    for (let i = 0; i < count; i++) sum = sum.add(param(`p${i}`, [], { init: 0.001 }));
    return { loss: sum.mul(sum) };
  });
}

/**
 * Elman RNN unrolled over `steps` steps: h = tanh(x_t·Wx + h·Wh + bh), x_t[8] an input per step (h before
 * the first step is 0), hidden 16, then ½(h·Wo − t)²: steps + 1 inputs, and Wx, Wh shared by every step.
 */
export function unrolledRnn({ model, nn }, steps) {
  return model("rnn", ({ input, param }) => {
    const Wx = param("Wx", [8, 16], { init: "xavier" });
    const Wh = param("Wh", [16, 16], { init: "xavier" });
    const bh = param("bh", [16]);
    let h = nn.tanh(input("x0", [8]).matmul(Wx).add(bh));
    for (let t = 1; t < steps; t++) h = nn.tanh(input(`x${t}`, [8]).matmul(Wx).add(h.matmul(Wh)).add(bh));
    return { loss: nn.halfSquaredError(h.matmul(param("Wo", [16, 1], { init: "xavier" })), input("t", [1])) };
  });
}

export const deepGraphs = { affineChain, sinTanhChain, parameterSum };
