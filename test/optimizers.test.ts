// Optimizers, fused into the generated step, against the textbook formulas written out here
// (Goodfellow et al., algorithms 8.1–8.7) and against TensorFlow.js's Adam.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  adagrad,
  adam,
  newton,
  hessianFree,
  levenbergMarquardt,
  model,
  momentum,
  nesterov,
  nn,
  rmsprop,
  sgd,
  compile,
  type OptimizerKind,
  type OptimizerSpec,
} from "gradgen";
import { resolveOptions } from "../src/compile.ts";
import { main } from "../src/cli/main.ts";
import { GradgenError } from "../src/errors.ts";
import { buildOnce, expectUserError, fixtures, gradgen, removeTempDirs, tempDir } from "./cli-helpers.js";
import { loadGenerated, type Fields } from "./support/load-generated.js";
// @ts-expect-error: a plain ES module without type declarations
import { loadTfjsCpu } from "../bench/support/tfjs-cpu.mjs";

// y = w·x + b, loss ½(y − t)²: its gradient is simple enough to write by hand below.
const linear = model("linear", ({ input, param }) => {
  const x = input("x", [3]);
  const t = input("t", []);
  const w = param("w", [3], { init: 0 });
  const b = param("b", [], { init: 0 });
  const y = x.mul(w).sum().add(b);
  return { loss: y.sub(t).square().mul(0.5) };
});

const batch = {
  x: new Float64Array([1, 2, -1, 0.5, -0.3, 2, -1.5, 0.2, 0.7, 0.3, 1.1, -0.4]),
  t: new Float64Array([0.5, -1, 2, 0.25]),
} satisfies Fields;
const initial = { w: [0.2, -0.1, 0.4], b: [0.3] };

/** ∂(mean loss)/∂(w, b) by hand: mean over examples of (y − t)·(x, 1). */
function handGradient(theta: number[]): number[] {
  const g = [0, 0, 0, 0];
  for (let e = 0; e < 4; e++) {
    const x = [batch.x[e * 3]!, batch.x[e * 3 + 1]!, batch.x[e * 3 + 2]!];
    const residual = x[0]! * theta[0]! + x[1]! * theta[1]! + x[2]! * theta[2]! + theta[3]! - batch.t[e]!;
    for (let i = 0; i < 3; i++) g[i]! += (residual * x[i]!) / 4;
    g[3]! += residual / 4;
  }
  return g;
}

/** The textbook updates, three steps, on θ = (w, b). */
function reference(spec: OptimizerSpec, steps: number): number[] {
  let theta = [...initial.w, ...initial.b];
  const zeros = () => theta.map(() => 0);
  let v = zeros(),
    r = zeros(),
    s = zeros();
  const eps = spec.learningRate;
  const decay = (old: number[], next: number[]) => next.map((value, i) => value - eps * spec.weightDecay * old[i]!);
  for (let t = 1; t <= steps; t++) {
    const old = theta;
    switch (spec.kind) {
      case "sgd": {
        const g = handGradient(theta);
        theta = decay(
          old,
          theta.map((p, i) => p - eps * g[i]!),
        );
        break;
      }
      case "momentum": {
        const g = handGradient(theta);
        v = v.map((vi, i) => spec.alpha * vi - eps * g[i]!);
        theta = decay(
          old,
          theta.map((p, i) => p + v[i]!),
        );
        break;
      }
      case "nesterov": {
        const g = handGradient(theta.map((p, i) => p + spec.alpha * v[i]!)); // gradient at the look-ahead point
        v = v.map((vi, i) => spec.alpha * vi - eps * g[i]!);
        theta = decay(
          old,
          theta.map((p, i) => p + v[i]!),
        );
        break;
      }
      case "adagrad": {
        const g = handGradient(theta);
        r = r.map((ri, i) => ri + g[i]! * g[i]!);
        theta = decay(
          old,
          theta.map((p, i) => p - (eps / (spec.delta + Math.sqrt(r[i]!))) * g[i]!),
        );
        break;
      }
      case "rmsprop": {
        const g = handGradient(theta);
        r = r.map((ri, i) => spec.rho * ri + (1 - spec.rho) * g[i]! * g[i]!);
        theta = decay(
          old,
          theta.map((p, i) => p - (eps / Math.sqrt(spec.delta + r[i]!)) * g[i]!),
        );
        break;
      }
      case "adam": {
        const g = handGradient(theta);
        s = s.map((si, i) => spec.beta1 * si + (1 - spec.beta1) * g[i]!);
        r = r.map((ri, i) => spec.beta2 * ri + (1 - spec.beta2) * g[i]! * g[i]!);
        theta = decay(
          old,
          theta.map((p, i) => {
            const sHat = s[i]! / (1 - spec.beta1 ** t);
            const rHat = r[i]! / (1 - spec.beta2 ** t);
            return p - (eps * sHat) / (Math.sqrt(rHat) + spec.epsilon);
          }),
        );
        break;
      }
    }
  }
  return theta;
}

