// The step of the second-order optimizers (newton, levenberg-marquardt, hessian-free), copied into generated modules by
// src/emit/runtime-source.ts when one is chosen; tested directly. The generated entry points do the
// calculus (gradient; H·v by reverse over reverse, src/grad/hessian-vector.ts); this does the linear
// algebra over the parameters as one vector θ of P entries, in buffers allocated once.
//
// One step:  g = ∇J(θ₀), J₀ = J(θ₀); then, with λ the damping (state "damping"):
//   newton:       H column by column from P products H·e_j (symmetrised), (H + λI)Δ = −g by Cholesky;
//                 levenberg-marquardt the same with G = JᵀJ/n (the generated products are G·v);
//   hessian-free: truncated conjugate gradients on (H + λI)Δ = −g, one product H·p per iteration;
//   θ = θ₀ + ε·Δ − ε·w·θ₀ (ε the learning rate, w the decoupled weight decay); accepted when J(θ) ≤ J₀
//   (within rounding). The damping schedule (Levenberg–Marquardt's): on acceptance λ ← λ/10; when H + λI
//   is not positive definite (a Cholesky pivot ≤ 0, or CG meets pᵀ(H + λI)p ≤ 0 at its first direction)
//   or the loss did not fall, λ ← max(10λ, 1e-8) and the solve is repeated from θ₀, at most 12 times;
//   if none is accepted θ stays θ₀. step() leaves J₀ in lossSlot[0], as every step does.

declare type Real = Float32Array | Float64Array;

export interface SecondOrderSettings {
  /** levenberg-marquardt is newton's solve over products with the Gauss–Newton matrix instead of H. */
  readonly method: "newton" | "levenberg-marquardt" | "hessian-free";
  readonly cgIterations: number;
  readonly weightDecay: number;
  /** Relative rise of the loss still counted as no rise (rounding of the dtype). */
  readonly tolerance: number;
}

/** The generated entry points the step calls: each reads the batch of the current call. */
export interface SecondOrderHooks {
  /** Fills the gradients, leaves the loss in lossSlot[0]. */
  readonly gradient: () => void;
  /** Fills each products buffer with (H·v) for v in the directions buffers. */
  readonly hessianVector: () => void;
  /** Leaves the loss at the current parameters in lossSlot[0]. */
  readonly loss: () => void;
}

export interface SecondOrder {
  /** One damped step at learning rate `rate`. */
  step(rate: number): void;
}

const maxAttempts = 12;

