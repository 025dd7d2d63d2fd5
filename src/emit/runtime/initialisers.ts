// The initialisers of both generated modules, so one seed gives the same parameters on every
// target and engine (+ − × ÷ and integer arithmetic only). Copied into each generated module by
// src/emit/runtime-source.ts; tested directly. givenParam reads the module's own `spec` (declared
// here for the type check; the declaration is not copied).

declare const spec: { readonly model: string };

/** ln x for x > 0 with + − × ÷ only (Math.log may differ between engines in the last bit). */
export function portableLog(x: number): number {
  let exponent = 0;
  while (x >= 2) {
    x /= 2;
    exponent++;
  }
  while (x < 1) {
    x *= 2;
    exponent--;
  }
  // ln x = 2·atanh(z) with z = (x − 1)/(x + 1) ≤ 1/3 for x in [1, 2)
  const z = (x - 1) / (x + 1);
  const z2 = z * z;
  let term = z;
  let sum = 0;
  for (let k = 1; k < 42; k += 2) {
    sum += term / k;
    term *= z2;
  }
  return 2 * sum + exponent * 0.6931471805599453;
}

/** cos x for |x| ≤ π by its Taylor series, for the same reason. */
export function portableCos(x: number): number {
  const x2 = x * x;
  let term = 1;
  let sum = 1;
  for (let k = 1; k <= 17; k++) {
    term *= -x2 / ((2 * k - 1) * (2 * k));
    sum += term;
  }
  return sum;
}

/** Standard normal by Box–Muller from two uniforms. */
export function normal(random: () => number): number {
  const radius = Math.sqrt(-2 * portableLog(1 - random()));
  return -radius * portableCos(2 * Math.PI * random() - Math.PI); // cos(2πv) = −cos(2πv − π)
}

export type Init =
  | string
  | number
  | { readonly kind: "uniform"; readonly min: number; readonly max: number }
  | { readonly kind: "normal"; readonly mean: number; readonly std: number }
  | { readonly kind: "sparse"; readonly k: number; readonly std: number };

function fillUniform(target: Float32Array | Float64Array, min: number, max: number, random: () => number): void {
  for (let i = 0; i < target.length; i++) target[i] = min + (max - min) * random();
}

function fillNormal(target: Float32Array | Float64Array, mean: number, std: number, random: () => number): void {
  for (let i = 0; i < target.length; i++) target[i] = mean + std * normal(random);
}

export function initialise(
  target: Float32Array | Float64Array,
  init: Init,
  fanIn: number,
  fanOut: number,
  random: () => number,
): void {
  if (typeof init === "number") return void target.fill(init);
  if (typeof init === "object") {
    if (init.kind === "uniform") return fillUniform(target, init.min, init.max, random);
    if (init.kind === "normal") return fillNormal(target, init.mean, init.std, random);
    // sparse: each unit (column) gets exactly k non-zero incoming weights, at rows chosen by a partial shuffle
    target.fill(0);
    const rows = new Int32Array(fanIn);
    for (let unit = 0; unit < fanOut; unit++) {
      for (let i = 0; i < fanIn; i++) rows[i] = i;
      for (let chosen = 0; chosen < init.k; chosen++) {
        const pick = chosen + Math.floor(random() * (fanIn - chosen));
        const row = rows[pick]!;
        rows[pick] = rows[chosen]!;
        rows[chosen] = row;
        target[row * fanOut + unit] = init.std * normal(random);
      }
    }
    return;
  }
  switch (init) {
    case "zeros":
      return void target.fill(0);
    case "ones":
      return void target.fill(1);
    case "uniform":
      return fillUniform(target, -0.05, 0.05, random);
    case "normal":
      return fillNormal(target, 0, 0.05, random);
    case "lecun":
      return fillNormal(target, 0, Math.sqrt(1 / fanIn), random); // LeCun: N(0, 1/fan_in)
    case "xavier":
    case "glorot": {
      // Glorot & Bengio: U(±√(6/(fan_in + fan_out)))
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return fillUniform(target, -limit, limit, random);
    }
    case "xavierNormal":
    case "glorotNormal":
      return fillNormal(target, 0, Math.sqrt(2 / (fanIn + fanOut)), random);
    case "he":
      return fillNormal(target, 0, Math.sqrt(2 / fanIn), random); // He et al.: N(0, 2/fan_in)
    case "heUniform": {
      const limit = Math.sqrt(6 / fanIn);
      return fillUniform(target, -limit, limit, random);
    }
  }
}

/** The initial values options.params gives parameter `name`, if any. */
export function givenParam(params: object, name: string, size: number): ArrayLike<number> | undefined {
  const given = Object.hasOwn(params, name)
    ? (params as Record<string, ArrayLike<number> | undefined>)[name]
    : undefined;
  if (given !== undefined && given.length !== size)
    throw new RangeError(`${spec.model}: params[${JSON.stringify(name)}] needs ${size} values, got ${given.length}`);
  return given;
}
