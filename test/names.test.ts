// Any name that is a JavaScript identifier works as an input, parameter, output or model name, or is
// refused at the call site with a clear message. One model structure is compiled once with safe
// names and once per name in the list below, the name rotated through every role; each generated
// module must type-check (strict) and compute exactly what the safe-named one computes: the same
// initial parameters, losses, gradients, input gradients, outputs, optimizer state and steps.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adam, compile, GradgenError, importGenerated, model, nn, type CompiledFile } from "gradgen";
import { rolePrefixes } from "../src/schedule/names.js";
import { removeTempDirs, root, tempDir, typeCheck } from "./cli-helpers.js";
import { gpu, type GpuContext } from "./wgsl/support.js";

const reservedWords = [
  "break",
  "case",
  "catch",
  "class",
  "const",
  "continue",
  "debugger",
  "default",
  "delete",
  "do",
  "else",
  "export",
  "extends",
  "false",
  "finally",
  "for",
  "function",
  "if",
  "import",
  "in",
  "instanceof",
  "new",
  "null",
  "return",
  "super",
  "switch",
  "this",
  "throw",
  "true",
  "try",
  "typeof",
  "var",
  "void",
  "while",
  "with",
  "yield",
  "let",
  "static",
  "enum",
  "await",
  "implements",
  "package",
  "protected",
  "interface",
  "private",
  "public",
  "arguments",
  "eval",
  "undefined",
  "NaN",
  "Infinity",
  "async",
  "of",
  "get",
  "set",
  "as",
  "from",
  "type",
  "declare",
  "readonly",
  "keyof",
  "never",
  "unknown",
  "any",
  "number",
  "string",
  "object",
  "symbol",
  "bigint",
  "boolean",
];
/** Identifiers the templates and emitters write (locals, helpers, types, methods) and look-alikes of the buffer names. */
const generatedIdentifiers = [
  "n",
  "N",
  "rate",
  "batch",
  "Batch",
  "inputs",
  "trainer",
  "Trainer",
  "spec",
  "checkInput",
  "checkCount",
  "lossSlot",
  "outputs",
  "random",
  "dropoutRandom",
  "seed",
  "options",
  "arena",
  "wasmGemm",
  "gemm",
  "gemmJs",
  "createArena",
  "initialise",
  "createRandom",
  "normal",
  "portableLog",
  "portableCos",
  "fillUniform",
  "fillNormal",
  "drawMask",
  "resampleDropout",
  "hasSnapshot",
  "snapshotStep",
  "snapshot",
  "restore",
  "params",
  "grads",
  "given",
  "count",
  "values",
  "name",
  "size",
  "Real",
  "Values",
  "Backend",
  "Init",
  "InputName",
  "ParamName",
  "OutputName",
  "StateName",
  "PredictInputs",
  "TrainerOptions",
  "OptimizerState",
  "createTrainer",
  "inputField",
  "examplesIn",
  "givenParams",
  "givenParam",
  "checkIndex",
  "runStep",
  "step",
  "stepInto",
  "loss",
  "Loss",
  "predict",
  "lossProgram",
  "gradientProgram",
  "updateProgram",
  "predictProgram",
  "beforeGradientProgram",
  "trainingLossProgram",
  "target",
  "view",
  "regions",
  "results",
  "chunks",
  "device",
  "upload",
  "prepare",
  "encode",
  "lookup",
  "scratch",
  "uploaded",
  "uploadedN",
  "setUniforms",
  "pool",
  "staging",
  "submitAndRead",
  "examplesOf",
  "inputNames",
  "inputBuffers",
  "paramBuffers",
  "outputBuffers",
  "stateBuffers",
  "learningRate",
  "state",
  "buffers",
  "s0",
  "s1",
  "v0_0",
  "v0_0_0",
  "i0_0",
  "p0_0_0",
  "sum0_0",
  "max0_0",
  "r0",
  "aRow0",
  "cRow0",
  "a0_0",
  "c0_0_0",
  "x0_0",
  "y0_0",
  "work0",
  "work1",
  "correction1",
  "correction2",
  "beta1Power",
  "beta2Power",
  "input_x",
  "param_W",
  "grad_W",
  "inputGrad_x",
  "output_y",
  "state_W_m",
  "state_beta1Power",
  "mask_dropout0",
  "snapshot_param_W",
  "local_loss_s0",
  "result_loss",
  // WGSL words: user names must never reach shader code
  "f32",
  "u32",
  "f16",
  "fn",
  "main",
  "task0",
  "c0",
  "control",
  "uniforms",
  "t",
  "array",
  "enable",
];
const prototypeNames = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "__defineGetter__",
  "__lookupGetter__",
];
const globals = [
  "Math",
  "Object",
  "Float32Array",
  "Float64Array",
  "Array",
  "Number",
  "RangeError",
  "TypeError",
  "JSON",
  "Symbol",
  "globalThis",
  "process",
  "require",
  "module",
  "exports",
];
/** Names that differ only in case sit next to each other, so they meet in one model. */
const caseAndDollar = ["W", "w", "X", "x", "$", "$$", "_$", "$x", "a$b", "$0", "_", "__", "___"];
const unicode = ["α", "δW", "Gewicht_ä", "变量", "ǥ", "Ω2"];
/** Windows cannot create CON.ts, AUX.ts, …: refused as model names only (they name the file). */
const windowsDeviceNames = ["con", "PRN", "aux", "Nul", "com1", "LPT9"];

