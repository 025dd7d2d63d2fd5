// The `gradgen compile` command, run for real as a child process (`node bin/gradgen.js …`).
import { copyFileSync, linkSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { transformSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildOnce,
  expectUserError,
  fixtures,
  gradgen,
  lineOf,
  listing,
  removeTempDirs,
  snapshot,
  tempDir,
} from "./cli-helpers.js";

const fixture = (name: string) => `test/fixtures/${name}`; // as the user types it, relative to the repository root

beforeAll(() => buildOnce(), 120_000);
afterAll(() => removeTempDirs());

describe("bad input: one paragraph, exit 1, no stack trace", () => {
  it("a matmul shape mismatch names the op, both shapes and the model line", () => {
    const line = lineOf(path.join(fixtures, "shape-matmul.ts"), "x.matmul(W)");
    expect(line).toBe(7);
    const out = tempDir();
    const message = expectUserError(gradgen(["compile", fixture("shape-matmul.ts"), "--out", out]));
    expect(message).toContain(`test/fixtures/shape-matmul.ts:7:`);
    expect(message).toContain("matmul");
    // The shapes the user declared: x is [3], W is [4, 2] (not an internal reshape of x).
    expect(message).toContain("[3]");
    expect(message).toContain("[4, 2]");
    expect(listing(out)).toEqual([]);
  });

  it("a matrix-by-matrix matmul mismatch names both shapes and the line", () => {
    expect(lineOf(path.join(fixtures, "shape-matmul-matrix.ts"), "x.matmul(W)")).toBe(7);
    const message = expectUserError(gradgen(["compile", fixture("shape-matmul-matrix.ts"), "--out", tempDir()]));
    expect(message).toContain(`test/fixtures/shape-matmul-matrix.ts:7:`);
    expect(message).toContain("matmul");
    expect(message).toContain("[2, 3]");
    expect(message).toContain("[4, 5]");
  });

  it("adding [3] and [4] names the op, both shapes and the line", () => {
    expect(lineOf(path.join(fixtures, "shape-add.ts"), "a.add(b)")).toBe(7);
    const message = expectUserError(gradgen(["compile", fixture("shape-add.ts"), "--out", tempDir()]));
    expect(message).toContain(`test/fixtures/shape-add.ts:7:`);
    expect(message).toMatch(/\badd\b/);
    expect(message).toContain("[3]");
    expect(message).toContain("[4]");
  });

  it("a duplicate input/param name names the name and both declarations", () => {
    const message = expectUserError(gradgen(["compile", fixture("duplicate-name.ts"), "--out", tempDir()]));
    expect(message).toContain(`test/fixtures/duplicate-name.ts:6:`);
    expect(message).toContain(`"x"`);
    expect(message).toContain("test/fixtures/duplicate-name.ts:5"); // the first declaration
  });

  it("an input name that is not an identifier", () => {
    const message = expectUserError(gradgen(["compile", fixture("bad-identifier.ts"), "--out", tempDir()]));
    expect(message).toContain(`test/fixtures/bad-identifier.ts:5:`);
    expect(message).toContain(`"my input"`);
    expect(message).toMatch(/identifier/);
  });

  it("a model name that is not an identifier", () => {
    const message = expectUserError(gradgen(["compile", fixture("bad-model-name.ts"), "--out", tempDir()]));
    expect(message).toContain(`test/fixtures/bad-model-name.ts:4:`);
    expect(message).toContain(`"my-model"`);
  });

  it("a model file without a default-exported model(...)", () => {
    const message = expectUserError(gradgen(["compile", fixture("no-default-export.ts"), "--out", tempDir()]));
    expect(message).toContain("test/fixtures/no-default-export.ts");
    expect(message).toMatch(/export default model\(/);
  });

  it("a missing model file", () => {
    const out = tempDir();
    const message = expectUserError(gradgen(["compile", fixture("does-not-exist.ts"), "--out", out]));
    expect(message).toContain("test/fixtures/does-not-exist.ts");
    expect(message).toMatch(/does not exist/);
    expect(listing(out)).toEqual([]);
  });

  it("a syntax error in the model file names the file and line, and leaves no bundle behind", () => {
    const dir = tempDir();
    copyFileSync(path.join(fixtures, "syntax-error.ts.txt"), path.join(dir, "model.ts"));
    const message = expectUserError(gradgen(["compile", "model.ts", "--out", "out"], dir));
    expect(message).toMatch(/^gradgen: model\.ts:5:\d+: /);
    expect(listing(dir)).toEqual(["model.ts"]);
  });

  it("an exception thrown by the model's own code while tracing is the user's error, with its line", () => {
    const message = expectUserError(gradgen(["compile", fixture("throws-in-model.ts"), "--out", tempDir()]));
    expect(message).toContain(`test/fixtures/throws-in-model.ts:7:`);
    expect(message).toContain("Cannot read properties of undefined");
  });

  it("an exception thrown while the model file loads names its line", () => {
    const message = expectUserError(gradgen(["compile", fixture("throws-on-load.ts"), "--out", tempDir()]));
    expect(message).toContain(`test/fixtures/throws-on-load.ts:5:`);
    expect(message).toContain("config.size is not set");
  });

  it("an unknown flag names the flag", () => {
    for (const flag of ["--frobnicate", "-x", "--frobnicate=3"]) {
      const message = expectUserError(gradgen(["compile", fixture("small.ts"), "--out", tempDir(), flag]));
      expect(message).toContain(flag.split("=")[0]);
    }
  });

  it("an unknown command, and no command, name every command", () => {
    const unknown = expectUserError(gradgen(["compiel", fixture("small.ts")]));
    expect(unknown).toContain("compiel");
    for (const message of [unknown, expectUserError(gradgen([]))])
      expect(message).toMatch(/compile, check and inspect/);
    expectUserError(gradgen(["compile"]));
  });

  it.each([["0"], ["-3"], ["2.5"], ["abc"], [""], ["1e400"]])("--batch %j names the flag and the value", (value) => {
    const out = tempDir();
    const message = expectUserError(gradgen(["compile", fixture("small.ts"), "--out", out, "--batch", value]));
    expect(message).toContain("--batch");
    expect(message).toContain(JSON.stringify(value));
    expect(listing(out)).toEqual([]);
  });

  it("--batch without a value, and --batch=0", () => {
    expect(expectUserError(gradgen(["compile", fixture("small.ts"), "--batch"]))).toContain("--batch");
    expect(expectUserError(gradgen(["compile", fixture("small.ts"), "--batch", "--check"]))).toContain("--batch");
    expect(expectUserError(gradgen(["compile", fixture("small.ts"), "--batch=0"]))).toContain("--batch");
  });

  it("bad --dtype, --lr and --optimizer values name the flag", () => {
    expect(expectUserError(gradgen(["compile", fixture("small.ts"), "--dtype", "f16"]))).toContain("--dtype");
    expect(expectUserError(gradgen(["compile", fixture("small.ts"), "--lr", "-1"]))).toContain("--lr");
    expect(expectUserError(gradgen(["compile", fixture("small.ts"), "--lr", "fast"]))).toContain("--lr");
    expect(expectUserError(gradgen(["compile", fixture("small.ts"), "--optimizer", "adamax"]))).toContain(
      "--optimizer",
    );
    expect(expectUserError(gradgen(["compile", fixture("small.ts"), "--momentum", "-0.5"]))).toContain("--momentum");
    // A hyperparameter flag the chosen optimizer does not take is named as typed, with the optimizers that take it.
    const message = expectUserError(
      gradgen(["compile", fixture("small.ts"), "--out", tempDir(), "--optimizer", "adam", "--momentum", "0.5"]),
    );
    expect(message).toBe(
      "gradgen: --momentum is a hyperparameter of momentum and nesterov, but --optimizer adam was given, which does not take it; add --optimizer momentum or --optimizer nesterov, or drop --momentum.",
    );
  });

  it("a hyperparameter flag without --optimizer names the flag and suggests the optimizer; adamw suggests adam with weight decay", () => {
    const out = tempDir();
    // small.ts chooses no optimizer, so it trains with sgd, which has no momentum
    const momentum = expectUserError(gradgen(["compile", fixture("small.ts"), "--out", out, "--momentum", "0.9"]));
    expect(momentum).toContain("--momentum");
    expect(momentum).toContain("sgd");
    expect(momentum).toContain("--optimizer momentum");
    expect(momentum).not.toContain("alpha");
    const eps = expectUserError(gradgen(["compile", fixture("small.ts"), "--out", out, "--eps", "1e-8"]));
    expect(eps).toContain("add --optimizer adam");
    const adamw = expectUserError(gradgen(["compile", fixture("small.ts"), "--out", out, "--optimizer", "adamw"]));
    expect(adamw).toContain("--optimizer adam --weight-decay");
    expect(listing(out)).toEqual([]);
  });

  it("an --out that is a file is a user error, not an internal one", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "taken"), "");
    expect(expectUserError(gradgen(["compile", fixture("small.ts"), "--out", path.join(dir, "taken")]))).toContain(
      "taken",
    );
    expect(
      expectUserError(gradgen(["compile", fixture("small.ts"), "--out", path.join(dir, "taken", "sub")])),
    ).toContain("taken");
    expect(listing(dir)).toEqual(["taken"]);
    expect(readFileSync(path.join(dir, "taken"), "utf8")).toBe("");
  });

  it("two model files that define the same model name are refused before anything is written", () => {
    const out = tempDir();
    const message = expectUserError(
      gradgen(["compile", fixture("small.ts"), fixture("small-variant.ts"), "--out", out]),
    );
    expect(message).toContain("small.ts");
    expect(message).toContain("small-variant.ts");
    expect(listing(out)).toEqual([]);
  });

  it("--help prints the usage of every command and exits 0", () => {
    const run = gradgen(["--help"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^usage: gradgen compile/);
    expect(run.stdout).toMatch(/^usage: gradgen check /m);
    expect(run.stdout).toMatch(/^usage: gradgen inspect /m);
  });
});

