// precision "f16": the same trainer computing its forward and backward values in f16 (storage f32,
// sums accumulated in f32, the optimizer update in f32), against the f32 WGSL trainer at an f16
// tolerance. Runs where the adapter offers "shader-f16" (lavapipe from Mesa 25 does); a device
// without the feature is refused with a clear error.
import { afterAll, describe, expect, it } from "vitest";
import { model, nn } from "gradgen";
import xor from "../../examples/xor.js";
import mlp from "../../examples/mlp.js";
import { roundF16, wgslLiteral } from "../../src/emit/wgsl/index.js";
import { removeTempDirs } from "../cli-helpers.js";
import { f16Device, gpu, loadBoth, relativeError, type Fields, type GpuContext, type GpuTrainer } from "./support.js";

const context = await gpu();
const device = typeof context === "string" ? undefined : (context as GpuContext).device;
const deviceF16 = await f16Device();
if (device && !deviceF16) console.warn("skipping the f16 WGSL tests: the adapter does not offer shader-f16");
/** The largest relative error seen against f32, per test (printed: the README quotes them). */
const worst: Record<string, number> = {};
afterAll(() => {
  removeTempDirs();
  if (Object.keys(worst).length > 0) console.log(`f16 against f32, largest relative errors: ${JSON.stringify(worst)}`);
});
function close(test: string, actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  const error = relativeError(actual, expected);
  worst[test] = Math.max(worst[test] ?? 0, error);
  return error;
}

/** f16 has an 11-bit significand (2⁻¹¹ ≈ 4.9e-4 relative rounding): errors of a few of those per operation. */
const F16 = 2 ** -11;

/** Every helper that has an f16 form: log (near 1 too), tanh, sigmoid, softplus, pow of any sign, NaN/∞ literals. */
const helpers = model("wgsl_f16_helpers", ({ input, param }) => {
  const x = input("x", [6]);
  const z = x.mul(param("p", [6], { init: "ones" }));
  const y = nn
    .sigmoid(z)
    .add(nn.tanh(z))
    .add(nn.softplus(z))
    .add(z.mul(z).add(1).log())
    .add(z.pow(3))
    .add(z.abs().add(0.5).pow(1.5));
  return { loss: nn.minimum(nn.maximum(y, -Infinity), Infinity).sum(), outputs: { y } };
});

