// Shared by test/cli.test.ts and test/generated.test.ts: build dist/ once, run the real CLI
// (`node bin/gradgen.js …`) as a child process, temporary directories, the TypeScript compiler.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";

export const root = path.resolve(import.meta.dirname, "..");
export const bin = path.join(root, "bin", "gradgen.js");
export const fixtures = path.join(root, "test", "fixtures");
export const tscBin = path.join(root, "node_modules", "typescript", "bin", "tsc");

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/gradgen.js ...args`, from the repository root unless `cwd` says otherwise. */
export function gradgen(args: readonly string[], cwd = root): Run {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, GRADGEN_DEBUG: "", NODE_OPTIONS: "" },
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function sourceDigest(): string {
  const hash = createHash("sha256");
  const files = readdirSync(path.join(root, "src"), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts"))
    .sort();
  for (const file of files) hash.update(file).update("\0").update(readFileSync(path.join(root, "src", file))).update("\0");
  hash.update(readFileSync(path.join(root, "scripts", "build.mjs")));
  return hash.digest("hex");
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Build dist/ with `node scripts/build.mjs`, once: the two CLI test files run in parallel and the
 * build starts by deleting dist/, so they take a lock and skip the build when dist/ already holds
 * a build of exactly the current src/ (a stamp written after the build).
 */
export function buildOnce(): void {
  const lock = path.join(os.tmpdir(), `gradgen-test-build-${createHash("sha256").update(root).digest("hex").slice(0, 12)}.lock`);
  const stamp = path.join(root, "dist", ".test-build-stamp");
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { recursive: true, force: true }); // abandoned
      } catch { /* released meanwhile */ }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`);
      sleep(100);
    }
  }
  try {
    const digest = sourceDigest();
    let built: string | undefined;
    try { built = readFileSync(stamp, "utf8"); } catch { built = undefined; }
    if (built === digest) return;
    const result = spawnSync(process.execPath, [path.join(root, "scripts", "build.mjs")], { cwd: root, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`node scripts/build.mjs failed (${result.status}):\n${result.stdout}${result.stderr}`);
    writeFileSync(stamp, digest);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

const temporaries: string[] = [];

export function tempDir(prefix = "gradgen-test-"): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temporaries.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of temporaries.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Every file under `dir` (recursively, dot files included) with its bytes, path-sorted. */
export function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const file = path.join(dir, entry);
    if (statSync(file).isFile()) files[entry.split(path.sep).join("/")] = readFileSync(file).toString("base64");
  }
  return files;
}

/** Names in `dir` (not recursive), sorted. */
export function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

/**
 * A user error: exit status 1 (2 means "internal error"), nothing on stdout, and on stderr one
 * paragraph starting "gradgen: " with no stack frames. Returns the paragraph.
 */
export function expectUserError(run: Run): string {
  const message = run.stderr.trim();
  expect(run.status, `exit status; stderr: ${run.stderr}`).toBe(1);
  expect(run.stdout).toBe("");
  expect(run.stderr).not.toMatch(/^ {4}at /m); // no stack frames
  expect(run.stderr).not.toContain("internal error");
  expect(message.startsWith("gradgen: "), message).toBe(true);
  expect(message, "one paragraph: no blank lines").not.toMatch(/\n\s*\n/);
  expect(message.match(/^gradgen: /gm), "a single message").toHaveLength(1);
  expect(message.split("\n").length, "a paragraph, not a page").toBeLessThanOrEqual(3);
  return message;
}

/** Line number (1-based) of the first line of a fixture containing `marker`. */
export function lineOf(file: string, marker: string): number {
  const index = readFileSync(file, "utf8").split("\n").findIndex((line) => line.includes(marker));
  if (index < 0) throw new Error(`${marker} not found in ${file}`);
  return index + 1;
}

/**
 * Type-check `files` with tsc in strict mode, ES2022 library only and no @types (generated code
 * must not lean on Node or DOM globals). Returns tsc's exit status and output.
 */
export function typeCheck(files: readonly string[]): Run {
  const dir = tempDir("gradgen-tsc-");
  writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: "ES2022",
      lib: ["ES2022"],
      module: "NodeNext",
      moduleResolution: "NodeNext",
      skipLibCheck: true,
      types: [],
    },
    files: files.map((f) => path.resolve(f)),
  }, null, 2));
  const result = spawnSync(process.execPath, [tscBin, "-p", path.join(dir, "tsconfig.json")], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Things a self-contained generated module must not contain. */
export function forbiddenConstructs(code: string): string[] {
  const patterns: [string, RegExp][] = [
    ["static import", /^\s*import[\s{*"']/m],
    ["dynamic import()", /\bimport\s*\(/],
    ["import.meta", /\bimport\s*\.\s*meta\b/],
    ["re-export from a module", /^\s*export\s[^;]*?\bfrom\s*["']/m],
    ["require(", /\brequire\s*\(/],
    ["eval(", /\beval\s*\(/],
    ["new Function", /\bnew\s+Function\b/],
    ["Function(", /(?<![\w$.])Function\s*\(/],
  ];
  return patterns.filter(([, pattern]) => pattern.test(code)).map(([name]) => name);
}

/** The commands of package.json's "generate" script, as argument lists after `node bin/gradgen.js`. */
export function generateCommands(): string[][] {
  const script: string = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).scripts.generate;
  return script.split("&&").map((part) => {
    const words = part.trim().split(/\s+/);
    if (words[0] !== "node" || words[1] !== "bin/gradgen.js") throw new Error(`unexpected command in the generate script: ${part}`);
    return words.slice(2);
  });
}
