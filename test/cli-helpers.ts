// Shared by test/cli.test.ts and test/generated.test.ts: build the package once (in a private copy),
// run its CLI (`node bin/gradgen.js …`) as a child process, temporary directories, the TypeScript compiler.

import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";

export const root = path.resolve(import.meta.dirname, "..");
export const fixtures = path.join(root, "test", "fixtures");
export const tscBin = path.join(root, "node_modules", "typescript", "bin", "tsc");

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/gradgen.js ...args` (of the package buildOnce built), from the repository root unless `cwd` says otherwise. */
export function gradgen(args: readonly string[], cwd = root): Run {
  if (!packageRoot) throw new Error("call buildOnce() first (in beforeAll)");
  const result = spawnSync(process.execPath, [path.join(packageRoot, "bin", "gradgen.js"), ...args], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, GRADGEN_DEBUG: "", NODE_OPTIONS: "" },
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * `node scripts/run-ts.mjs <file> ...args` of the package buildOnce built: a TypeScript script (an
 * example's training script) under plain Node, with "gradgen", "gradgen/train" and "gradgen/data"
 * resolved to that build.
 */
export function runTypeScript(file: string, args: readonly string[] = [], timeout = 120_000): Run {
  if (!packageRoot) throw new Error("call buildOnce() first (in beforeAll)");
  const result = spawnSync(
    process.execPath,
    [path.join(packageRoot, "scripts", "run-ts.mjs"), path.resolve(root, file), ...args],
    {
      cwd: root,
      encoding: "utf8",
      timeout,
      env: { ...process.env, GRADGEN_DEBUG: "", NODE_OPTIONS: "" },
    },
  );
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The package under test: a snapshot of bin/, src/, scripts/, templates/ and package.json in a private
 * temporary directory (node_modules linked), built there with `node scripts/build.mjs`. Private,
 * because the build starts by deleting dist/: building in the shared checkout would race with
 * anything else that builds or runs dist/ at the same time (the other test file, `npm test`).
 */
let packageRoot: string | undefined;

export function buildOnce(): void {
  if (packageRoot) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), "gradgen-package-"));
  for (const part of ["bin", "src", "scripts", "templates", "package.json"])
    cpSync(path.join(root, part), path.join(dir, part), { recursive: true });
  symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
  const result = spawnSync(process.execPath, [path.join(dir, "scripts", "build.mjs")], { cwd: dir, encoding: "utf8" });
  if (result.status !== 0)
    throw new Error(`node scripts/build.mjs failed (${result.status}):\n${result.stdout}${result.stderr}`);
  packageRoot = dir;
}

/** The directory of the package buildOnce built (its dist/ holds the compiled gradgen). */
export function builtPackage(): string {
  if (!packageRoot) throw new Error("call buildOnce() first (in beforeAll)");
  return packageRoot;
}

export function removeBuild(): void {
  if (packageRoot) rmSync(packageRoot, { recursive: true, force: true });
  packageRoot = undefined;
}

const temporaries: string[] = [];

export function tempDir(prefix = "gradgen-test-"): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temporaries.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of temporaries.splice(0)) rmSync(dir, { recursive: true, force: true });
  removeBuild();
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
  const index = readFileSync(file, "utf8")
    .split("\n")
    .findIndex((line) => line.includes(marker));
  if (index < 0) throw new Error(`${marker} not found in ${file}`);
  return index + 1;
}

/**
 * Type-check `files` with tsc in strict mode plus noUncheckedIndexedAccess and the unused checks (as a
 * strict user project would import them), ES2022 library only and no @types (generated code must not
 * lean on Node or DOM globals). Declaration files are skipped unless `checkDeclarations`. Returns tsc's exit status and output.
 */
export function typeCheck(
  files: readonly string[],
  options: {
    /** Check declaration files too (tsc skips them by default here, as most projects do). */
    readonly checkDeclarations?: boolean;
  } = {},
): Run {
  const dir = tempDir("gradgen-tsc-");
  writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          noUncheckedIndexedAccess: true,
          noUnusedLocals: true,
          noUnusedParameters: true,
          noEmit: true,
          target: "ES2022",
          lib: ["ES2022"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          skipLibCheck: !options.checkDeclarations,
          types: [],
        },
        files: files.map((f) => path.resolve(f)),
      },
      null,
      2,
    ),
  );
  const result = spawnSync(process.execPath, [tscBin, "-p", path.join(dir, "tsconfig.json")], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
  });
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
    if (words[0] !== "node" || words[1] !== "bin/gradgen.js")
      throw new Error(`unexpected command in the generate script: ${part}`);
    return words.slice(2);
  });
}
