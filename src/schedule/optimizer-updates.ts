// Optimizer update rules as Program kernels: one fused, in-place loop per parameter that reads the
// gradient and writes the parameter and its moments together. Every emitter prints them like any
// other kernel, so each target gets every optimizer.

import { Op } from "../ir/ops.js";
import type { OptimizerSpec } from "../optimizers.js";
import { coalesce } from "./views.js";
import type { Access, Kernel, LoopKernel, ParamInfo, Value } from "./program.js";
import { bufferName } from "./names.js";
import { sizeOf } from "../ir/shape.js";
import { planSecondOrder } from "./second-order.js";

export interface StateBuffer {
  /** Buffer name in generated code. */
  readonly name: string;
  /** Name in trainer.state.buffers, e.g. "W1.m". */
  readonly label: string;
  readonly size: number;
  readonly initial: number;
}

export interface OptimizerPlan {
  readonly state: readonly StateBuffer[];
  /** Run before the gradient (Nesterov's look-ahead). */
  readonly beforeGradient: readonly Kernel[];
  readonly update: readonly Kernel[];
}

/** Builds the value list of one fused loop body. */
class Body {
  readonly values: Value[] = [];
  constructor(private readonly elementwise: boolean) {}

  private access(buffer: string): Access {
    return { storage: { kind: "buffer", name: buffer }, offset: 0, strides: this.elementwise ? [1] : [] };
  }
  load(buffer: string): number {
    return this.push({ kind: "load", access: this.access(buffer) });
  }
  constant(value: number): number {
    return this.push({
      kind: "load",
      access: {
        storage: { kind: "scalar", code: { kind: "literal", value } },
        offset: 0,
        strides: this.elementwise ? [0] : [],
      },
    });
  }
  local(name: string): number {
    return this.push({
      kind: "load",
      access: {
        storage: { kind: "scalar", code: { kind: "local", name } },
        offset: 0,
        strides: this.elementwise ? [0] : [],
      },
    });
  }
  learningRate(): number {
    return this.push({
      kind: "load",
      access: {
        storage: { kind: "scalar", code: { kind: "learningRate" } },
        offset: 0,
        strides: this.elementwise ? [0] : [],
      },
    });
  }
  add(a: number, b: number) {
    return this.push({ kind: "op", op: Op.Add, args: [a, b] });
  }
  sub(a: number, b: number) {
    return this.push({ kind: "op", op: Op.Sub, args: [a, b] });
  }
  mul(a: number, b: number) {
    return this.push({ kind: "op", op: Op.Mul, args: [a, b] });
  }
  div(a: number, b: number) {
    return this.push({ kind: "op", op: Op.Div, args: [a, b] });
  }
  sqrt(a: number) {
    return this.push({ kind: "op", op: Op.Sqrt, args: [a] });
  }
  square(a: number) {
    return this.push({ kind: "op", op: Op.PowConst, args: [a], exponent: 2 });
  }
  private push(value: Value): number {
    this.values.push(value);
    return this.values.length - 1;
  }

  /** The loop kernel storing `result` (the last value computed) into `target`, and any further stores. */
  kernel(
    comment: string,
    size: number,
    target: string,
    result: number,
    extra: readonly [string, number][] = [],
  ): LoopKernel {
    if (result !== this.values.length - 1)
      throw new Error(`internal: ${comment}: the stored value must be computed last`);
    return coalesce({
      kind: "loop",
      comment,
      mode: "assign",
      unrolled: 0,
      dims: this.elementwise ? [{ factor: size, perExample: false }] : [],
      values: this.values,
      target: this.access(target),
      extraStores: extra.map(([buffer, value]) => ({ target: this.access(buffer), value })),
    });
  }
}

/** nn.batchNorm's running statistic: running ← momentum·running + (1 − momentum)·(the batch estimate of the last gradient()). */
export function runningStatisticUpdate(statistic: {
  readonly label: string;
  readonly shape: readonly number[];
  readonly momentum: number;
}): Kernel {
  const body = new Body(true);
  const running = bufferName.running(statistic.label);
  const kept = body.mul(body.constant(statistic.momentum), body.load(running));
  const folded = body.mul(body.constant(1 - statistic.momentum), body.load(bufferName.batchStatistic(statistic.label)));
  const result = body.add(kept, folded);
  return body.kernel(`running ${statistic.label}`, sizeOf(statistic.shape), running, result);
}