const names = [
  ...new Set([
    ...reservedWords,
    ...generatedIdentifiers,
    ...prototypeNames,
    ...globals,
    ...caseAndDollar,
    ...unicode,
    ...windowsDeviceNames,
  ]),
];

interface Roles {
  readonly model: string;
  /** Inputs: a (with { grad: true }) and b; params c, d, e; outputs f and g. */
  readonly a: string;
  readonly b: string;
  readonly c: string;
  readonly d: string;
  readonly e: string;
  readonly f: string;
  readonly g: string;
}
const roleKeys = ["a", "b", "c", "d", "e", "f", "g"] as const;

/** A two-layer network with dropout and Adam: every kind of buffer the schedule names. */
function structure(roles: Roles) {
  return model(
    roles.model,
    ({ input, param }) => {
      // the line refusals name
      const a = input(roles.a, [3], { grad: true });
      const b = input(roles.b, [2]);
      const c = param(roles.c, [3, 4], { init: "xavier" });
      const d = param(roles.d, [4], { init: "normal" });
      const e = param(roles.e, [4, 2], { init: "he" });
      const h = nn.tanh(a.matmul(c).add(d));
      const y = nn.dropout(h, 0.25).matmul(e);
      return { loss: nn.halfSquaredError(y, b), outputs: { [roles.f]: nn.sigmoid(y), [roles.g]: h } };
    },
    { optimizer: adam({ learningRate: 0.05 }) },
  );
}
/** The line of the model(...) call that holds the marker comment, a few lines above it. */
const modelCallLine = (() => {
  const lines = readFileSync(path.join(root, "test", "names.test.ts"), "utf8").split("\n");
  let line = lines.findIndex((text) => text.includes("// the line refusals name"));
  while (line > 0 && !lines[line]!.includes("model(")) line--;
  return line + 1;
})();

const safe: Roles = { model: "reference", a: "a", b: "b", c: "c", d: "d", e: "e", f: "f", g: "g" };
/** Model k gives names[k + i] to role i: every name takes every role once, and neighbours (W, w) share a model. */
const rotated = names.map((name, k): Roles => {
  const at = (i: number) => names[(k + i) % names.length]!;
  return { model: name, a: at(0), b: at(1), c: at(2), d: at(3), e: at(4), f: at(5), g: at(6) };
});

const batchSize = 3;
const A = Float32Array.from({ length: 3 * batchSize }, (_, i) => Math.sin(i + 1));
const B = Float32Array.from({ length: 2 * batchSize }, (_, i) => Math.cos(2 * i));
const given = Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 10);

