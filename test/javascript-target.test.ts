// --target js: <name>.mjs is an ES module that plain Node imports (no TypeScript anywhere, even in a
// CommonJS package), trains exactly as <name>.ts does, and <name>.d.mts types it as the .ts is typed.
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "gradgen";
import { buildOnce, forbiddenConstructs, gradgen, removeTempDirs, root, tempDir, typeCheck } from "./cli-helpers.js";
import { createTrainer as createTypeScriptXor } from "../generated/xor.ts";
import xor from "../examples/xor.js";

beforeAll(() => buildOnce(), 120_000);
afterAll(() => removeTempDirs());

const generated = (file: string) => path.join(root, "generated", file);

/** XOR's four examples, as the README trains them. */
const xorBatch = () => ({ x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) });
const steps = 2000;

/** `node script.mjs` in `dir`, as a user would run it: the Node running the tests, no loaders. */
function runNode(dir: string, script: string): { status: number | null; stdout: string; stderr: string } {
  const file = path.join(dir, "train.mjs");
  writeFileSync(file, script);
  const run = spawnSync(process.execPath, [file], {
    cwd: dir,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("plain Node imports a --target js trainer", () => {
  it("generated/xor.mjs trains XOR under node, in a CommonJS package, loss for loss as generated/xor.ts", () => {
    const dir = tempDir();
    // npm init's package.json: a .js with `export` would be read as CommonJS here; the .mjs is not.
    writeFileSync(path.join(dir, "package.json"), `{ "name": "user", "version": "1.0.0", "type": "commonjs" }\n`);
    copyFileSync(generated("xor.mjs"), path.join(dir, "xor.mjs"));
    const run = runNode(
      dir,
      `import { createTrainer } from "./xor.mjs";
const trainer = createTrainer({ seed: 1 });
const batch = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) };
const losses = [];
for (let i = 0; i < ${steps}; i++) losses.push(trainer.step(batch));
const final = trainer.loss(batch);
const y = Array.from(trainer.predict({ x: batch.x }).y);
process.stdout.write(JSON.stringify({ losses, final, y }));
`,
    );
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { losses: number[]; final: number; y: number[] };

    // The same code with its types: the same numbers, step for step (JSON carries doubles exactly).
    const trainer = createTypeScriptXor({ seed: 1 });
    const batch = xorBatch();
    const losses = Array.from({ length: steps }, () => trainer.step(batch));
    expect(result.losses).toEqual(losses);
    expect(result.final).toBe(trainer.loss(batch));

    // The loss is the mean over the 4 examples of ½(y − t)². The best constant output (½) scores ⅛;
    // an example on the wrong side of ½ (|y − t| ≥ ½) alone adds ½·¼/4 = 1/32. So a start above 0.1
    // and an end below 0.02 < 1/32 mean the network went from chance to all four right.
    expect(result.losses[0]).toBeGreaterThan(0.1);
    expect(result.final).toBeLessThan(0.02);
    expect(result.y.map((y) => (y > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);
  });

  it("a model with matrix products in WebAssembly (mlp) runs from its .mjs with the same losses as its .ts", async () => {
    const dir = tempDir();
    const run = gradgen([
      "compile",
      "examples/mlp.ts",
      "--batch",
      "8",
      "--lr",
      "0.05",
      "--target",
      "ts,js",
      "--out",
      dir,
    ]);
    expect(run.status, run.stderr).toBe(0);
    const script = (module: string) => `import { createTrainer, spec } from ${JSON.stringify(module)};
const trainer = createTrainer({ seed: 3 });
const size = (shape) => shape.reduce((a, b) => a * b, 1);
const batch = {};
for (const [name, shape] of Object.entries(spec.inputs)) {
  const values = new Float32Array(spec.batch * size(shape));
  for (let i = 0; i < values.length; i++) values[i] = name === "label" ? (i % size(shape) === Math.floor(i / size(shape)) % size(shape) ? 1 : 0) : Math.sin(i);
  batch[name] = values;
}
const losses = [];
for (let i = 0; i < 5; i++) losses.push(trainer.step(batch));
process.stdout.write(JSON.stringify({ backend: trainer.backend, losses }));
`;
    const fromJs = runNode(dir, script("./mlp.mjs"));
    expect(fromJs.status, fromJs.stderr).toBe(0);
    const js = JSON.parse(fromJs.stdout) as { backend: string; losses: number[] };
    expect(js.backend).toBe("wasm");
    // The .ts, in this process, through the same script's code.
    const ts = await import(path.join(dir, "mlp.ts"));
    const trainer = ts.createTrainer({ seed: 3 });
    const batch = Object.fromEntries(
      Object.entries(ts.spec.inputs as Record<string, number[]>).map(([name, shape]) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const values = new Float32Array(ts.spec.batch * size);
        for (let i = 0; i < values.length; i++)
          values[i] = name === "label" ? (i % size === Math.floor(i / size) % size ? 1 : 0) : Math.sin(i);
        return [name, values];
      }),
    );
    expect(trainer.backend).toBe("wasm");
    expect(js.losses).toEqual(Array.from({ length: 5 }, () => trainer.step(batch) as number));
    expect(Number.isFinite(js.losses[4]) && js.losses[4]! < js.losses[0]!).toBe(true);
  });
});

describe("the .mjs is a generated module like the others", () => {
  it("imports, requires and evaluates nothing, and keeps the header and the comments", () => {
    const code = readFileSync(generated("xor.mjs"), "utf8");
    expect(forbiddenConstructs(code)).toEqual([]);
    const lines = code.split("\n");
    expect(lines[0]).toBe(
      `// Generated by gradgen from ../examples/xor.ts (model "xor"), JavaScript target. Do not edit:`,
    );
    expect(lines[1]).toContain("--target ts,js,wgsl");
    // Full-line comments of the TypeScript survive type stripping, in order.
    const comments = (text: string) => text.split("\n").filter((line) => /^\s*\/\/ (matmul|sigmoid|sum) /.test(line));
    expect(comments(code).length).toBeGreaterThan(3);
    expect(comments(code)).toEqual(comments(readFileSync(generated("xor.ts"), "utf8")));
    expect(code).toContain("/**\n * mulberry32: a small, fast 32-bit generator");
    // No TypeScript left: `as const`, annotations, type declarations.
    expect(code).not.toMatch(/\bas const\b|^export (type|interface) |\): (void|number|Trainer) \{/m);
  });

  it("compile(def, { targets: ['js'] }) gives <name>.mjs and <name>.d.mts, the same bytes every time", () => {
    const once = compile(xor, { batch: 4, learningRate: 2, targets: ["js"] }).files;
    expect(once.map((f) => f.path)).toEqual(["xor.mjs", "xor.d.mts"]);
    for (let round = 0; round < 2; round++)
      expect(compile(xor, { batch: 4, learningRate: 2, targets: ["js"] }).files).toEqual(once);
  });

  it("the CLI names the target in its usage and refuses an unknown one", () => {
    expect(gradgen(["compile", "--help"]).stdout).toContain("js (<name>.mjs");
    const run = gradgen(["compile", "examples/xor.ts", "--target", "javascript", "--out", tempDir()]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("ts, js, wgsl");
  });
});

describe("the .d.mts types the .mjs as the .ts is typed", () => {
  /** Equal<A, B> is true only for identical types (not mere mutual assignability). */
  const equal = `type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;`;

  function exportedNames(typescript: string): string[] {
    return [...typescript.matchAll(/^export (?:declare )?(?:const|function|type|interface) (\w+)/gm)].map((m) => m[1]!);
  }

  /** A folder with model.ts, model.mjs and model.d.mts, and a file comparing every export of the two modules. */
  function compared(args: readonly string[], name: string, tamper?: (declarations: string) => string) {
    const dir = tempDir();
    writeFileSync(path.join(dir, "package.json"), `{ "type": "module" }\n`);
    const run = gradgen(["compile", ...args, "--target", "ts,js", "--out", dir]);
    expect(run.status, run.stderr).toBe(0);
    const typescript = readFileSync(path.join(dir, `${name}.ts`), "utf8");
    const declarationsFile = path.join(dir, `${name}.d.mts`);
    const declarations = readFileSync(declarationsFile, "utf8");
    if (tamper) writeFileSync(declarationsFile, tamper(declarations));
    const names = exportedNames(typescript);
    expect(exportedNames(declarations).sort()).toEqual([...names].sort());
    const values = new Set(["spec", "createTrainer"]);
    const checks = names.map((n, i) =>
      values.has(n)
        ? `export const same${i}: Equal<typeof ts.${n}, typeof js.${n}> = true;`
        : `export const same${i}: Equal<ts.${n}, js.${n}> = true;`,
    );
    const file = path.join(dir, "same.ts");
    // "./name.js" is the .ts (TypeScript's own spelling); "./name.mjs" is the JavaScript through its .d.mts.
    writeFileSync(
      file,
      `import * as ts from "./${name}.js";\nimport * as js from "./${name}.mjs";\n${equal}\n${checks.join("\n")}\n`,
    );
    return { run: typeCheck([file, declarationsFile], { checkDeclarations: true }), names };
  }

  it.each([
    [["examples/xor.ts", "--batch", "4", "--lr", "2"], "xor"],
    [["examples/mnist.ts", "--batch", "64"], "mnist"], // adam: optimizer state, hyperparameters
    [["examples/circuit.ts", "--dtype", "f64"], "circuit"], // no parameters, input gradients, f64
    [["test/fixtures/small.ts", "--optimizer", "momentum", "--momentum", "0.5"], "small"],
  ] as const)("%s: every export has identical types in both", (args, name) => {
    const { run, names } = compared(args, name);
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    expect(names).toEqual(expect.arrayContaining(["spec", "createTrainer", "Trainer", "TrainerOptions", "Batch"]));
  });

  it("the comparison fails where the declarations differ (a tampered spec or signature)", () => {
    const args = ["examples/xor.ts", "--batch", "4", "--lr", "2"];
    const batch = compared(args, "xor", (d) => d.replace("readonly batch: 4;", "readonly batch: 5;")).run;
    expect(batch.status).not.toBe(0);
    expect(`${batch.stdout}${batch.stderr}`).toContain("TS2322");
    const signature = compared(args, "xor", (d) =>
      d.replace("options?: TrainerOptions", "options: TrainerOptions"),
    ).run;
    expect(signature.status).not.toBe(0);
  });

  function consumer(code: string) {
    const dir = tempDir();
    writeFileSync(path.join(dir, "package.json"), `{ "type": "module" }\n`);
    for (const file of ["xor.mjs", "xor.d.mts"]) copyFileSync(generated(file), path.join(dir, file));
    const file = path.join(dir, "use.ts");
    writeFileSync(
      file,
      `import { createTrainer, spec, type Batch, type Trainer } from "./xor.mjs";\nconst trainer: Trainer = createTrainer({ seed: 1, backend: "js" });\nconst batch: Batch = { x: new Float32Array(8), t: new Float32Array(4) };\nexport const used = [spec, trainer, batch];\n${code}\n`,
    );
    const run = typeCheck([file, path.join(dir, "xor.d.mts")], { checkDeclarations: true });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  }

  it("TypeScript importing generated/xor.mjs type-checks in strict mode (the .d.mts itself included)", () => {
    const { status, output } = consumer(
      [
        `export const loss: number = trainer.step(batch);`,
        `export const y: Float32Array = trainer.predict({ x: batch.x }).y;`,
        `export const shape: readonly [2, 4] = spec.params.W1;`,
        `export const kind: "sgd" = spec.optimizer.kind;`,
        `trainer.params.W1.fill(0);`,
      ].join("\n"),
    );
    expect(status, output).toBe(0);
  });

  it.each([
    ["a seed that is not a number", `createTrainer({ seed: "1" });`, "TS2322"],
    ["a batch without its targets", `trainer.step({ x: batch.x });`, "TS2741"],
    ["a parameter the model lacks", `trainer.params.W3.fill(0);`, "TS2339"],
    ["initial values for a parameter the model lacks", `createTrainer({ params: { W3: [1] } });`, "TS2353"],
    ["a shape that is not the model's", `export const shape: readonly [4, 2] = spec.params.W1;`, "TS2322"],
    ["a prediction of an output the model lacks", `trainer.predict({ x: batch.x }).z;`, "TS2339"],
  ])("a wrong use fails: %s", (_, code, error) => {
    const { status, output } = consumer(code);
    expect(status).not.toBe(0);
    expect(output).toContain(error);
    expect(output.match(/error TS\d+/g), "only the wrong use is an error").toEqual([`error ${error}`]);
  });
});
