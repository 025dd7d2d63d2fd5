// The optional runtime (fit, evaluate, metrics, Batcher, splitExamples, checkpoints, the parallel
// trainer) works for any name a model may use. One model structure is compiled twice: with safe
// names and with names of Object.prototype members (`__proto__`, `constructor`, `toString`, …) and
// names that differ only in case. Every runtime entry point, given the same data and seed, must
// give exactly the same numbers for both, keyed by the model's own names.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { transform } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adam, compile, model, nn } from "gradgen";
import { createDataParallelTrainer } from "gradgen/parallel";
import {
  accuracy,
  allocateInputs,
  evaluate,
  fit,
  load,
  meanAbsoluteError,
  readCheckpointInfo,
  save,
  type Metric,
} from "../../src/runtime/train.ts";
import { Batcher, countExamples, selectExamples, splitExamples } from "../../src/runtime/data.ts";
import { GradgenError } from "../../src/errors.ts";
import type { TrainerLike } from "../../src/runtime/trainer.ts";

/** Roles of the model: inputs x and t, parameters W1, b1, W2, b2, outputs y and h; metrics m1, m2. */
const roleKeys = ["x", "t", "W1", "b1", "W2", "b2", "y", "h", "m1", "m2"] as const;
type Role = (typeof roleKeys)[number];
type Roles = Readonly<Record<Role, string>>;

const safe: Roles = { x: "x", t: "t", W1: "W1", b1: "b1", W2: "W2", b2: "b2", y: "y", h: "h", m1: "mae", m2: "acc" };
/** Names every plain `{}` already answers to, and two names that differ only in case. */
const hostile: Roles = {
  x: "__proto__",
  t: "constructor",
  W1: "toString",
  b1: "hasOwnProperty",
  W2: "W",
  b2: "w",
  y: "valueOf",
  h: "prototype",
  m1: "__proto__",
  m2: "isPrototypeOf",
};

const batch = 8;

function structure(roles: Roles) {
  return model(
    "runtimeNames",
    ({ input, param }) => {
      const x = input(roles.x, [3]);
      const t = input(roles.t, [2]);
      const W1 = param(roles.W1, [3, 4], { init: "xavier" });
      const b1 = param(roles.b1, [4], { init: "normal" });
      const W2 = param(roles.W2, [4, 2], { init: "he" });
      const b2 = param(roles.b2, [2], { init: "normal" });
      const h = nn.tanh(x.matmul(W1).add(b1));
      const logits = h.matmul(W2).add(b2);
      return { loss: nn.sigmoidCrossEntropy(logits, t), outputs: { [roles.y]: nn.sigmoid(logits), [roles.h]: h } };
    },
    { optimizer: adam({ learningRate: 0.05 }) },
  );
}

type Fields = Record<string, Float64Array>;
interface Trainer extends TrainerLike {
  readonly params: Fields;
  readonly state: { step: number; readonly buffers: Fields };
}
interface TrainerModule {
  createTrainer(options?: { seed?: number }): Trainer;
}