type Fields = Record<string, Float32Array>;
interface Trainer {
  readonly spec: { readonly model: string; readonly inputs: object; readonly params: object; readonly outputs: object };
  readonly params: Fields;
  readonly grads: Fields;
  readonly inputGrads: Fields;
  readonly state: { step: number; readonly buffers: Fields };
  loss(batch: Fields, n?: number): number;
  trainingLoss(batch: Fields, n?: number): number;
  gradient(batch: Fields, n?: number): number;
  step(batch: Fields, n?: number): number;
  stepInto(batch: Fields, losses: Float64Array, index: number, n?: number): void;
  predict(inputs: Fields, n?: number): Fields;
  snapshot(): void;
  restore(): void;
}
interface TrainerModule {
  createTrainer(options?: { seed?: number; params?: object }): Trainer;
}

const copy = (values: Float32Array) => Array.from(values);
/** An object with `name` as an own property, whatever the name (a literal { __proto__: … } would set the prototype). */
const fields = (...entries: [string, Float32Array][]): Fields => Object.fromEntries(entries);

/** Everything the module's API reports, keyed by role, so two models with different names compare. */
function exercise(module: TrainerModule, roles: Roles) {
  const trainer = module.createTrainer({ seed: 7 });
  const batch = fields([roles.a, A], [roles.b, B]);
  const byRole = (record: Fields, keys: readonly (typeof roleKeys)[number][]) => {
    expect(Object.keys(record)).toEqual(keys.map((key) => roles[key]));
    return keys.map((key) => copy(record[roles[key]]!));
  };
  const result = {
    spec: [
      trainer.spec.model,
      Object.keys(trainer.spec.inputs),
      Object.keys(trainer.spec.params),
      Object.keys(trainer.spec.outputs),
    ],
    initial: byRole(trainer.params, ["c", "d", "e"]),
    loss: trainer.loss(batch),
    lossOfTwo: trainer.loss(batch, 2),
    trainingLoss: trainer.trainingLoss(batch),
    gradient: trainer.gradient(batch),
    grads: byRole(trainer.grads, ["c", "d", "e"]),
    inputGrads: byRole(trainer.inputGrads, ["a"]),
    outputs: byRole(trainer.predict(fields([roles.a, A])), ["f", "g"]),
    steps: [trainer.step(batch), trainer.step(batch, 2)],
    stepInto: (() => {
      const losses = new Float64Array(3);
      trainer.stepInto(batch, losses, 1);
      return Array.from(losses);
    })(),
    afterSteps: byRole(trainer.params, ["c", "d", "e"]),
    state: Object.entries(trainer.state.buffers).map(([label, values]) => [
      label.replace(/^[^.]*(?=\.)/, (name) => roleKeys.find((key) => roles[key] === name)!),
      copy(values),
    ]),
    restored: (() => {
      trainer.snapshot();
      trainer.step(batch);
      trainer.restore();
      return [trainer.state.step, ...byRole(trainer.params, ["c", "d", "e"])];
    })(),
    givenParams: (() => {
      const other = module.createTrainer({ seed: 7, params: fields([roles.c, given]) });
      return byRole(other.params, ["c", "d", "e"]);
    })(),
  };
  return result;
}

const outDir = tempDir("gradgen-names-");
let reference: ReturnType<typeof exercise>;
/** Per model: the generated files, or the refusal. */
const compiled = new Map<number, { files: CompiledFile[]; dir: string } | GradgenError>();

beforeAll(async () => {
  const { files } = compile(structure(safe), { batch: batchSize, targets: ["ts", "wgsl"] });
  reference = exercise(await importGenerated<TrainerModule>(files[0]!.contents), safe);
  writeFileSync(path.join(outDir, "package.json"), `{ "type": "module" }\n`);
  rotated.forEach((roles, k) => {
    let definition;
    try {
      definition = structure(roles);
    } catch (error) {
      if (!(error instanceof GradgenError)) throw error;
      compiled.set(k, error);
      definition = structure({ ...roles, model: `refused${k}` });
    }
    const result = compile(definition, { batch: batchSize, targets: ["ts", "wgsl"] });
    const dir = path.join(outDir, String(k));
    mkdirSync(dir);
    for (const file of result.files) writeFileSync(path.join(dir, file.path), file.contents);
    if (!compiled.has(k)) compiled.set(k, { files: result.files, dir });
  });
}, 300_000);
afterAll(() => removeTempDirs());