describe("a failed compile leaves existing outputs untouched", () => {
  function setUp() {
    const models = tempDir("gradgen-models-");
    for (const name of ["small.ts", "small-broken.ts", "small-variant.ts", "throws-on-load.ts"])
      copyFileSync(path.join(fixtures, name), path.join(models, name));
    copyFileSync(path.join(fixtures, "syntax-error.ts.txt"), path.join(models, "syntax-error.ts"));
    const out = path.join(tempDir("gradgen-out-"), "out");
    const good = gradgen(["compile", path.join(models, "small.ts"), "--out", out]);
    expect(good.status, good.stderr).toBe(0);
    expect(listing(out)).toEqual(["small.ts"]);
    return { models, out, before: snapshot(out), modelsBefore: listing(models) };
  }

  it("a broken model with the same name and out dir", () => {
    const { models, out, before, modelsBefore } = setUp();
    const message = expectUserError(gradgen(["compile", path.join(models, "small-broken.ts"), "--out", out]));
    expect(message).toContain("small-broken.ts:9:");
    expect(snapshot(out)).toEqual(before); // same files, same bytes, no *.tmp
    expect(listing(models)).toEqual(modelsBefore); // no temporary bundle left beside the model
  });

  it("a good model that would overwrite, followed by a broken one in the same command", () => {
    const { models, out, before, modelsBefore } = setUp();
    const run = gradgen([
      "compile",
      path.join(models, "small-variant.ts"),
      path.join(models, "small-broken.ts"),
      "--out",
      out,
    ]);
    expectUserError(run);
    expect(snapshot(out)).toEqual(before);
    expect(listing(models)).toEqual(modelsBefore);
  });

  it("a model that throws while loading, and one with a syntax error", () => {
    const { models, out, before, modelsBefore } = setUp();
    expectUserError(
      gradgen(["compile", path.join(models, "small-variant.ts"), path.join(models, "throws-on-load.ts"), "--out", out]),
    );
    expectUserError(
      gradgen(["compile", path.join(models, "small-variant.ts"), path.join(models, "syntax-error.ts"), "--out", out]),
    );
    expect(snapshot(out)).toEqual(before);
    expect(listing(models)).toEqual(modelsBefore);
  });

  it("a bad flag after a good model", () => {
    const { models, out, before } = setUp();
    expectUserError(gradgen(["compile", path.join(models, "small-variant.ts"), "--out", out, "--batch", "0"]));
    expect(snapshot(out)).toEqual(before);
  });

  it("a successful recompile leaves only the generated file (no temporaries)", () => {
    const { models, out, modelsBefore } = setUp();
    const run = gradgen(["compile", path.join(models, "small-variant.ts"), "--out", out]);
    expect(run.status, run.stderr).toBe(0);
    expect(listing(out)).toEqual(["small.ts"]);
    expect(readFileSync(path.join(out, "small.ts"), "utf8")).toContain("small-variant.ts");
    expect(listing(models)).toEqual(modelsBefore);
  });
});

