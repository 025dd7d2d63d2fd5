// A hand-written, allocation-free plain-JavaScript MLP trainer: bench/peers.mjs's reference for what
// careful plain JS does without a compiler. Float32Array storage, double-precision accumulation,
// matrix products in one 4×4 register-blocked routine (the three layouts of a training step are
// strides of the same loop), bias + activation in the pass after the forward product, the SGD
// update after the backward sweep. Every buffer is allocated in createReferenceTrainer.
//
//   createReferenceTrainer({ sizes: [784, 128, 10], hidden: "relu", loss: "softmaxCrossEntropy",
//                            batch: 64, learningRate: 0.05, params: { W1, b1, W2, b2 } })
//     .step({ x, label }) → mean loss before the update
//
// hidden: "relu" | "sigmoid"; loss: "softmaxCrossEntropy" (identity output, input name `label`) or
// "halfSquaredError" (sigmoid output, input name `t`). Parameters: W_l is [in, out] row-major, b_l [out].

/**
 * C[i·cRow + j] = Σ_p A[aOff + i·aRow + p·aCol] · B[bOff + p·bRow + j·bCol]  (i < m, j < n, p < k),
 * 4×4 blocks of C in 16 locals, the remainder rows and columns by the plain triple loop.
 */
export function gemm(m, n, k, A, aOff, aRow, aCol, B, bOff, bRow, bCol, C, cRow) {
  const m4 = m & ~3;
  const n4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const a0 = aOff + i * aRow,
      a1 = a0 + aRow,
      a2 = a1 + aRow,
      a3 = a2 + aRow;
    for (let j = 0; j < n4; j += 4) {
      const b0 = bOff + j * bCol,
        b1 = b0 + bCol,
        b2 = b1 + bCol,
        b3 = b2 + bCol;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let p = 0; p < k; p++) {
        const pa = p * aCol,
          pb = p * bRow;
        const x0 = A[a0 + pa],
          x1 = A[a1 + pa],
          x2 = A[a2 + pa],
          x3 = A[a3 + pa];
        const y0 = B[b0 + pb],
          y1 = B[b1 + pb],
          y2 = B[b2 + pb],
          y3 = B[b3 + pb];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      let c = i * cRow + j;
      C[c] = c00;
      C[c + 1] = c01;
      C[c + 2] = c02;
      C[c + 3] = c03;
      c += cRow;
      C[c] = c10;
      C[c + 1] = c11;
      C[c + 2] = c12;
      C[c + 3] = c13;
      c += cRow;
      C[c] = c20;
      C[c + 1] = c21;
      C[c + 2] = c22;
      C[c + 3] = c23;
      c += cRow;
      C[c] = c30;
      C[c + 1] = c31;
      C[c + 2] = c32;
      C[c + 3] = c33;
    }
  }
  // Remainders: rows m4..m (all columns) and columns n4..n of rows 0..m4.
  for (let i = 0; i < m; i++) {
    for (let j = i < m4 ? n4 : 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += A[aOff + i * aRow + p * aCol] * B[bOff + p * bRow + j * bCol];
      C[i * cRow + j] = sum;
    }
  }
}