describe("names", () => {
  it(`the list holds ${names.length} names (at least 100), reserved words and the templates' own identifiers among them`, () => {
    expect(names.length).toBeGreaterThanOrEqual(100);
    for (const name of [
      "class",
      "n",
      "batch",
      "rate",
      "inputs",
      "trainer",
      "checkInput",
      "lossSlot",
      "outputs",
      "__proto__",
      "constructor",
      "toString",
    ]) {
      expect(names).toContain(name);
    }
    expect(names.indexOf("w")).toBe(names.indexOf("W") + 1);
  });

  it("only Windows device names are refused, and only as model names, at the model(...) call with the reason", () => {
    const refused = rotated.flatMap((roles, k) => (compiled.get(k) instanceof GradgenError ? [roles.model] : []));
    expect(refused).toEqual(windowsDeviceNames);
    for (const [, outcome] of compiled) {
      if (!(outcome instanceof GradgenError)) continue;
      expect(outcome.message).toContain(`test/names.test.ts:${modelCallLine}:`);
      expect(outcome.message).toMatch(/Windows cannot create/);
    }
  });

  it("every generated module type-checks in strict mode (TypeScript and WGSL hosts)", () => {
    const files = [...compiled.values()].flatMap((outcome) =>
      outcome instanceof GradgenError ? [] : outcome.files.map((f) => path.join(outcome.dir, f.path)),
    );
    const run = typeCheck(files);
    expect(run.status, `${run.stdout}${run.stderr}`.slice(0, 4000)).toBe(0);
  }, 300_000);

  it("every model computes exactly what the same model with safe names computes", async () => {
    for (const [k, outcome] of compiled) {
      const roles = { ...rotated[k]!, ...(outcome instanceof GradgenError ? { model: `refused${k}` } : {}) };
      const files =
        outcome instanceof GradgenError ? compile(structure(roles), { batch: batchSize }).files : outcome.files;
      const module = await importGenerated<TrainerModule>(files[0]!.contents);
      const result = exercise(module, roles);
      expect(result.spec, roles.model).toEqual([
        roles.model,
        [roles.a, roles.b],
        [roles.c, roles.d, roles.e],
        [roles.f, roles.g],
      ]);
      expect({ ...result, spec: undefined }, `model ${k} (${JSON.stringify(roles)})`).toEqual({
        ...reference,
        spec: undefined,
      });
    }
  }, 300_000);
});

describe("the naming rule", () => {
  it("no identifier the templates declare starts with a role prefix, where user names live", () => {
    for (const template of ["trainer.ts.tpl", "wgsl-host.ts.tpl", "gemm.ts.tpl"]) {
      const code = readFileSync(path.join(root, "templates", template), "utf8");
      const declared = [
        ...code.matchAll(/\b(?:const|let|var|function|type|interface|class)\s+([\p{ID_Start}_$][\p{ID_Continue}$]*)/gu),
      ].map((m) => m[1]!);
      expect(declared.length, template).toBeGreaterThan(5);
      for (const name of declared)
        expect(
          rolePrefixes.some((prefix) => name.startsWith(prefix)),
          `${template}: ${name}`,
        ).toBe(false);
    }
  });

  it("in a generated module, every identifier holding a user name starts with a role prefix", () => {
    const user = "ǥUserName";
    const roles: Roles = {
      model: "m",
      a: `${user}A`,
      b: `${user}B`,
      c: `${user}C`,
      d: `${user}D`,
      e: `${user}E`,
      f: `${user}F`,
      g: `${user}G`,
    };
    const { files } = compile(structure(roles), { batch: batchSize, targets: ["ts", "wgsl"] });
    const holding = files.map((file) => {
      // Outside strings and comments, a user name only ever ends an identifier with a role prefix.
      const code = file.contents.replace(/\/\/.*$/gm, "").replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
      const identifiers = [...code.matchAll(/[\p{ID_Start}_$][\p{ID_Continue}$]*/gu)]
        .map((m) => m[0])
        .filter((id) => id.includes(user));
      for (const id of identifiers)
        expect(
          rolePrefixes.some((prefix) => id.startsWith(prefix)),
          `${file.path}: ${id}`,
        ).toBe(true);
      return identifiers.length;
    });
    expect(holding[0], "the TypeScript trainer's buffers and input locals").toBeGreaterThan(10);
    expect(holding[1], "the WGSL host holds user names in strings only").toBe(0);
  });
});

