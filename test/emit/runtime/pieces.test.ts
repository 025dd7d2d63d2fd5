// The runtime pieces generated modules carry (src/emit/runtime/*.ts), tested as the TypeScript they
// are, and one copy of each in both generated modules: the TypeScript trainer and the WGSL host.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createRandom } from "../../../src/random.js";
import { initialise, normal, portableCos, portableLog } from "../../../src/emit/runtime/initialisers.js";
import { drawMask } from "../../../src/emit/runtime/dropout.js";
import { runtimeSource, sharedPieces } from "../../../src/emit/runtime-source.js";
import { createRandom as dataRandom } from "../../../src/runtime/data.js";

const root = path.resolve(import.meta.dirname, "../../..");

/** mulberry32 from its definition (Tommy Ettinger's), in BigInt arithmetic modulo 2³². */
function referenceMulberry32(seed: number): () => number {
  const mask = (1n << 32n) - 1n;
  const imul = (a: bigint, b: bigint) => (a * b) & mask;
  let state = BigInt(seed >>> 0);
  return () => {
    state = (state + 0x6d2b79f5n) & mask;
    let t = state;
    t = imul(t ^ (t >> 15n), t | 1n);
    t ^= (t + imul(t ^ (t >> 7n), t | 61n)) & mask;
    return Number((t ^ (t >> 14n)) & mask) / 2 ** 32;
  };
}

describe("mulberry32", () => {
  it("draws the reference generator's numbers for several seeds", () => {
    for (const seed of [0, 1, 42, 0xdeadbeef, 0x5bd1e995]) {
      const ours = createRandom(seed);
      const reference = referenceMulberry32(seed);
      for (let i = 0; i < 1000; i++) expect(ours()).toBe(reference());
    }
  });

  it("is the generator src/runtime/data.ts shuffles with", () => {
    const [a, b] = [createRandom(7), dataRandom(7)];
    for (let i = 0; i < 100; i++) expect(a()).toBe(b());
  });
});

describe("the initialisers", () => {
  it("portableLog and portableCos agree with Math.log and Math.cos to a few ulps", () => {
    for (const x of [1e-300, 1e-8, 0.1, 0.5, 1, 1.5, 2, Math.E, 10, 1e8, 1e300])
      expect(Math.abs(portableLog(x) - Math.log(x))).toBeLessThanOrEqual(4e-16 * Math.max(1, Math.abs(Math.log(x))));
    for (let k = -16; k <= 16; k++) {
      const x = (k / 16) * Math.PI;
      expect(Math.abs(portableCos(x) - Math.cos(x))).toBeLessThan(1e-15);
    }
  });

  it("normal draws have mean 0 and variance 1 (20,000 draws: within 4 standard errors)", () => {
    const random = createRandom(3);
    const draws = Array.from({ length: 20000 }, () => normal(random));
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    const variance = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / draws.length;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(draws.length));
    expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / draws.length));
  });

  it("glorot is U(±√(6/(fan_in + fan_out))); sparse gives each unit exactly k non-zero weights", () => {
    const target = new Float64Array(30 * 20);
    initialise(target, "glorot", 30, 20, createRandom(1));
    const limit = Math.sqrt(6 / 50);
    expect(Math.max(...target.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...target.map(Math.abs))).toBeGreaterThan(0.9 * limit);
    initialise(target, { kind: "sparse", k: 3, std: 1 }, 30, 20, createRandom(1));
    for (let unit = 0; unit < 20; unit++) {
      expect(Array.from({ length: 30 }, (_, row) => target[row * 20 + unit]).filter((w) => w !== 0)).toHaveLength(3);
    }
  });

  it("drawMask keeps with probability keep and scales kept units by 1/keep", () => {
    const mask = new Float32Array(10000);
    drawMask(mask, 8000, 0.8, createRandom(2));
    expect(new Set(mask.subarray(0, 8000))).toEqual(new Set([0, Math.fround(1.25)]));
    expect(mask.subarray(8000).every((v) => v === 0)).toBe(true);
    const kept = mask.subarray(0, 8000).filter((v) => v !== 0).length / 8000;
    expect(Math.abs(kept - 0.8)).toBeLessThan(4 * Math.sqrt(0.16 / 8000));
  });
});

describe("one source for what both generated modules carry", () => {
  const modules = ["generated/xor.ts", "generated/xor.wgsl.ts"].map(
    (file) => [file, readFileSync(path.join(root, file), "utf8")] as const,
  );

  it.each(sharedPieces)(
    "generated/xor.ts and generated/xor.wgsl.ts both hold src/emit/runtime/%s.ts, once",
    (piece) => {
      const text = runtimeSource(piece);
      expect(text.length).toBeGreaterThan(100);
      for (const [file, code] of modules) expect(code.split(text).length - 1, file).toBe(1);
    },
  );

  it("the copy is the source file without its opening comment, declarations and `export`", () => {
    const source = readFileSync(path.join(root, "src/emit/runtime/checks.ts"), "utf8");
    const copy = runtimeSource("checks");
    expect(source).toContain("declare const spec");
    expect(copy).not.toMatch(/^(export|declare|import) /m);
    expect(copy.replace(/^function /gm, "")).toBe(
      source
        .replace(/^\/\/.*\n/gm, "")
        .replace(/^declare .*\n/m, "")
        .replace(/^export function /gm, "")
        .trim(),
    );
  });

  it("both modules print the same spec, name types and argument checks", () => {
    const [ts, wgsl] = modules.map(([, code]) => code);
    const spec = /export const spec = \{[\s\S]*?\n\} as const;/.exec(ts!)?.[0];
    expect(spec).toBeDefined();
    expect(wgsl).toContain(spec);
    for (const name of [
      "InputName",
      "ParamName",
      "OutputName",
      "StateName",
      "InputGradName",
      "Batch",
      "PredictInputs",
    ]) {
      const line = new RegExp(`^export type ${name} = .*$`, "m").exec(ts!)?.[0];
      expect(line, name).toBeDefined();
      expect(wgsl, name).toContain(line);
    }
  });
});
