// Seeded random models: random DAGs over the DSL's operations for checking every derivative rule
// (and the passes after differentiation) against central differences. Unary and binary elementwise
// ops, broadcasting against vectors and scalars, sums, means and maxima over axes, matrix products,
// transposes and reshapes, softmax and its losses, the kinked activations, a customGradient, grad()
// inside the model; operands are drawn from everything built so far, so subexpressions are shared.
//
// Domain-safe by construction: log, sqrt and fractional powers see softplus(·) + c, divisions divide
// by 1 + softplus(·), exp sees bounded values. Structural ties (max(a, a), a max over copies of one
// value) are never built, so away from kinks every derivative is defined.

import { customGradient, grad, model, nn, type ModelDefinition, type Tensor } from "gradgen";
import { traceModel } from "../../src/dsl/model.js";
import { createRandom } from "../../src/random.js";

export interface RandomModel {
  readonly seed: number;
  readonly definition: ModelDefinition;
  /** The operations built, one per line (traces the model). */
  describe(): string;
}

interface Value {
  readonly tensor: Tensor;
  readonly label: string;
  /** |elements| stay below a few units, so exp and sin of it are well scaled. */
  readonly bounded: boolean;
  /** Built from a per-example input (the loss must depend on one). */
  readonly batched: boolean;
}

export interface RandomModelOptions {
  /** Use relu, abs, maximum, max over axes, … (default true). */
  readonly kinks?: boolean;
}

const cube = customGradient(
  "cube",
  (x) => x.mul(x).mul(x),
  ({ inputs: [x], adjoint }) => [adjoint.mul(x!.square()).mul(3)],
);