describe("names refused with a clear message", () => {
  it.each(["1x", "a-b", "a b", "", "a.b", "x\n", "π/2"])(
    "input %j: not an identifier, at the input(...) call",
    (name) => {
      const definition = model("refusals", ({ input }) => ({ loss: input(name, [1]).sum() }));
      expect(() => compile(definition)).toThrow(/input name .* is not an identifier; use letters, digits, _ and \$ .*/);
      expect(() => compile(definition)).toThrow(/names\.test\.ts:\d+:/);
    },
  );

  it("an outputs literal with __proto__: … (which sets the prototype, losing the output) is refused, naming the fix", () => {
    const definition = model("protoOutputs", ({ input }) => {
      const x = input("x", [1]);
      return { loss: x.sum(), outputs: { __proto__: x } as never };
    });
    expect(() => compile(definition)).toThrow(/write \["__proto__"\]: … for an output of that name/);
  });
});

const context = await gpu();
const device = typeof context === "string" ? undefined : (context as GpuContext).device;

interface GpuTrainer {
  loss(batch?: Fields, n?: number): Promise<number>;
  gradient(batch?: Fields, n?: number): Promise<number>;
  step(batch?: Fields, n?: number): Promise<number>;
  stepInto(batch: Fields | undefined, losses: Float64Array, index: number, n?: number): Promise<void>;
  predict(inputs?: Fields, n?: number): Promise<Fields>;
  read(name: string): Promise<Float32Array>;
  readGrad(name: string): Promise<Float32Array>;
  readInputGrad(name: string): Promise<Float32Array>;
  readState(name: string): Promise<Float32Array>;
  destroy(): void;
}
interface GpuModule {
  createGpuTrainer(device: GPUDevice, options?: { seed?: number; params?: object }): Promise<GpuTrainer>;
}

async function exerciseGpu(module: GpuModule, roles: Roles) {
  const trainer = await module.createGpuTrainer(device!, { seed: 7, params: fields([roles.d, given.subarray(0, 4)]) });
  const batch = fields([roles.a, A], [roles.b, B]);
  const params = async () =>
    Promise.all([roles.c, roles.d, roles.e].map(async (name) => copy(await trainer.read(name))));
  const result = {
    initial: await params(),
    loss: await trainer.loss(batch),
    gradient: await trainer.gradient(batch),
    grads: await Promise.all([roles.c, roles.d, roles.e].map(async (name) => copy(await trainer.readGrad(name)))),
    inputGrad: copy(await trainer.readInputGrad(roles.a)),
    outputs: await (async () => {
      const outputs = await trainer.predict(fields([roles.a, A]));
      return [copy(outputs[roles.f]!), copy(outputs[roles.g]!)];
    })(),
    step: await trainer.step(batch),
    stepInto: await (async () => {
      const losses = new Float64Array(2);
      await trainer.stepInto(batch, losses, 1);
      return Array.from(losses);
    })(),
    after: await params(),
    moment: copy(await trainer.readState(`${roles.c}.m`)),
  };
  trainer.destroy();
  return result;
}

describe.runIf(device)("names on the WGSL trainer", () => {
  it("models holding the hardest names compute exactly what the safe-named model computes on the GPU", async () => {
    const { files } = compile(structure(safe), { batch: batchSize, targets: ["wgsl"] });
    const expected = await exerciseGpu(await importGenerated<GpuModule>(files[0]!.contents), safe);
    for (const name of ["__proto__", "constructor", "n", "$", "class", "regions", "toString"]) {
      const k = names.indexOf(name);
      const outcome = compiled.get(k)!;
      if (outcome instanceof GradgenError) throw outcome;
      const module = await importGenerated<GpuModule>(outcome.files[1]!.contents);
      expect(await exerciseGpu(module, rotated[k]!), JSON.stringify(rotated[k])).toEqual(expected);
    }
  }, 120_000);
});