const directory = mkdtempSync(path.join(tmpdir(), "gradgen-runtime-names-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** Per naming: the generated module as a JavaScript file (the parallel trainer imports it in every thread) and its namespace. */
const modules = new Map<Roles, { file: string; module: TrainerModule }>();
beforeAll(async () => {
  for (const [tag, roles] of [
    ["safe", safe],
    ["hostile", hostile],
  ] as const) {
    const { files } = compile(structure(roles), { batch, dtype: "f64" });
    const { code } = await transform(files[0]!.contents, { loader: "ts", format: "esm" });
    const file = path.join(directory, `${tag}.mjs`);
    writeFileSync(file, code);
    modules.set(roles, { file, module: (await import(file)) as TrainerModule });
  }
}, 60_000);

const createTrainer = (roles: Roles, seed = 7) => modules.get(roles)!.module.createTrainer({ seed });

/** An object with each name as an own property, whatever the name (a literal { __proto__: … } would set the prototype). */
const own = <T>(entries: [string, T][]): Record<string, T> => Object.fromEntries(entries);

/** `count` examples: x from a sine, t a 0/1 function of x. */
function dataset(roles: Roles, count: number, phase: number): Fields {
  const x = Float64Array.from({ length: 3 * count }, (_, i) => Math.sin(0.9 * i + phase));
  const t = Float64Array.from({ length: 2 * count }, (_, i) =>
    x[3 * (i >> 1) + (i & 1)]! + 0.3 * x[3 * (i >> 1) + 2]! > 0 ? 1 : 0,
  );
  return own([
    [roles.x, x],
    [roles.t, t],
  ]);
}

/**
 * `record` keyed exactly by the given roles' names (own properties, in that order), as plain
 * arrays by role, so records of the two namings compare.
 */
function byRole(roles: Roles, record: object, keys: readonly Role[]): Record<string, unknown> {
  expect(Object.keys(record)).toEqual(keys.map((key) => roles[key]));
  const values = record as Record<string, ArrayLike<number> | number | unknown[]>;
  return Object.fromEntries(
    keys.map((key) => {
      expect(Object.hasOwn(record, roles[key]), `own property ${roles[key]}`).toBe(true);
      const value = values[roles[key]]!;
      return [key, typeof value === "number" ? value : Array.from(value as ArrayLike<number>)];
    }),
  );
}

const parametersOf = (roles: Roles, trainer: Trainer) => byRole(roles, trainer.params, ["W1", "b1", "W2", "b2"]);
/** Optimizer buffers "<param>.<slot>", relabelled by role. */
const stateOf = (roles: Roles, trainer: Trainer) =>
  Object.entries(trainer.state.buffers).map(([label, values]) => {
    const dot = label.lastIndexOf(".");
    const role = roleKeys.find((key) => roles[key] === label.slice(0, dot) && key !== "m1" && key !== "m2");
    return [`${role}${label.slice(dot)}`, Array.from(values)];
  });

const metricsOf = (roles: Roles): Metric[] => [
  meanAbsoluteError({ output: roles.y, target: roles.t, name: roles.m1 }),
  accuracy({ output: roles.y, target: roles.t, name: roles.m2 }),
];

const both = <T>(run: (roles: Roles) => T): [T, T] => [run(hostile), run(safe)];

describe("the runtime with names of Object.prototype members and names differing in case", () => {
  it("the two models differ only in their names: the same initial parameters and loss", () => {
    const [named, reference] = both((roles) => {
      const trainer = createTrainer(roles);
      return { params: parametersOf(roles, trainer), loss: trainer.loss(dataset(roles, batch, 0)) };
    });
    expect(named).toEqual(reference);
    expect(Number.isFinite(reference.loss)).toBe(true);
  });

  it("fit(): the same history (losses, validation losses, metrics) and the same final parameters and optimizer state", () => {
    const [named, reference] = both((roles) => {
      const trainer = createTrainer(roles);
      const history = fit(trainer, dataset(roles, 20, 0), {
        epochs: 3,
        batchSize: 6,
        seed: 5,
        validation: dataset(roles, 9, 1),
        metrics: metricsOf(roles),
        progress: false,
      });
      return {
        loss: history.loss,
        validationLoss: history.validationLoss,
        metrics: byRole(roles, history.metrics, ["m1", "m2"]),
        validationMetrics: byRole(roles, history.validationMetrics, ["m1", "m2"]),
        records: history.epochs.map((record) => [
          byRole(roles, record.metrics, ["m1", "m2"]),
          byRole(roles, record.validationMetrics, ["m1", "m2"]),
          record.step,
        ]),
        params: parametersOf(roles, trainer),
        state: stateOf(roles, trainer),
        step: trainer.state.step,
      };
    });
    expect(named).toEqual(reference);
    expect(reference.step).toBe(3 * 4); // 20 examples in batches of 6: 4 steps an epoch
    expect(reference.loss[2]).toBeLessThan(reference.loss[0]!);
  });

  it("evaluate(): the same loss and metrics", () => {
    const [named, reference] = both((roles) => {
      const result = evaluate(createTrainer(roles), dataset(roles, 11, 2), { batchSize: 4, metrics: metricsOf(roles) });
      return { loss: result.loss, metrics: byRole(roles, result.metrics, ["m1", "m2"]) };
    });
    expect(named).toEqual(reference);
    // The mean of |y − t| lies in (0, 1) for sigmoid outputs and 0/1 targets.
    expect(reference.metrics.m1).toBeGreaterThan(0);
    expect(reference.metrics.m1).toBeLessThan(1);
  });

  it("fit() and evaluate() refuse data that lacks an input, even one named like an Object.prototype member", () => {
    const trainer = createTrainer(hostile);
    const data = dataset(hostile, 5, 0);
    for (const missing of [hostile.x, hostile.t]) {
      const partial = own(Object.entries(data).filter(([name]) => name !== missing));
      expect(() => evaluate(trainer, partial)).toThrow(GradgenError);
      expect(() => evaluate(trainer, partial)).toThrow(`the data has no field ${JSON.stringify(missing)}`);
      expect(() => fit(trainer, partial, { epochs: 1, progress: false })).toThrow(
        `the data has no field ${JSON.stringify(missing)}`,
      );
    }
    // Metrics name a missing output or field by its name.
    expect(() =>
      evaluate(trainer, data, { metrics: [accuracy({ output: "toLocaleString", target: hostile.t })] }),
    ).toThrow(/no output "toLocaleString"/);
    expect(() =>
      evaluate(trainer, data, { metrics: [accuracy({ output: hostile.y, target: "propertyIsEnumerable" })] }),
    ).toThrow(/no field "propertyIsEnumerable"/);
  });

  it("allocateInputs(): one own buffer per input", () => {
    const [named, reference] = both((roles) => byRole(roles, allocateInputs(createTrainer(roles), 4), ["x", "t"]));
    expect(named).toEqual(reference);
    expect(reference).toEqual({ x: new Array(12).fill(0), t: new Array(8).fill(0) });
  });

  it("Batcher: the same shuffled batches, keyed by the fields' names", () => {
    const [named, reference] = both((roles) => {
      const batcher = new Batcher(dataset(roles, 10, 0), {
        batchSize: 4,
        shuffle: true,
        seed: 3,
        sizes: own([[roles.x, 3]]),
      });
      const epochs = [];
      for (let epoch = 0; epoch < 2; epoch++) {
        for (const { batch, n } of batcher) epochs.push([n, byRole(roles, batch, ["x", "t"])]);
      }
      return { sizes: byRole(roles, batcher.sizes, ["x", "t"]), count: batcher.count, epochs };
    });
    expect(named).toEqual(reference);
    expect(reference.sizes).toEqual({ x: 3, t: 2 });
    expect(reference.epochs.map(([n]) => n)).toEqual([4, 4, 2, 4, 4, 2]);
  });

  it("Batcher: `fields` selects by name, and a missing field is refused", () => {
    const data = dataset(hostile, 6, 0);
    const batcher = new Batcher(data, { batchSize: 6, count: 6, fields: [hostile.t] });
    batcher.startEpoch();
    expect(batcher.nextBatch()).toBe(6);
    expect(byRole(hostile, batcher.batch, ["t"])).toEqual({ t: Array.from(data[hostile.t]!) });
    const onlyX = own([[hostile.x, data[hostile.x]!]]);
    expect(() => new Batcher(onlyX, { batchSize: 2, fields: [hostile.t] })).toThrow(
      `Batcher: the data has no field "constructor"`,
    );
    expect(() => new Batcher(own([[hostile.t, data[hostile.t]!]]), { batchSize: 2, fields: [hostile.x] })).toThrow(
      `Batcher: the data has no field "__proto__"`,
    );
  });

  it("countExamples: a field named like an Object.prototype member counts only when the data has it", () => {
    const data = dataset(hostile, 6, 0);
    expect(
      countExamples(
        data,
        own([
          [hostile.x, 3],
          [hostile.t, 2],
        ]),
      ),
    ).toBe(6);
    expect(
      countExamples(
        own([[hostile.t, data[hostile.t]!]]),
        own([
          [hostile.x, 3],
          [hostile.t, 2],
        ]),
      ),
    ).toBe(6);
    expect(() =>
      countExamples(
        {},
        own([
          ["constructor", 1],
          ["toString", 1],
        ]),
      ),
    ).toThrow(/none of the fields constructor, toString is in the data/);
  });

  it("splitExamples and selectExamples: the same examples, keyed by the fields' names", () => {
    const [named, reference] = both((roles) => {
      const data = dataset(roles, 10, 0);
      const [first, rest] = splitExamples(data, 10, 7, { seed: 4 });
      const [head, tail] = splitExamples(data, 10, 3);
      const picked = selectExamples(data, 10, [9, 0, 4]);
      return [first, rest, head, tail, picked].map((part) => byRole(roles, part, ["x", "t"]));
    });
    expect(named).toEqual(reference);
    const x = Array.from(dataset(safe, 10, 0).x!);
    expect(reference[2]!.x).toEqual(x.slice(0, 9));
    expect(reference[4]!.x).toEqual([...x.slice(27, 30), ...x.slice(0, 3), ...x.slice(12, 15)]);
  });

  it("save() and load(): a checkpoint restores every parameter and optimizer buffer, under the model's names", () => {
    const [named, reference] = both((roles) => {
      const trainer = createTrainer(roles);
      const data = dataset(roles, batch, 0);
      for (let step = 0; step < 4; step++) trainer.step(data, step + 5);
      const file = path.join(directory, `${roles === safe ? "safe" : "hostile"}.ckpt`);
      save(trainer, file);
      const other = createTrainer(roles, 99);
      const before = parametersOf(roles, other);
      const info = load(other, file);
      return {
        differedBefore: JSON.stringify(before) !== JSON.stringify(parametersOf(roles, trainer)),
        tensors: readCheckpointInfo(file).tensors.map((tensor) => [
          tensor.group,
          tensor.name.replace(/^[^.]*/, (name) => roleKeys.find((key) => roles[key] === name)!),
          tensor.shape,
        ]),
        step: [info.step, other.state.step],
        params: parametersOf(roles, other),
        saved: parametersOf(roles, trainer),
        state: stateOf(roles, other),
        savedState: stateOf(roles, trainer),
      };
    });
    expect(named).toEqual(reference);
    expect(reference.differedBefore).toBe(true);
    expect(reference.params).toEqual(reference.saved);
    expect(reference.state).toEqual(reference.savedState);
    expect(reference.step).toEqual([4, 4]);
  });

  it("the data-parallel trainer: the same losses, parameters and optimizer state", async () => {
    const run = async (roles: Roles) => {
      const parallel = await createDataParallelTrainer({
        module: modules.get(roles)!.file,
        threads: 2,
        trainerOptions: { seed: 7 },
      });
      try {
        const data = dataset(roles, batch, 0);
        const losses = [parallel.step(data), parallel.step(data, 5), parallel.step(data)];
        return {
          losses,
          params: parametersOf(roles, parallel.trainer as Trainer),
          state: stateOf(roles, parallel.trainer as Trainer),
        };
      } finally {
        await parallel.close();
      }
    };
    const named = await run(hostile);
    const reference = await run(safe);
    expect(named).toEqual(reference);
    // And what one thread computes (f64, up to summation order).
    const single = createTrainer(safe);
    const data = dataset(safe, batch, 0);
    const expected = [single.step(data), single.step(data, 5), single.step(data)];
    reference.losses.forEach((loss, i) => expect(Math.abs(loss - expected[i]!)).toBeLessThan(1e-12));
  });

  it("the data-parallel trainer refuses a batch that lacks an input named like an Object.prototype member", async () => {
    const parallel = await createDataParallelTrainer({
      module: modules.get(hostile)!.file,
      threads: 2,
      trainerOptions: { seed: 7 },
    });
    try {
      const data = dataset(hostile, batch, 0);
      const partial = own([[hostile.t, data[hostile.t]!]]);
      expect(() => parallel.step(partial)).toThrow(GradgenError);
      expect(() => parallel.step(partial)).toThrow(/the batch has no field "__proto__"/);
      // Without n, every input must hold as many examples as the first (as the generated trainer's step).
      const uneven = own([
        [hostile.x, data[hostile.x]!],
        [hostile.t, data[hostile.t]!.subarray(0, 2 * 5)],
      ]);
      expect(() => parallel.step(uneven)).toThrow(
        /input "constructor" needs 8 × 2 values \(as many examples as the first input/,
      );
      // The refusals changed nothing: the next step is a fresh trainer's first (f64, up to summation order).
      const loss = parallel.step(data);
      const single = createTrainer(hostile);
      expect(Math.abs(loss - single.step(data))).toBeLessThan(1e-12);
      const got = parametersOf(hostile, parallel.trainer as Trainer);
      const expected = parametersOf(hostile, single);
      for (const role of Object.keys(expected)) {
        (expected[role] as number[]).forEach((value, i) =>
          expect(Math.abs((got[role] as number[])[i]! - value)).toBeLessThan(1e-12),
        );
      }
      expect(parallel.trainer.state.step).toBe(1);
    } finally {
      await parallel.close();
    }
  });
});