export function randomModel(seed: number, options: RandomModelOptions = {}): RandomModel {
  const kinks = options.kinks ?? true;
  let log: string[] = [];
  const definition = model(`random${seed}`, ({ input, param }) => {
    log = [];
    const random = createRandom(seed * 7919 + 17);
    const int = (n: number) => Math.floor(random() * n);
    const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
    const chance = (p: number) => random() < p;
    const dims = [1 + int(3), 2 + int(3), 2 + int(2)];
    const pool: Value[] = [];
    const used = new Set<Value>();
    const params: Value[] = [];
    const add = (tensor: Tensor, label: string, bounded: boolean, batched: boolean): Value => {
      const value = { tensor, label: `v${pool.length}`, bounded, batched };
      log.push(`${value.label} ${JSON.stringify(tensor.shape)} = ${label}`);
      pool.push(value);
      return value;
    };
    const newParam = (shape: number[]): Value => {
      const name = `p${params.length}`;
      const value = add(
        param(name, shape, { init: pick(["normal", "uniform", "xavier"] as const) }),
        `param ${name}`,
        true,
        false,
      );
      params.push(value);
      return value;
    };
    const take = (filter: (v: Value) => boolean = () => true): Value | undefined => {
      const candidates = pool.filter(filter);
      if (candidates.length === 0) return undefined;
      // Prefer recent values (deep graphs), but reuse older ones too (shared subexpressions).
      const value = chance(0.6)
        ? candidates[candidates.length - 1 - int(Math.min(3, candidates.length))]!
        : pick(candidates);
      used.add(value);
      return value;
    };
    const positive = (v: Value, c: number) => nn.softplus(v.tensor).add(c);

    // Leaves: one or two inputs, vectors or matrices; a parameter or two.
    const [m, n] = dims as [number, number, number];
    const inputShape = chance(0.5) ? [n] : [m, n];
    add(input("x", inputShape, { grad: chance(0.3) }), "input x", true, true);
    if (chance(0.4)) add(input("u", [n], { grad: chance(0.5) }), "input u", true, true);
    newParam(chance(0.5) ? [n] : [m, n]);
    if (chance(0.5)) newParam([]);

    const steps = 4 + int(9);
    for (let s = 0; s < steps; s++) {
      const a = take()!;
      const rank = a.tensor.shape.length;
      const choice = int(kinks ? 24 : 18);
      const b = a.bounded;
      switch (choice) {
        case 0:
          add(a.tensor.neg(), `neg ${a.label}`, b, a.batched);
          break;
        case 1:
          add(nn.tanh(a.tensor), `tanh ${a.label}`, true, a.batched);
          break;
        case 2:
          add(nn.sigmoid(a.tensor), `sigmoid ${a.label}`, true, a.batched);
          break;
        case 3:
          add(b ? a.tensor.sin() : nn.tanh(a.tensor).sin(), `sin ${a.label}`, true, a.batched);
          break;
        case 4:
          add(b ? a.tensor.cos() : nn.tanh(a.tensor).cos(), `cos ${a.label}`, true, a.batched);
          break;
        case 5:
          add(b ? a.tensor.exp() : nn.tanh(a.tensor).exp(), `exp ${a.label}`, false, a.batched);
          break;
        case 6:
          add(positive(a, 0.1).log(), `log(softplus ${a.label} + 0.1)`, true, a.batched);
          break;
        case 7:
          add(positive(a, 0.1).sqrt(), `sqrt(softplus ${a.label} + 0.1)`, b, a.batched);
          break;
        case 8: {
          const p = pick([2, 3, -1, 0.5, 1.5, -0.5]);
          const t = Number.isInteger(p) && p > 0 ? (b ? a.tensor : nn.tanh(a.tensor)).pow(p) : positive(a, 0.2).pow(p);
          add(t, `pow(${a.label}, ${p})`, true, a.batched);
          break;
        }
        case 9:
          add(nn.softplus(a.tensor), `softplus ${a.label}`, b, a.batched);
          break;
        case 10:
        case 11:
        case 12: {
          // A binary op against a value of a broadcast-compatible shape, or a fresh parameter of one.
          const shape = a.tensor.shape;
          const compatible = (v: Value) => v !== a && isSuffix(v.tensor.shape, shape);
          const other = chance(0.25)
            ? newParam(chance(0.5) || rank === 0 ? [] : [shape[shape.length - 1]!])
            : (take(compatible) ?? newParam([]));
          const [x, y] = chance(0.5) ? [a, other] : [other, a];
          const op = pick(["add", "sub", "mul", "div"] as const);
          const t = op === "div" ? x.tensor.div(positive(y, 1)) : x.tensor[op](y.tensor);
          add(t, `${op} ${x.label} ${y.label}`, x.bounded && y.bounded, x.batched || y.batched);
          break;
        }
        case 13: {
          if (rank === 0) {
            add(a.tensor.mul(a.tensor), `square ${a.label}`, b, a.batched);
            break;
          }
          const axis = int(rank);
          const op = pick(["sum", "mean"] as const);
          add(chance(0.3) ? a.tensor[op]() : a.tensor[op](axis), `${op} ${a.label}`, b && op === "mean", a.batched);
          break;
        }
        case 14:
        case 15: {
          // A layer: [.., k]·W[k, j] with a fresh or an existing parameter.
          if (rank === 0) {
            add(a.tensor.mul(newParam([]).tensor), `scale ${a.label}`, b, a.batched);
            break;
          }
          const inner = a.tensor.shape[rank - 1]!;
          const w = newParam([inner, pick([1, 2, 3, 4])]);
          add(a.tensor.matmul(w.tensor), `matmul ${a.label} ${w.label}`, b, a.batched);
          break;
        }
        case 16: {
          if (rank === 2 && chance(0.5)) add(a.tensor.transpose(), `transpose ${a.label}`, b, a.batched);
          else if (rank >= 1)
            add(a.tensor.reshape([a.tensor.shape.reduce((p, d) => p * d, 1)]), `flatten ${a.label}`, b, a.batched);
          else add(cube(a.tensor), `cube ${a.label}`, false, a.batched);
          break;
        }
        case 17: {
          if (rank === 0) {
            add(nn.swish(a.tensor), `swish ${a.label}`, b, a.batched);
            break;
          }
          const op = pick(["softmax", "logSoftmax", "logSumExp"] as const);
          add(nn[op](b ? a.tensor : nn.tanh(a.tensor)), `${op} ${a.label}`, op !== "logSumExp" || b, a.batched);
          break;
        }
        // Kinked operations: the checker skips coordinates whose stencil straddles a kink.
        case 18:
          add(nn.relu(a.tensor), `relu ${a.label}`, b, a.batched);
          break;
        case 19:
          add(chance(0.5) ? a.tensor.abs() : nn.leakyRelu(a.tensor, 0.1), `abs/leakyRelu ${a.label}`, b, a.batched);
          break;
        case 20:
          add(chance(0.5) ? nn.hardTanh(a.tensor) : nn.elu(a.tensor), `hardTanh/elu ${a.label}`, b, a.batched);
          break;
        case 21: {
          // Same shapes only: a maximum against a broadcast value makes copies, which a later max would tie.
          const other = take((v) => v !== a && v.tensor.shape.join() === a.tensor.shape.join());
          if (!other) {
            add(nn.relu(a.tensor.sub(0.3)), `relu(${a.label} − 0.3)`, b, a.batched);
            break;
          }
          const op = pick(["maximum", "minimum"] as const);
          add(
            nn[op](a.tensor, other.tensor),
            `${op} ${a.label} ${other.label}`,
            b && other.bounded,
            a.batched || other.batched,
          );
          break;
        }
        case 22: {
          // Only over an axis of a value that varies along it (never a broadcast copy): no structural ties.
          if (rank === 0) {
            add(nn.relu(a.tensor), `relu ${a.label}`, b, a.batched);
            break;
          }
          const last = a.tensor.shape[rank - 1]!;
          if (last % 2 === 0 && chance(0.4)) add(nn.maxout(a.tensor, 2), `maxout ${a.label}`, b, a.batched);
          else add(a.tensor.max(rank - 1), `max ${a.label}`, b, a.batched);
          break;
        }
        case 23: {
          if (rank !== 1 || a.tensor.shape[0]! < 2) {
            add(nn.l1(a.tensor), `l1 ${a.label}`, false, a.batched);
            break;
          }
          add(nn.hinge(a.tensor, nn.softmax(a.tensor.mul(0.5))), `hinge ${a.label}`, false, a.batched);
          break;
        }
      }
    }

    // The loss: every unused value (and the last one) reduced to a scalar and weighted, plus a
    // standard loss now and then, and a gradient penalty (grad() inside the model) rarely.
    const sinks = pool.filter((v) => !used.has(v) || v === pool[pool.length - 1]);
    let loss: Tensor | undefined;
    const term = (t: Tensor, label: string) => {
      const weight = Math.round((0.5 + random()) * 100) / 100;
      loss = loss ? loss.add(t.mul(weight)) : t.mul(weight);
      log.push(`loss += ${weight}·${label}`);
    };
    for (const v of sinks)
      term(
        v.tensor.shape.length === 0 ? v.tensor : chance(0.5) ? v.tensor.sum() : v.tensor.square().mean(),
        `reduce ${v.label}`,
      );
    const last = pool[pool.length - 1]!;
    const lastShape = last.tensor.shape;
    if (lastShape.length >= 1 && chance(0.5)) {
      const target = input("t", lastShape);
      const which = int(4);
      if (which === 0)
        term(
          nn.softmaxCrossEntropy(last.bounded ? last.tensor : nn.tanh(last.tensor), target),
          `softmaxCrossEntropy ${last.label}`,
        );
      else if (which === 1) term(nn.halfSquaredError(last.tensor, target), `halfSquaredError ${last.label}`);
      else if (which === 2)
        term(nn.sigmoidCrossEntropy(nn.tanh(last.tensor).mul(2), target), `sigmoidCrossEntropy ${last.label}`);
      else
        term(
          nn.binaryCrossEntropy(nn.sigmoid(nn.tanh(last.tensor).mul(2)), target),
          `binaryCrossEntropy ${last.label}`,
        );
    }
    if (chance(0.1) && loss) {
      const p = pick(params);
      term(grad(nn.tanh(loss), p.tensor).square().sum(), `gradient penalty on ${p.label}`);
    }
    if (!pool.some((v) => v.batched && sinks.includes(v)))
      term(
        pool
          .find((v) => v.batched)!
          .tensor.square()
          .sum(),
        "reduce input",
      );
    return { loss: loss! };
  });
  return {
    seed,
    definition,
    describe: () => {
      traceModel(definition);
      return log.join("\n");
    },
  };
}

/** Whether `shape` is `of` with leading axes dropped: broadcasting it then only copies along new leading axes. */
function isSuffix(shape: readonly number[], of: readonly number[]): boolean {
  return shape.length <= of.length && shape.every((d, i) => d === of[of.length - shape.length + i]);
}