export function createReferenceTrainer({ sizes, hidden, loss, batch, learningRate, params }) {
  const L = sizes.length - 1;
  const W = [],
    b = [],
    gW = [],
    gb = [],
    act = [null],
    delta = [null];
  for (let l = 1; l <= L; l++) {
    W[l] = Float32Array.from(params[`W${l}`]);
    b[l] = Float32Array.from(params[`b${l}`]);
    gW[l] = new Float32Array(sizes[l - 1] * sizes[l]);
    gb[l] = new Float32Array(sizes[l]);
    act[l] = new Float32Array(batch * sizes[l]);
    delta[l] = new Float32Array(batch * sizes[l]);
  }
  const sigmoidHidden = hidden === "sigmoid";
  const softmaxLoss = loss === "softmaxCrossEntropy";
  const targetName = softmaxLoss ? "label" : "t";
  const trainer = {
    params: Object.fromEntries(
      Array.from({ length: L }, (_, i) => [
        [`W${i + 1}`, W[i + 1]],
        [`b${i + 1}`, b[i + 1]],
      ]).flat(),
    ),
    learningRate,
    step(inputs, n = batch) {
      const x = inputs.x,
        target = inputs[targetName];
      // Forward: act_l = f(act_{l−1} · W_l + b_l); the output layer keeps logits (softmax) or σ (squared error).
      for (let l = 1; l <= L; l++) {
        const fanIn = sizes[l - 1],
          out = sizes[l];
        const input = l === 1 ? x : act[l - 1];
        const a = act[l],
          bias = b[l];
        gemm(n, out, fanIn, input, 0, fanIn, 1, W[l], 0, out, 1, a, out);
        const last = l === L;
        for (let e = 0; e < n; e++) {
          const row = e * out;
          if (last && softmaxLoss) for (let j = 0; j < out; j++) a[row + j] += bias[j];
          else if (last || sigmoidHidden)
            for (let j = 0; j < out; j++) a[row + j] = 1 / (1 + Math.exp(-(a[row + j] + bias[j])));
          else
            for (let j = 0; j < out; j++) {
              const z = a[row + j] + bias[j];
              a[row + j] = z > 0 ? z : 0;
            }
        }
      }
      // Loss and the output delta ∂(mean loss)/∂z_L.
      const out = sizes[L],
        y = act[L],
        d = delta[L],
        scale = 1 / n;
      let total = 0;
      for (let e = 0; e < n; e++) {
        const row = e * out;
        if (softmaxLoss) {
          let max = -Infinity;
          for (let j = 0; j < out; j++) if (y[row + j] > max) max = y[row + j];
          let sum = 0;
          for (let j = 0; j < out; j++) sum += Math.exp(y[row + j] - max);
          const logSum = max + Math.log(sum);
          for (let j = 0; j < out; j++) {
            const t = target[row + j];
            total += t * (logSum - y[row + j]);
            d[row + j] = (Math.exp(y[row + j] - logSum) - t) * scale;
          }
        } else {
          for (let j = 0; j < out; j++) {
            const v = y[row + j],
              diff = v - target[row + j];
            total += 0.5 * diff * diff;
            d[row + j] = diff * v * (1 - v) * scale;
          }
        }
      }
      // Backward: gW_l = act_{l−1}ᵀ · δ_l, gb_l = Σ_e δ_l, δ_{l−1} = (δ_l · W_lᵀ) ⊙ f′.
      for (let l = L; l >= 1; l--) {
        const fanIn = sizes[l - 1],
          outL = sizes[l];
        const input = l === 1 ? x : act[l - 1];
        const dl = delta[l],
          g = gb[l];
        gemm(fanIn, outL, n, input, 0, 1, fanIn, dl, 0, outL, 1, gW[l], outL);
        g.fill(0);
        for (let e = 0; e < n; e++) for (let j = 0; j < outL; j++) g[j] += dl[e * outL + j];
        if (l > 1) {
          const prev = delta[l - 1],
            a = act[l - 1];
          gemm(n, fanIn, outL, dl, 0, outL, 1, W[l], 0, 1, outL, prev, fanIn);
          const size = n * fanIn;
          if (sigmoidHidden)
            for (let i = 0; i < size; i++) {
              const v = a[i];
              prev[i] *= v * (1 - v);
            }
          else for (let i = 0; i < size; i++) if (!(a[i] > 0)) prev[i] = 0;
        }
      }
      // SGD.
      const rate = trainer.learningRate;
      for (let l = 1; l <= L; l++) {
        const w = W[l],
          gw = gW[l],
          bias = b[l],
          g = gb[l];
        for (let i = 0; i < w.length; i++) w[i] -= rate * gw[i];
        for (let j = 0; j < bias.length; j++) bias[j] -= rate * g[j];
      }
      return total * scale;
    },
  };
  return trainer;
}