export function planOptimizer(spec: OptimizerSpec, params: readonly ParamInfo[]): OptimizerPlan {
  if (spec.kind === "newton" || spec.kind === "levenberg-marquardt" || spec.kind === "hessian-free")
    return planSecondOrder(spec, params);
  const state: StateBuffer[] = [];
  const beforeGradient: Kernel[] = [];
  const update: Kernel[] = [];
  const slot = (p: ParamInfo, name: string) => {
    state.push({ name: bufferName.state(p.name, name), label: `${p.name}.${name}`, size: sizeOf(p.shape), initial: 0 });
    return bufferName.state(p.name, name);
  };

  /** θ_new = θ + Δ − ε·λ·θ (decoupled weight decay), with Δ computed by `delta` in the same loop. */
  const withDecay = (body: Body, theta: number, step: number): number => {
    if (spec.weightDecay === 0) return body.add(theta, step);
    const decay = body.mul(body.mul(body.learningRate(), body.constant(spec.weightDecay)), theta);
    return body.sub(body.add(theta, step), decay);
  };

  if (spec.kind === "adam") {
    // β₁ᵗ and β₂ᵗ as running products, so a restored state resumes with the right bias correction
    const beta1Power = bufferName.optimizerScalar("beta1Power");
    const beta2Power = bufferName.optimizerScalar("beta2Power");
    state.push({ name: beta1Power, label: "beta1Power", size: 1, initial: 1 });
    state.push({ name: beta2Power, label: "beta2Power", size: 1, initial: 1 });
    const powers = new Body(false);
    const b1 = powers.mul(powers.load(beta1Power), powers.constant(spec.beta1));
    const b2 = powers.mul(powers.load(beta2Power), powers.constant(spec.beta2));
    update.push(powers.kernel("β₁ᵗ, β₂ᵗ", 1, beta2Power, b2, [[beta1Power, b1]]));
    for (const [power, label, name] of [
      [beta1Power, "beta1Power", "correction1"],
      [beta2Power, "beta2Power", "correction2"],
    ] as const) {
      const correction = new Body(false);
      correction.sub(correction.constant(1), correction.load(power));
      update.push({ kind: "local", comment: `bias correction 1 − ${label}`, name, values: correction.values });
    }
  }

  for (const p of params) {
    const size = sizeOf(p.shape);
    const param = bufferName.param(p.name);
    const grad = bufferName.grad(p.name);
    const body = new Body(true);
    const theta = body.load(param);
    const g = body.load(grad);
    const rate = body.learningRate();
    switch (spec.kind) {
      case "sgd": {
        // θ ← θ − εg
        update.push(
          body.kernel(
            `sgd: ${p.name}`,
            size,
            param,
            withDecay(body, theta, body.sub(body.constant(0), body.mul(rate, g))),
          ),
        );
        break;
      }
      case "momentum": {
        // v ← αv − εg; θ ← θ + v
        const velocity = slot(p, "velocity");
        const v = body.sub(body.mul(body.constant(spec.alpha), body.load(velocity)), body.mul(rate, g));
        update.push(body.kernel(`momentum: ${p.name}`, size, param, withDecay(body, theta, v), [[velocity, v]]));
        break;
      }
      case "nesterov": {
        // Before the gradient: θ ← θ + αv (the look-ahead point θ̃ where g is taken).
        // After: back from θ̃ to θ, then v ← αv − εg; θ ← θ + v.
        const velocity = slot(p, "velocity");
        const ahead = new Body(true);
        const lookahead = ahead.add(ahead.load(param), ahead.mul(ahead.constant(spec.alpha), ahead.load(velocity)));
        beforeGradient.push(ahead.kernel(`nesterov look-ahead: ${p.name}`, size, param, lookahead));
        const oldVelocity = body.load(velocity);
        const back = body.sub(theta, body.mul(body.constant(spec.alpha), oldVelocity));
        const v = body.sub(body.mul(body.constant(spec.alpha), oldVelocity), body.mul(rate, g));
        update.push(body.kernel(`nesterov: ${p.name}`, size, param, withDecay(body, back, v), [[velocity, v]]));
        break;
      }
      case "adagrad": {
        // r ← r + g²; θ ← θ − ε/(δ + √r)·g
        const accumulator = slot(p, "sumSquares");
        const r = body.add(body.load(accumulator), body.square(g));
        const step = body.sub(
          body.constant(0),
          body.div(body.mul(rate, g), body.add(body.constant(spec.delta), body.sqrt(r))),
        );
        update.push(body.kernel(`adagrad: ${p.name}`, size, param, withDecay(body, theta, step), [[accumulator, r]]));
        break;
      }
      case "rmsprop": {
        // r ← ρr + (1−ρ)g²; θ ← θ − ε/√(δ + r)·g
        const average = slot(p, "meanSquare");
        const r = body.add(
          body.mul(body.constant(spec.rho), body.load(average)),
          body.mul(body.constant(1 - spec.rho), body.square(g)),
        );
        const step = body.sub(
          body.constant(0),
          body.div(body.mul(rate, g), body.sqrt(body.add(body.constant(spec.delta), r))),
        );
        update.push(body.kernel(`rmsprop: ${p.name}`, size, param, withDecay(body, theta, step), [[average, r]]));
        break;
      }
      case "adam": {
        // s ← β₁s + (1−β₁)g; r ← β₂r + (1−β₂)g²; θ ← θ − ε·ŝ/(√r̂ + ϵ) with ŝ = s/(1−β₁ᵗ), r̂ = r/(1−β₂ᵗ)
        const first = slot(p, "m");
        const second = slot(p, "v");
        const s = body.add(
          body.mul(body.constant(spec.beta1), body.load(first)),
          body.mul(body.constant(1 - spec.beta1), g),
        );
        const r = body.add(
          body.mul(body.constant(spec.beta2), body.load(second)),
          body.mul(body.constant(1 - spec.beta2), body.square(g)),
        );
        const sHat = body.div(s, body.local("correction1"));
        const rHat = body.div(r, body.local("correction2"));
        const step = body.sub(
          body.constant(0),
          body.div(body.mul(rate, sHat), body.add(body.sqrt(rHat), body.constant(spec.epsilon))),
        );
        update.push(
          body.kernel(`adam: ${p.name}`, size, param, withDecay(body, theta, step), [
            [first, s],
            [second, r],
          ]),
        );
        break;
      }
    }
  }
  return { state, beforeGradient, update };
}