const cases: OptimizerSpec[] = [
  { kind: "sgd", learningRate: 0.1, weightDecay: 0 },
  { kind: "sgd", learningRate: 0.1, weightDecay: 0.01 },
  { kind: "momentum", learningRate: 0.05, alpha: 0.9, weightDecay: 0 },
  { kind: "nesterov", learningRate: 0.05, alpha: 0.8, weightDecay: 0 },
  { kind: "nesterov", learningRate: 0.05, alpha: 0.8, weightDecay: 0.1 },
  { kind: "adagrad", learningRate: 0.3, delta: 1e-7, weightDecay: 0 },
  { kind: "rmsprop", learningRate: 0.01, rho: 0.9, delta: 1e-6, weightDecay: 0 },
  { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
  { kind: "adam", learningRate: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.05 },
];

describe("optimizers match the textbook formulas (f64, 3 steps)", () => {
  for (const spec of cases) {
    it(`${spec.kind}${spec.weightDecay ? ` with weight decay ${spec.weightDecay}` : ""}`, async () => {
      const { createTrainer } = await loadGenerated(linear, 4, { optimizer: spec });
      const trainer = createTrainer({ params: initial });
      for (let step = 0; step < 3; step++) trainer.step(batch);
      const got = [...trainer.params.w!, ...trainer.params.b!];
      const expected = reference(spec, 3);
      got.forEach((value, i) =>
        expect(Math.abs(value - expected[i]!)).toBeLessThan(1e-12 * Math.max(1, Math.abs(expected[i]!))),
      );
      expect(trainer.state.step).toBe(3);
      // The parameters moved: a rule that did nothing would fail above too, but say so plainly.
      expect(got).not.toEqual([...initial.w, ...initial.b]);
    });
  }

  it("Adam updates each parameter in a loop: its code does not grow with the parameter's size", () => {
    const sized = (size: number) =>
      model("sized", ({ input, param }) => {
        const y = input("x", [size])
          .mul(param("w", [size]))
          .sum();
        return { loss: y.sub(input("t", [])).square() };
      });
    /** The text of the generated functions that update parameters (before and after the gradient). */
    const updateCode = (size: number, spec: OptimizerSpec) => {
      const source = compile(sized(size), { batch: 2, optimizer: spec }).files[0]!.contents;
      return ["beforeGradientProgram", "updateProgram"]
        .map((name) => source.indexOf(`function ${name}(`))
        .filter((at) => at >= 0)
        .map((at) => source.slice(at, source.indexOf("\n  }\n", at)).replace(/\b\d+\b/g, "N"))
        .join("\n");
    };
    // 3 and 8 elements: both within the straight-line limit, where short loops (SGD's update) are written out
    for (const spec of cases.filter((c) => c.kind === "adam")) expect(updateCode(8, spec)).toBe(updateCode(3, spec));
    const sgdSpec = cases.find((c) => c.kind === "sgd" && c.weightDecay === 0)!;
    expect(updateCode(8, sgdSpec)).not.toBe(updateCode(3, sgdSpec)); // the comparison sees a written-out body
  });

  it("exposes the optimizer state by name, and setLearningRate changes later steps", async () => {
    const { createTrainer } = await loadGenerated(linear, 4, { optimizer: "adam" });
    const trainer = createTrainer({ params: initial });
    expect(Object.keys(trainer.state.buffers).sort()).toEqual(["b.m", "b.v", "beta1Power", "beta2Power", "w.m", "w.v"]);
    trainer.step(batch);
    expect(trainer.state.buffers.beta1Power![0]).toBeCloseTo(0.9, 15);
    const before = [...trainer.params.w!];
    trainer.setLearningRate(0);
    trainer.step(batch);
    expect([...trainer.params.w!]).toEqual(before);
    expect(() => trainer.setLearningRate(Number.NaN)).toThrow(/learning rate/);
  });

  it("snapshot() and restore() bring back parameters, optimizer state and step count", async () => {
    const { createTrainer } = await loadGenerated(linear, 4, { optimizer: "momentum", learningRate: 0.05 });
    const trainer = createTrainer({ params: initial });
    expect(() => trainer.restore()).toThrow(/before any snapshot/);
    trainer.step(batch);
    trainer.snapshot();
    const params = [...trainer.params.w!];
    const velocity = [...trainer.state.buffers["w.velocity"]!];
    trainer.step(batch);
    trainer.step(batch);
    trainer.restore();
    expect([...trainer.params.w!]).toEqual(params);
    expect([...trainer.state.buffers["w.velocity"]!]).toEqual(velocity);
    expect(trainer.state.step).toBe(1);
  });
});

describe("the worked 2-2-1 example of the lectures (sigmoid units, all weights 0.1, lr 0.2, momentum 0.9)", () => {
  const lecture = model("lecture221", ({ input, param }) => {
    const x = input("x", [2]);
    const t = input("t", [1]);
    const W1 = param("W1", [2, 2], { init: 0.1 });
    const b1 = param("b1", [2], { init: 0.1 });
    const W2 = param("W2", [2, 1], { init: 0.1 });
    const b2 = param("b2", [1], { init: 0.1 });
    const h = nn.sigmoid(x.matmul(W1).add(b1));
    const y = nn.sigmoid(h.matmul(W2).add(b2));
    return { loss: nn.halfSquaredError(y, t), outputs: { y } };
  });
  const example = { x: new Float64Array([1, 0]), t: new Float64Array([0.9]) };

  it("forward output 0.552, error term 0.086, first changes 0.0172 (bias) and 0.0095 (weights), then momentum", async () => {
    const { createTrainer } = await loadGenerated(lecture, 1, {
      optimizer: { kind: "momentum", learningRate: 0.2, alpha: 0.9, weightDecay: 0 },
    });
    const trainer = createTrainer();
    expect(trainer.predict({ x: example.x }).y![0]).toBeCloseTo(0.552, 3);
    const W2 = () => [...trainer.params.W2!];
    const b2 = () => trainer.params.b2![0]!;
    const [w0, bias0] = [W2(), b2()];
    trainer.step(example);
    // δ = ∂C/∂z of the output unit = (y − t)·y(1 − y) ≈ −0.086
    expect(trainer.grads.b2![0]).toBeCloseTo(-0.086, 3);
    const firstBiasChange = b2() - bias0;
    const firstWeightChanges = W2().map((w, i) => w - w0[i]!);
    expect(firstBiasChange).toBeCloseTo(0.0172, 4); // positive: y < t, so the update raises y
    firstWeightChanges.forEach((change) => expect(change).toBeCloseTo(0.0095, 4));
    const [w1, bias1] = [W2(), b2()];
    trainer.step(example);
    // Second change = 0.9 × first change − ε·(new gradient), the gradient at the point after step one.
    expect(b2() - bias1).toBeCloseTo(0.9 * firstBiasChange - 0.2 * trainer.grads.b2![0]!, 14);
    W2().forEach((w, i) =>
      expect(w - w1[i]!).toBeCloseTo(0.9 * firstWeightChanges[i]! - 0.2 * trainer.grads.W2![i]!, 14),
    );
  });
});

describe("Adam agrees with TensorFlow.js's Adam (f32)", () => {
  it("10 steps of a 3-4-2 tanh network with mean squared error", async () => {
    const net = model("adamPeer", ({ input, param }) => {
      const x = input("x", [3]);
      const t = input("t", [2]);
      const W1 = param("W1", [3, 4]);
      const b1 = param("b1", [4]);
      const W2 = param("W2", [4, 2]);
      const b2 = param("b2", [2]);
      const y = nn.tanh(x.matmul(W1).add(b1)).matmul(W2).add(b2);
      return { loss: nn.mse(y, t) };
    });
    const spec: OptimizerSpec = {
      kind: "adam",
      learningRate: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      weightDecay: 0,
    };
    const { createTrainer } = await loadGenerated(net, 5, { optimizer: spec, dtype: "f32" });
    let seed = 3;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const start = {
      W1: Array.from({ length: 12 }, random),
      b1: Array.from({ length: 4 }, random),
      W2: Array.from({ length: 8 }, random),
      b2: Array.from({ length: 2 }, random),
    };
    const data = { x: Float32Array.from({ length: 15 }, random), t: Float32Array.from({ length: 10 }, random) };
    const trainer = createTrainer({ params: start });
    for (let i = 0; i < 10; i++) trainer.step(data as unknown as Fields);

    const tf = await loadTfjsCpu();
    const variables = Object.fromEntries(
      Object.entries(start).map(([name, values]) => {
        const shape = name === "W1" ? [3, 4] : name === "W2" ? [4, 2] : [values.length];
        return [name, tf.variable(tf.tensor(values, shape, "float32"))];
      }),
    );
    const x = tf.tensor(data.x, [5, 3]);
    const t = tf.tensor(data.t, [5, 2]);
    const adam = tf.train.adam(spec.learningRate, spec.beta1, spec.beta2, spec.epsilon);
    for (let i = 0; i < 10; i++) {
      adam.minimize(() => {
        const y = tf.add(
          tf.matMul(tf.tanh(tf.add(tf.matMul(x, variables.W1), variables.b1)), variables.W2),
          variables.b2,
        );
        // mse per example is the mean over its 2 outputs; the trainer averages over examples: one mean over all.
        return tf.mean(tf.square(tf.sub(y, t)));
      });
    }
    for (const name of Object.keys(start)) {
      const expected = await variables[name].data();
      const got = trainer.params[name]!;
      expected.forEach((value: number, i: number) =>
        expect(Math.abs(got[i]! - value)).toBeLessThan(1e-5 * Math.max(1, Math.abs(value))),
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Hyperparameters outside their definitions are refused where they are given.

/**
 * The hyperparameters of each optimizer with their valid sets, from the definitions: ε > 0 is a
 * step size, λ ≥ 0 a decay; α, ρ, β₁, β₂ ∈ [0, 1) are decay rates of running averages (at 1 they
 * never forget, and Adam's bias correction divides by 1 − βᵗ = 0); δ, ϵ > 0 keep the denominators
 * δ + √r, √(δ + r), √r̂ + ϵ away from 0 where the gradient is 0 (0/0 = NaN after one step).
 */
type Domain = "positive" | "nonNegative" | "unitInterval" | "count";
const domains: Record<OptimizerKind, Record<string, Domain>> = {
  sgd: { learningRate: "positive", weightDecay: "nonNegative" },
  momentum: { learningRate: "positive", alpha: "unitInterval", weightDecay: "nonNegative" },
  nesterov: { learningRate: "positive", alpha: "unitInterval", weightDecay: "nonNegative" },
  adagrad: { learningRate: "positive", delta: "positive", weightDecay: "nonNegative" },
  rmsprop: { learningRate: "positive", rho: "unitInterval", delta: "positive", weightDecay: "nonNegative" },
  adam: {
    learningRate: "positive",
    beta1: "unitInterval",
    beta2: "unitInterval",
    epsilon: "positive",
    weightDecay: "nonNegative",
  },
  // λ in (H + λI)Δ = −g is a damping, ≥ 0; CG iterations are a count
  newton: { learningRate: "positive", damping: "nonNegative", weightDecay: "nonNegative" },
  "levenberg-marquardt": { learningRate: "positive", damping: "nonNegative", weightDecay: "nonNegative" },
  "hessian-free": {
    learningRate: "positive",
    damping: "nonNegative",
    cgIterations: "count",
    weightDecay: "nonNegative",
  },
};
const outside: Record<Domain, number[]> = {
  positive: [0, -0, -1e-8, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
  nonNegative: [-1e-4, Number.NaN, Number.POSITIVE_INFINITY],
  unitInterval: [1, 1.5, -0.1, Number.NaN, Number.POSITIVE_INFINITY],
  count: [0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY],
};
const inside: Record<Domain, number[]> = {
  positive: [1e-300, 0.5, 10],
  nonNegative: [0, 0.5],
  unitInterval: [0, 0.5, 0.999999],
  count: [1, 20],
};
const flagOf: Record<string, string> = {
  learningRate: "--lr",
  weightDecay: "--weight-decay",
  alpha: "--momentum",
  rho: "--rho",
  delta: "--delta",
  beta1: "--beta1",
  beta2: "--beta2",
  epsilon: "--eps",
  damping: "--damping",
  cgIterations: "--cg-iterations",
};
const factories = {
  sgd,
  momentum,
  nesterov,
  adagrad,
  rmsprop,
  adam,
  newton,
  "levenberg-marquardt": levenbergMarquardt,
  "hessian-free": hessianFree,
} as Record<OptimizerKind, (options: Record<string, number>) => OptimizerSpec>;

const badCases = Object.entries(domains).flatMap(([kind, names]) =>
  Object.entries(names).flatMap(([name, domain]) =>
    outside[domain].map((value) => ({ kind: kind as OptimizerKind, name, value })),
  ),
);
const goodCases = Object.entries(domains).flatMap(([kind, names]) =>
  Object.entries(names).flatMap(([name, domain]) =>
    inside[domain].map((value) => ({ kind: kind as OptimizerKind, name, value })),
  ),
);

/** `gradgen …` in this process: exit status and what it wrote to stderr. */
async function cli(args: string[]): Promise<{ status: number; stderr: string }> {
  let stderr = "";
  const spy = vi
    .spyOn(process.stderr, "write")
    .mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { status: await main(args), stderr };
  } finally {
    spy.mockRestore();
  }
}

describe("optimizer hyperparameters outside their definitions are refused", () => {
  it.each(badCases)(
    "$kind({ $name: $value }) in a model file: the option, the value and a valid example, at the caller's line",
    ({ kind, name, value }) => {
      let error: unknown;
      try {
        factories[kind]({ [name]: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(GradgenError);
      const { message, location } = error as GradgenError;
      expect(message).toContain(name);
      expect(message).toContain(String(value));
      expect(message).toMatch(new RegExp(`e\\.g\\. ${kind}\\(\\{ ${name}: [0-9.e-]+ \\}\\)`));
      expect(location?.file).toBe(path.relative(process.cwd(), import.meta.filename));
      // the line of the call in this file's source
      const callLine =
        readFileSync(import.meta.filename, "utf8")
          .split("\n")
          .findIndex((l) => l.includes("factories[kind]({ [name]: value });")) + 1;
      expect(location?.line).toBe(callLine);
    },
  );

  it.each(badCases)(
    "model(…, { optimizer: { kind: $kind, $name: $value } }) and compile options",
    ({ kind, name, value }) => {
      const build = () => ({ loss: undefined as never });
      expect(() => model("m", build, { optimizer: { kind, [name]: value } as never })).toThrow(GradgenError);
      expect(() => model("m", build, { optimizer: { kind, [name]: value } as never })).toThrow(name);
      const options =
        name === "learningRate"
          ? { optimizer: kind, learningRate: value }
          : { optimizer: kind, hyperparameters: { [name]: value } };
      expect(() => resolveOptions(options)).toThrow(
        new RegExp(`${name} must be .*got ${String(value).replace("+", "\\+")}`),
      );
    },
  );

  it.each(badCases)(
    "gradgen compile --optimizer $kind for $name = $value: the flag, the value and a valid example",
    async ({ kind, name, value }) => {
      const flag = flagOf[name]!;
      // The flag is refused before any model file is read (this one does not exist).
      const { status, stderr } = await cli(["compile", "no-such-model.ts", "--optimizer", kind, flag, String(value)]);
      expect(status).toBe(1);
      expect(stderr).toContain(`${flag} expects`);
      expect(stderr).toContain(JSON.stringify(String(value)));
      expect(stderr).toMatch(new RegExp(`e\\.g\\. ${flag} [0-9.e-]+`));
      expect(stderr).not.toContain("does not exist");
    },
  );

  it.each(goodCases)(
    "$kind({ $name: $value }) is accepted, in the model file, the compile options and the flags",
    async ({ kind, name, value }) => {
      expect(factories[kind]({ [name]: value })).toMatchObject({ kind, [name]: value });
      const options =
        name === "learningRate"
          ? { optimizer: kind, learningRate: value }
          : { optimizer: kind, hyperparameters: { [name]: value } };
      expect(resolveOptions(options).optimizer).toMatchObject({ kind, [name]: value });
      // Past the flags, the missing model file is what stops the command.
      const { status, stderr } = await cli([
        "compile",
        "no-such-model.ts",
        "--optimizer",
        kind,
        flagOf[name]!,
        String(value),
      ]);
      expect(status).toBe(1);
      expect(stderr).toContain("no-such-model.ts does not exist");
    },
  );

  it("a zero gradient leaves the parameters where they are for the smallest δ and ϵ accepted (f64)", async () => {
    // Targets equal to the outputs at the initial parameters: every gradient is exactly 0, so the
    // update −ε·0/(δ + √0) (and Adam's −ε·0/(√0 + ϵ)) is 0.
    const x = batch.x;
    const t = new Float64Array(4).map((_, e) =>
      initial.w.reduce((sum, w, i) => sum + w * x[e * 3 + i]!, initial.b[0]!),
    );
    for (const spec of [adagrad({ delta: 1e-300 }), rmsprop({ delta: 1e-300 }), adam({ epsilon: 1e-300 })]) {
      const { createTrainer } = await loadGenerated(linear, 4, { optimizer: spec });
      const trainer = createTrainer({ params: initial });
      trainer.step({ x, t });
      trainer.step({ x, t });
      expect([...trainer.params.w!, ...trainer.params.b!], spec.kind).toEqual([...initial.w, ...initial.b]);
    }
  });
});

describe("the CLI end to end: --eps 0, --delta 0 and adam({ epsilon: 0 }) in a model file", () => {
  beforeAll(() => buildOnce(), 120_000);
  afterAll(() => removeTempDirs());

  it.each([
    ["adam", "--eps"],
    ["adagrad", "--delta"],
    ["rmsprop", "--delta"],
  ])("--optimizer %s %s 0 is refused and nothing is written", (kind, flag) => {
    const out = tempDir();
    const message = expectUserError(
      gradgen(["compile", path.join(fixtures, "small.ts"), "--out", out, "--optimizer", kind, flag, "0"]),
    );
    expect(message).toContain(`${flag} expects a positive finite number`);
    expect(message).toContain('got "0"');
  });

  it("adam({ epsilon: 0 }) in a model file is refused at its file:line", () => {
    const dir = tempDir();
    const file = path.join(dir, "eps-zero.ts");
    writeFileSync(
      file,
      [
        'import { adam, model, nn } from "gradgen";',
        "",
        'export default model("epsZero", ({ input, param }) => {',
        '  const x = input("x", [2]);',
        '  return { loss: nn.l2(x.mul(param("w", [2]))) };',
        "}, { optimizer: adam({ epsilon: 0 }) });",
        "",
      ].join("\n"),
    );
    const message = expectUserError(gradgen(["compile", file, "--out", dir], dir));
    expect(message).toMatch(
      /^gradgen: eps-zero\.ts:6:\d+: optimizer adam: epsilon must be a positive finite number, got 0 \(.*NaN\); pass e\.g\. adam\(\{ epsilon: 1e-8 \}\)/,
    );
  });
});