describe("f16 literals", () => {
  it("round to the nearest f16, ties to even, ±∞ beyond 65504", () => {
    expect(roundF16(1 / 3)).toBe(0.333251953125);
    expect(roundF16(1 + 2 ** -11)).toBe(1); // a tie: to even
    expect(roundF16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(roundF16(65504)).toBe(65504);
    expect(roundF16(65520)).toBe(Infinity);
    expect(roundF16(-1e-8)).toBe(-0);
    expect(roundF16(2 ** -24)).toBe(2 ** -24); // the smallest subnormal
    expect(wgslLiteral(0.1, undefined, "f16")).toBe("0.0999755859375h");
    expect(wgslLiteral(-2, undefined, "f16")).toBe("(-2.0h)");
    const used = new Set<string>();
    expect(wgslLiteral(1e6, used, "f16")).toBe("inf_h()");
    expect(wgslLiteral(Number.NaN, used, "f16")).toBe("nan_h()");
    expect([...used]).toEqual(["inf_h", "nan_h"]);
  });
});

describe.runIf(device)("precision f16 on a device without shader-f16", () => {
  it("is refused with an error that says what to do", async () => {
    expect(device!.features.has("shader-f16")).toBe(false); // support.ts creates the default device without features
    const { gpu: gpuModule } = await loadBoth(xor, 4);
    await expect(gpuModule.createGpuTrainer(device!, { precision: "f16" })).rejects.toThrow(
      /precision "f16" needs a device with the WebGPU feature "shader-f16".*requiredFeatures: \["shader-f16"\]/,
    );
    await expect(gpuModule.createGpuTrainer(device!, { precision: "f64" as "f16" })).rejects.toThrow(
      /precision must be "f32" or "f16"/,
    );
  });
});

describe.runIf(deviceF16)("precision f16 against f32 (shader-f16)", () => {
  const xorBatch: Fields = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) };

  it("xor: loss, gradients and predictions within 16·2⁻¹¹; 200 steps train as far as f32 does", async () => {
    const TEST = "xor";
    const { gpu: gpuModule } = await loadBoth(xor, 4, { learningRate: 2 });
    const f32 = await gpuModule.createGpuTrainer(deviceF16!, { seed: 1 });
    const f16 = await gpuModule.createGpuTrainer(deviceF16!, { seed: 1, precision: "f16" });
    expect([f32.precision, f16.precision]).toEqual(["f32", "f16"]);
    expect(close(TEST, [await f16.gradient(xorBatch)], [await f32.gradient(xorBatch)])).toBeLessThan(16 * F16);
    for (const name of ["W1", "b1", "W2", "b2"])
      expect(close(TEST, await f16.readGrad(name), await f32.readGrad(name)), name).toBeLessThan(16 * F16);
    expect(
      close(TEST, (await f16.predict({ x: xorBatch.x! })).y!, (await f32.predict({ x: xorBatch.x! })).y!),
    ).toBeLessThan(16 * F16);
    f32.upload(xorBatch);
    f16.upload(xorBatch);
    const [lossF32, lossF16] = [await f32.steps(200), await f16.steps(200)];
    expect(Math.abs(lossF16 - lossF32)).toBeLessThan(0.01);
    expect(await f16.loss()).toBeLessThan(0.2);
    f32.destroy();
    f16.destroy();
  }, 60_000);

  it("mlp (784-128-10): gradients, three steps and predictions within 16·2⁻¹¹ of f32", async () => {
    const TEST = "mlp";
    const batch = 5;
    const { gpu: gpuModule } = await loadBoth(mlp, batch, { learningRate: 0.05 });
    const f32 = await gpuModule.createGpuTrainer(deviceF16!, { seed: 3 });
    const f16 = await gpuModule.createGpuTrainer(deviceF16!, { seed: 3, precision: "f16" });
    const x = new Float32Array(batch * 784).map((_, i) => ((i * 7919) % 256) / 255);
    const label = new Float32Array(batch * 10);
    for (let e = 0; e < batch; e++) label[e * 10 + ((e * 3) % 10)] = 1;
    const data = { x, label };
    const tolerance = 16 * F16;
    expect(close(TEST, [await f16.gradient(data)], [await f32.gradient(data)])).toBeLessThan(tolerance);
    for (const name of ["W1", "b1", "W2", "b2"])
      expect(close(TEST, await f16.readGrad(name), await f32.readGrad(name)), name).toBeLessThan(tolerance);
    for (let i = 0; i < 3; i++)
      expect(close(TEST, [await f16.step(data)], [await f32.step(data)])).toBeLessThan(tolerance);
    for (const name of ["W1", "b1", "W2", "b2"])
      expect(close(TEST, await f16.read(name), await f32.read(name)), name).toBeLessThan(tolerance);
    expect(
      close(TEST, (await f16.predict(data)).probabilities!, (await f32.predict(data)).probabilities!),
    ).toBeLessThan(tolerance);
    f32.destroy();
    f16.destroy();
  }, 60_000);

  /** max |a − b| / max |b|: no floor, so a loss or gradient near zero is compared relatively. */
  const strict = (actual: ArrayLike<number>, expected: ArrayLike<number>) => {
    let [scale, worst] = [0, 0];
    for (let i = 0; i < expected.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i]!));
      worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    }
    return worst / scale;
  };
  /** Evaluates f16 at f32's parameters: loss within 1e-2 relative, every gradient within 5e-2. */
  async function agreeAt(test: string, f32: GpuTrainer, f16: GpuTrainer, data: Fields, params: readonly string[]) {
    for (const name of params) f16.write(name, await f32.read(name));
    const [lossF32, lossF16] = [await f32.gradient(data), await f16.gradient(data)];
    worst[`${test} loss`] = Math.abs(lossF16 - lossF32) / lossF32;
    expect(lossF16).toBeGreaterThan(0);
    expect(Math.abs(lossF16 - lossF32) / lossF32).toBeLessThan(1e-2);
    // The gradient as one vector (every parameter's, concatenated), relative to its largest component:
    // near convergence a small tensor's gradient (a bias's) is a cancelling sum far below the rest.
    const [g16, g32] = [[] as number[], [] as number[]];
    for (const name of params) {
      for (const value of await f16.readGrad(name)) g16.push(value);
      for (const value of await f32.readGrad(name)) g32.push(value);
    }
    const error = strict(g16, g32);
    worst[`${test} gradient`] = error;
    expect(error).toBeLessThan(5e-2);
    return lossF32;
  }

  it("near convergence: after 2,000 xor steps, f16 at f32's parameters gives the loss within 1e-2 and gradients within 5e-2", async () => {
    const { gpu: gpuModule } = await loadBoth(xor, 4, { learningRate: 2 });
    const f32 = await gpuModule.createGpuTrainer(deviceF16!, { seed: 1 });
    const f16 = await gpuModule.createGpuTrainer(deviceF16!, { seed: 1, precision: "f16" });
    f32.upload(xorBatch);
    f16.upload(xorBatch);
    await f16.steps(2000);
    await f32.steps(2000);
    const loss = await agreeAt("xor 2000 steps", f32, f16, xorBatch, ["W1", "b1", "W2", "b2"]);
    expect(loss).toBeLessThan(2e-3); // converged: the regime where f16 cancelled
    expect(await f16.loss()).toBeLessThan(2 * loss + 1e-3); // and f16 trains there itself
    f32.destroy();
    f16.destroy();
  }, 120_000);

  it("near convergence: the mlp (784-128-10) at 100% training accuracy and loss < 1e-3, f16 within 1e-2 (loss) and 5e-2 (gradients)", async () => {
    const batch = 16;
    const { gpu: gpuModule } = await loadBoth(mlp, batch, { learningRate: 0.3 });
    const f32 = await gpuModule.createGpuTrainer(deviceF16!, { seed: 3 });
    const f16 = await gpuModule.createGpuTrainer(deviceF16!, { seed: 3, precision: "f16" });
    const x = new Float32Array(batch * 784).map((_, i) => ((i * 7919 + (i >> 5) * 31) % 256) / 255);
    const label = new Float32Array(batch * 10);
    for (let e = 0; e < batch; e++) label[e * 10 + ((e * 7) % 10)] = 1;
    const data = { x, label };
    f32.upload(data);
    let loss = Infinity;
    for (let round = 0; round < 40 && loss >= 1e-3; round++) loss = await f32.steps(50);
    expect(loss).toBeLessThan(1e-3);
    const probabilities = (await f32.predict(data)).probabilities!;
    let correct = 0;
    for (let e = 0; e < batch; e++) {
      const row = Array.from(probabilities.subarray(e * 10, e * 10 + 10));
      if (row.indexOf(Math.max(...row)) === (e * 7) % 10) correct++;
    }
    expect(correct / batch).toBeGreaterThanOrEqual(0.97);
    await agreeAt("mlp converged", f32, f16, data, ["W1", "b1", "W2", "b2"]);
    f32.destroy();
    f16.destroy();
  }, 180_000);

  it("every f16 helper compiles and agrees with f32 (values and gradients)", async () => {
    const TEST = "helpers";
    const batch = 3;
    const { gpu: gpuModule } = await loadBoth(helpers, batch);
    const f32 = await gpuModule.createGpuTrainer(deviceF16!, { seed: 2 });
    const f16 = await gpuModule.createGpuTrainer(deviceF16!, { seed: 2, precision: "f16" });
    const data = { x: new Float32Array(batch * 6).map((_, i) => -1.5 + ((i * 0.37) % 3)) };
    expect(close(TEST, [await f16.gradient(data)], [await f32.gradient(data)])).toBeLessThan(16 * F16);
    expect(close(TEST, await f16.readGrad("p"), await f32.readGrad("p"))).toBeLessThan(16 * F16);
    expect(close(TEST, (await f16.predict(data)).y!, (await f32.predict(data)).y!)).toBeLessThan(16 * F16);
    f32.destroy();
    f16.destroy();
  }, 60_000);
});