export function createSecondOrder(
  settings: SecondOrderSettings,
  params: readonly Real[],
  grads: readonly Real[],
  directions: readonly Real[],
  products: readonly Real[],
  damping: Real,
  lossSlot: Float64Array,
  hooks: SecondOrderHooks,
): SecondOrder {
  let size = 0;
  for (const p of params) size += p.length;
  const g = new Float64Array(size);
  const theta = new Float64Array(size);
  const delta = new Float64Array(size);
  const newton = settings.method !== "hessian-free";
  // newton: H and its Cholesky factor; hessian-free: the CG residual, direction and product
  const hessian = new Float64Array(newton ? size * size : 0);
  const factor = new Float64Array(newton ? size * size : 0);
  const r = new Float64Array(newton ? 0 : size);
  const p = new Float64Array(newton ? 0 : size);
  const product = new Float64Array(newton ? 0 : size);

  function gather(from: readonly Real[], into: Float64Array): void {
    let k = 0;
    for (const buffer of from) for (let i = 0; i < buffer.length; i++) into[k++] = buffer[i]!;
  }
  function scatter(from: Float64Array, into: readonly Real[]): void {
    let k = 0;
    for (const buffer of into) for (let i = 0; i < buffer.length; i++) buffer[i] = from[k++]!;
  }
  function setDirection(j: number, value: number): void {
    for (const buffer of directions) {
      if (j < buffer.length) {
        buffer[j] = value;
        return;
      }
      j -= buffer.length;
    }
  }

  /** H = ½(K + Kᵀ) for K with columns H·e_j: the products are symmetric only up to rounding. */
  function buildHessian(): void {
    for (const buffer of directions) buffer.fill(0);
    for (let j = 0; j < size; j++) {
      setDirection(j, 1);
      hooks.hessianVector();
      setDirection(j, 0);
      let i = 0;
      for (const buffer of products) for (let e = 0; e < buffer.length; e++) hessian[i++ * size + j] = buffer[e]!;
    }
    for (let i = 0; i < size; i++)
      for (let j = 0; j < i; j++) {
        const mean = 0.5 * (hessian[i * size + j]! + hessian[j * size + i]!);
        hessian[i * size + j] = mean;
        hessian[j * size + i] = mean;
      }
  }

  // The solvers read λ from `damping` rather than taking it as an argument: a double passed to (or
  // returned from) a call V8 does not inline is boxed, a heap allocation per call.

  /** (H + λI) = LLᵀ in `factor`'s lower triangle, then Δ = −(LLᵀ)⁻¹g; false when a pivot is not > 0. */
  function solveCholesky(): boolean {
    const lambda = damping[0]!;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j <= i; j++) {
        let s = hessian[i * size + j]! + (i === j ? lambda : 0);
        for (let k = 0; k < j; k++) s -= factor[i * size + k]! * factor[j * size + k]!;
        if (i === j) {
          if (!(s > 0) || !Number.isFinite(s)) return false;
          factor[i * size + i] = Math.sqrt(s);
        } else factor[i * size + j] = s / factor[j * size + j]!;
      }
    }
    for (let i = 0; i < size; i++) {
      let s = -g[i]!;
      for (let k = 0; k < i; k++) s -= factor[i * size + k]! * delta[k]!;
      delta[i] = s / factor[i * size + i]!;
    }
    for (let i = size - 1; i >= 0; i--) {
      let s = delta[i]!;
      for (let k = i + 1; k < size; k++) s -= factor[k * size + i]! * delta[k]!;
      delta[i] = s / factor[i * size + i]!;
    }
    return true;
  }

  /** Truncated CG from Δ = 0 on (H + λI)Δ = −g; false when the first direction has pᵀ(H + λI)p ≤ 0. */
  function solveConjugateGradient(): boolean {
    const lambda = damping[0]!;
    let rr = 0;
    for (let i = 0; i < size; i++) {
      delta[i] = 0;
      r[i] = -g[i]!;
      p[i] = r[i]!;
      rr += r[i]! * r[i]!;
    }
    const stop = rr * 1e-20;
    for (let iteration = 0; iteration < settings.cgIterations && rr > stop; iteration++) {
      scatter(p, directions);
      hooks.hessianVector();
      gather(products, product);
      let curvature = 0;
      for (let i = 0; i < size; i++) {
        product[i] = product[i]! + lambda * p[i]!;
        curvature += p[i]! * product[i]!;
      }
      if (!(curvature > 0)) return iteration > 0; // negative curvature: keep the iterate so far
      const alpha = rr / curvature;
      let next = 0;
      for (let i = 0; i < size; i++) {
        delta[i] = delta[i]! + alpha * p[i]!;
        r[i] = r[i]! - alpha * product[i]!;
        next += r[i]! * r[i]!;
      }
      const beta = next / rr;
      for (let i = 0; i < size; i++) p[i] = r[i]! + beta * p[i]!;
      rr = next;
    }
    return true;
  }

  function step(rate: number): void {
    hooks.gradient();
    const before = lossSlot[0]!;
    gather(grads, g);
    gather(params, theta);
    if (newton) buildHessian();
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const lambda = damping[0]!;
      if (newton ? solveCholesky() : solveConjugateGradient()) {
        for (let i = 0; i < size; i++)
          delta[i] = theta[i]! + rate * delta[i]! - rate * settings.weightDecay * theta[i]!;
        scatter(delta, params);
        hooks.loss();
        const after = lossSlot[0]!;
        if (after <= before + settings.tolerance * Math.abs(before)) {
          damping[0] = lambda / 10;
          lossSlot[0] = before;
          return;
        }
      }
      damping[0] = Math.max(10 * lambda, 1e-8);
    }
    scatter(theta, params);
    lossSlot[0] = before;
  }

  return { step };
}