describe("--check", () => {
  function compiled(...flags: string[]) {
    const out = tempDir();
    const run = gradgen(["compile", fixture("small.ts"), "--out", out, ...flags]);
    expect(run.status, run.stderr).toBe(0);
    return out;
  }
  const fixtureListing = () => listing(fixtures);

  it("exits 0 when the files are current, and writes nothing", () => {
    const out = compiled("--batch", "8", "--lr", "0.5");
    const before = snapshot(out);
    const models = fixtureListing();
    const run = gradgen(["compile", fixture("small.ts"), "--out", out, "--batch", "8", "--lr", "0.5", "--check"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    expect(snapshot(out)).toEqual(before);
    expect(fixtureListing()).toEqual(models);
  });

  it("exits non-zero when a file differs, names it, and does not rewrite it", () => {
    const out = compiled();
    const file = path.join(out, "small.ts");
    const edited = readFileSync(file, "utf8").replace("learningRate: 0.1", "learningRate: 0.2");
    expect(edited).not.toBe(readFileSync(file, "utf8"));
    writeFileSync(file, edited);
    const before = snapshot(out);
    const run = gradgen(["compile", fixture("small.ts"), "--out", out, "--check"]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("small.ts");
    expect(run.stderr).not.toMatch(/^ {4}at /m);
    expect(snapshot(out)).toEqual(before);
  });

  it("exits non-zero when a single byte differs (a trailing newline)", () => {
    const out = compiled();
    const file = path.join(out, "small.ts");
    writeFileSync(file, `${readFileSync(file, "utf8")}\n`);
    const run = gradgen(["compile", fixture("small.ts"), "--out", out, "--check"]);
    expect(run.status).not.toBe(0);
  });

  it("exits non-zero when the options differ from those the files were generated with", () => {
    const out = compiled("--batch", "8");
    const before = snapshot(out);
    expect(gradgen(["compile", fixture("small.ts"), "--out", out, "--check"]).status).not.toBe(0);
    expect(
      gradgen(["compile", fixture("small.ts"), "--out", out, "--batch", "8", "--dtype", "f64", "--check"]).status,
    ).not.toBe(0);
    expect(snapshot(out)).toEqual(before);
  });

  it("exits non-zero when a file is missing, and does not create it", () => {
    const out = compiled();
    rmSync(path.join(out, "small.ts"));
    const run = gradgen(["compile", fixture("small.ts"), "--out", out, "--check"]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("small.ts");
    expect(listing(out)).toEqual([]);
  });

  it("exits non-zero when the out dir is missing, and does not create it", () => {
    const parent = tempDir();
    const run = gradgen(["compile", fixture("small.ts"), "--out", path.join(parent, "nowhere"), "--check"]);
    expect(run.status).not.toBe(0);
    expect(listing(parent)).toEqual([]);
  });

  it("reports a broken model as an error, not as 'current'", () => {
    const out = compiled();
    const before = snapshot(out);
    expectUserError(gradgen(["compile", fixture("small-broken.ts"), "--out", out, "--check"]));
    expect(snapshot(out)).toEqual(before);
  });
});

describe("determinism", () => {
  it("two processes compiling the same models give byte-identical files", () => {
    const outs = [tempDir(), tempDir()];
    for (const out of outs) {
      const run = gradgen([
        "compile",
        "examples/mlp.ts",
        "examples/xor.ts",
        fixture("small.ts"),
        "--out",
        out,
        "--batch",
        "16",
        "--lr",
        "0.05",
      ]);
      expect(run.status, run.stderr).toBe(0);
    }
    const [first, second] = outs.map(snapshot);
    expect(Object.keys(first!)).toEqual(["mlp.ts", "small.ts", "xor.ts"]);
    expect(second).toEqual(first);
  });

  it("a model compiled after another in one process equals the model compiled alone", () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, "a"));
    copyFileSync(path.join(fixtures, "small.ts"), path.join(dir, "a", "model.ts"));
    const together = gradgen([
      "compile",
      "examples/xor.ts",
      path.join(dir, "a", "model.ts"),
      "--out",
      path.join(dir, "out1"),
    ]);
    expect(together.status, together.stderr).toBe(0);
    const alone = gradgen(["compile", path.join(dir, "a", "model.ts"), "--out", path.join(dir, "out2")]);
    expect(alone.status, alone.stderr).toBe(0);
    // small.ts compiled after xor in one process equals small.ts compiled alone: no state leaks between models.
    expect(readFileSync(path.join(dir, "out1", "small.ts"), "utf8")).toBe(
      readFileSync(path.join(dir, "out2", "small.ts"), "utf8"),
    );
  });

  it("recompiling over existing output leaves the bytes unchanged", () => {
    const out = tempDir();
    expect(gradgen(["compile", "examples/mlp.ts", "--out", out, "--batch", "64", "--lr", "0.05"]).status).toBe(0);
    const before = snapshot(out);
    expect(gradgen(["compile", "examples/mlp.ts", "--out", out, "--batch", "64", "--lr", "0.05"]).status).toBe(0);
    expect(snapshot(out)).toEqual(before);
  });
});

describe("files are never lost: an output that would replace a model file is refused before anything is written", () => {
  /** A directory holding small.ts renamed to define model "m", so `--out .` there would write m.ts over it. */
  function modelDir(): string {
    const dir = tempDir("gradgen-overwrite-");
    writeFileSync(
      path.join(dir, "m.ts"),
      readFileSync(path.join(fixtures, "small.ts"), "utf8").replace(`model("small"`, `model("m"`),
    );
    return dir;
  }

  it.each([["."], ["./"], ["sub/.."], ["{dir}"]])("--out %s, where the model file m.ts defines model m", (out) => {
    const dir = modelDir();
    mkdirSync(path.join(dir, "sub"));
    const before = snapshot(dir);
    const message = expectUserError(gradgen(["compile", "m.ts", "--out", out.replace("{dir}", dir)], dir));
    expect(message).toMatch(/m\.ts .*would overwrite the model file m\.ts itself; nothing was written/);
    expect(message).toContain("--out");
    expect(snapshot(dir)).toEqual(before);
  });

  it("through a symbolic link to the model's directory, and through a hard link to the model file", () => {
    const dir = modelDir();
    const same = path.join(tempDir("gradgen-link-"), "same");
    symlinkSync(dir, same, "dir");
    const before = snapshot(dir);
    expect(expectUserError(gradgen(["compile", "m.ts", "--out", same], dir))).toMatch(
      /would overwrite the model file m\.ts/,
    );
    expect(snapshot(dir)).toEqual(before);

    // h0.ts defines model "h" and h.ts is the same file under another name: writing h.ts writes the model.
    const linked = tempDir("gradgen-hardlink-");
    writeFileSync(
      path.join(linked, "h0.ts"),
      readFileSync(path.join(fixtures, "small.ts"), "utf8").replace(`model("small"`, `model("h"`),
    );
    linkSync(path.join(linked, "h0.ts"), path.join(linked, "h.ts"));
    const linkedBefore = snapshot(linked);
    expect(expectUserError(gradgen(["compile", "h0.ts", "--out", "."], linked))).toMatch(
      /h\.ts .*would overwrite the model file h0\.ts/,
    );
    expect(snapshot(linked)).toEqual(linkedBefore);
  });

  it("an output that would replace another model given in the same command, or a file a model imports", () => {
    const dir = tempDir("gradgen-overwrite-");
    const small = readFileSync(path.join(fixtures, "small.ts"), "utf8");
    writeFileSync(path.join(dir, "a.ts"), small.replace(`model("small"`, `model("b"`)); // writes b.ts
    writeFileSync(path.join(dir, "b.ts"), small.replace(`model("small"`, `model("c"`));
    let before = snapshot(dir);
    expect(expectUserError(gradgen(["compile", "a.ts", "b.ts", "--out", "."], dir))).toMatch(
      /b\.ts \(generated from a\.ts\) would overwrite the model file b\.ts itself/,
    );
    expect(snapshot(dir)).toEqual(before);

    writeFileSync(path.join(dir, "sizes.ts"), "export const inputs = 3;\n");
    writeFileSync(
      path.join(dir, "net.ts"),
      small
        .replace(`model("small"`, `model("sizes"`)
        .replace(
          `import { model, nn } from "gradgen";`,
          `import { model, nn } from "gradgen";\nimport { inputs } from "./sizes.js";\nvoid inputs;`,
        ),
    );
    before = snapshot(dir);
    expect(expectUserError(gradgen(["compile", "net.ts", "--out", "."], dir))).toMatch(
      /sizes\.ts \(generated from net\.ts\) would overwrite sizes\.ts, which the model file net\.ts imports/,
    );
    expect(snapshot(dir)).toEqual(before);
  });

  it('--out "" is refused (an unset variable, most likely), and says to use --out . for the current directory', () => {
    const dir = modelDir();
    const before = snapshot(dir);
    for (const args of [["--out", ""], ["--out="], ["--out", "  "]]) {
      const message = expectUserError(gradgen(["compile", "m.ts", ...args], dir));
      expect(message).toMatch(/--out expects a directory, got "\s*"/);
      expect(message).toContain("--out .");
    }
    expect(snapshot(dir)).toEqual(before);
  });

  it("a model in another directory compiles into the current one (not every --out . is refused)", () => {
    const dir = modelDir();
    mkdirSync(path.join(dir, "work"));
    const run = gradgen(["compile", "../m.ts", "--out", "."], path.join(dir, "work"));
    expect(run.status, run.stderr).toBe(0);
    expect(listing(path.join(dir, "work"))).toEqual(["m.ts"]);
    expect(readFileSync(path.join(dir, "m.ts"), "utf8")).toContain(`model("m"`);
  });
});

describe("a compile of several models writes all outputs or none", () => {
  it("when the second output cannot be written, the first model's existing output is left as it was", () => {
    const models = tempDir("gradgen-models-");
    const small = readFileSync(path.join(fixtures, "small.ts"), "utf8");
    writeFileSync(path.join(models, "a.ts"), small);
    writeFileSync(path.join(models, "z.ts"), small.replace(`model("small"`, `model("zeta"`));
    const out = tempDir("gradgen-out-");
    expect(gradgen(["compile", path.join(models, "a.ts"), "--out", out]).status).toBe(0);
    mkdirSync(path.join(out, "zeta.ts")); // a directory where the second output goes
    writeFileSync(path.join(out, "zeta.ts", "keep"), "");
    const before = snapshot(out);
    // The first model changes, so writing it would change small.ts.
    writeFileSync(
      path.join(models, "a.ts"),
      small.replace(`input("x", [3])`, `input("x", [4])`).replace(`[3, 2]`, `[4, 2]`),
    );
    const message = expectUserError(
      gradgen(["compile", path.join(models, "a.ts"), path.join(models, "z.ts"), "--out", out]),
    );
    expect(message).toMatch(/cannot write .*zeta\.ts/);
    expect(snapshot(out)).toEqual(before); // small.ts unchanged, no temporary files
  });
});

describe("paths reach generated text quoted, and are never globs", () => {
  it("a model path with a newline gives a module whose header stays a comment", () => {
    const dir = tempDir("gradgen-paths-");
    mkdirSync(path.join(dir, "a\nb"));
    copyFileSync(path.join(fixtures, "small.ts"), path.join(dir, "a\nb", "m.ts"));
    const run = gradgen(["compile", "a\nb/m.ts", "--out", "out"], dir);
    expect(run.status, run.stderr).toBe(0);
    const code = readFileSync(path.join(dir, "out", "small.ts"), "utf8");
    const [first, second] = code.split("\n");
    expect(first).toBe(`// Generated by gradgen from ${JSON.stringify("../a\nb/m.ts")} (model "small"). Do not edit:`);
    expect(second).toBe(
      "// regenerate with `gradgen compile $'../a\\nb/m.ts' --out . --batch 1` in this file's folder.",
    );
    expect(() => transformSync(code, { loader: "ts" })).not.toThrow();
  });

  it("a model path with * is loaded as that file, not expanded as a glob", () => {
    const dir = tempDir("gradgen-paths-");
    copyFileSync(path.join(fixtures, "small.ts"), path.join(dir, "x*.ts"));
    copyFileSync(path.join(fixtures, "small-variant.ts"), path.join(dir, "xy.ts")); // what the glob x*.ts would also match
    const run = gradgen(["compile", "x*.ts", "--out", "out"], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      `gradgen: wrote ${path.join("out", "small.ts")} (batch 1: one example per call; compile with --batch N for up to N)\n`,
    );
    const [first, second] = readFileSync(path.join(dir, "out", "small.ts"), "utf8").split("\n");
    expect(first).toBe(`// Generated by gradgen from "../x*.ts" (model "small"). Do not edit:`);
    expect(second).toBe("// regenerate with `gradgen compile '../x*.ts' --out . --batch 1` in this file's folder.");
  });
});

describe("anything a model throws is the user's error, at the model's file:line", () => {
  it("a string thrown while tracing points at the model's declaration and quotes the string", () => {
    const file = path.join(fixtures, "throws-string.ts");
    expect(lineOf(file, 'model("throwsString"')).toBe(4);
    for (const command of ["compile", "inspect", "check"]) {
      const message = expectUserError(
        gradgen([command, fixture("throws-string.ts"), ...(command === "compile" ? ["--out", tempDir()] : [])]),
      );
      expect(message).toContain("test/fixtures/throws-string.ts:4:");
      expect(message).toContain(`the string "the model is not ready"`);
      expect(message).not.toMatch(/bin\/gradgen|internal error/);
    }
  });

  it("an object thrown while the file loads names the file and the value", () => {
    const message = expectUserError(gradgen(["compile", fixture("throws-string-on-load.ts"), "--out", tempDir()]));
    expect(message).toContain("test/fixtures/throws-string-on-load.ts");
    expect(message).toContain(`{"code":42}`);
  });
});

describe("generated headers do not depend on the folder the compile ran in", () => {
  it("the same model compiled from two folders gives the same bytes, and the header's command regenerates it in the output folder", () => {
    const project = tempDir("gradgen-project-");
    mkdirSync(path.join(project, "models"));
    copyFileSync(path.join(fixtures, "small.ts"), path.join(project, "models", "small.ts"));
    const fromRoot = gradgen(["compile", "models/small.ts", "--out", "out", "--batch", "3"], project);
    expect(fromRoot.status, fromRoot.stderr).toBe(0);
    const first = readFileSync(path.join(project, "out", "small.ts"), "utf8");
    const fromModels = gradgen(
      ["compile", "small.ts", "--out", "../out", "--batch", "3", "--check"],
      path.join(project, "models"),
    );
    expect(fromModels.status, fromModels.stdout + fromModels.stderr).toBe(0);
    const [line1, line2] = first.split("\n");
    // The model file is named relative to the generated file (out/small.ts → ../models/small.ts).
    expect(line1).toBe(`// Generated by gradgen from ../models/small.ts (model "small"). Do not edit:`);
    expect(line2).toBe(
      "// regenerate with `gradgen compile ../models/small.ts --out . --batch 3` in this file's folder.",
    );
    expect(first).not.toContain(project); // no absolute path anywhere, kernel comments included
    // The command, run where the header says, reproduces the file byte for byte.
    const command = /`gradgen (compile [^`]+)`/.exec(line2 ?? "")![1]!.split(" ");
    const again = gradgen([...command, "--check"], path.join(project, "out"));
    expect(again.status, again.stdout + again.stderr).toBe(0);
  });
});
