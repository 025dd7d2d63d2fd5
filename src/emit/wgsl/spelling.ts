// How WGSL spells values: literals of each precision (NaN and ±∞ through helpers), the helper
// functions a shader may call, each elementwise op, and powers with Math.pow's meaning.

import { Op } from "../../ir/ops.js";
import type { ElementwiseOp } from "../../ir/scalar.js";

/** Helper functions a shader may call, each emitted only where used. */
export const helperCode: Readonly<Record<string, string>> = {
  // NaN and ±∞ from bit patterns held in a `var`: as constant expressions WGSL rejects them.
  nan_: "fn nan_() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }",
  inf_: "fn inf_() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }",
  // log(1 + x) without cancellation near 0: 2·atanh(x / (2 + x)) by its series (|z| < 0.06, error < 3e-11).
  log1p_: [
    "fn log1p_(x: f32) -> f32 {",
    "  if (abs(x) < 0.125) {",
    "    let z = x / (2.0 + x);",
    "    let z2 = z * z;",
    "    return 2.0 * z * (1.0 + z2 * (0.33333334 + z2 * (0.2 + z2 * 0.14285715)));",
    "  }",
    "  return log(1.0 + x);",
    "}",
  ].join("\n"),
  // The built-in log has an absolute error of about 6e-8: near 1 it goes through log1p_.
  log_: [
    "fn log_(x: f32) -> f32 {",
    "  if (x > 0.875 && x < 1.125) { return log1p_(x - 1.0); }",
    "  return log(x);",
    "}",
  ].join("\n"),
  // tanh: its series near 0 (the built-in loses relative precision there), clamped beyond ±15 (= ±1 in f32).
  tanh_: [
    "fn tanh_(x: f32) -> f32 {",
    "  if (abs(x) < 0.125) {",
    "    let x2 = x * x;",
    "    return x * (1.0 + x2 * (-0.33333334 + x2 * (0.13333334 + x2 * -0.053968254)));",
    "  }",
    "  return tanh(clamp(x, -15.0, 15.0));",
    "}",
  ].join("\n"),
  // σ(x) from e^(−|x|) ≤ 1: never overflows.
  sigmoid_: [
    "fn sigmoid_(x: f32) -> f32 {",
    "  let e = exp(-abs(x));",
    "  let s = 1.0 / (1.0 + e);",
    "  return select(e * s, s, x >= 0.0);",
    "}",
  ].join("\n"),
  // log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|))
  softplus_: "fn softplus_(x: f32) -> f32 { return max(x, 0.0) + log1p_(exp(-abs(x))); }",
  // Counter-based random bits (PCG hash, Jarzynski & Olano 2020) for dropout masks.
  pcg_: [
    "fn pcg_(v: u32) -> u32 {",
    "  let s = v * 747796405u + 2891336453u;",
    "  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;",
    "  return (w >> 22u) ^ w;",
    "}",
  ].join("\n"),
};

/** The f16 helpers (suffix h): the f32 ones retyped, and NaN/∞ from 16-bit patterns. */
export const helperCodeF16: Readonly<Record<string, string>> = {
  nan_h: "fn nan_h() -> f16 { var bits = 0x7e007e00u; return bitcast<vec2<f16>>(bits).x; }",
  inf_h: "fn inf_h() -> f16 { var bits = 0x7c007c00u; return bitcast<vec2<f16>>(bits).x; }",
  ...Object.fromEntries(
    ["log1p_", "log_", "tanh_", "sigmoid_", "softplus_"].map((name) => [
      `${name}h`,
      helperCode[name]!.replace(/\bf32\b/g, "f16").replace(/\b(log1p|log|tanh|sigmoid|softplus)_(?=\()/g, "$1_h"),
    ]),
  ),
};

/** Helpers that call other helpers. */
const helperDependencies: Readonly<Record<string, readonly string[]>> = {
  log_: ["log1p_"],
  softplus_: ["log1p_"],
  log_h: ["log1p_h"],
  softplus_h: ["log1p_h"],
};

/** Arithmetic precision of a task's values (storage is always f32). */
export type Precision = "f32" | "f16";

/** x rounded to the nearest f16 (ties to even); beyond the largest finite f16 it is ±∞. */
export function roundF16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  let e = Math.max(Math.floor(Math.log2(a)), -14);
  if (e > -14 && 2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  const floor = Math.floor(q);
  const rounded = q - floor > 0.5 || (q - floor === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  return Math.sign(x) * rounded * ulp;
}

/**
 * A literal WGSL accepts, of the given precision: the exact f32 (f16) value, NaN and ±∞ through
 * helpers, negatives in parentheses.
 */
export function wgslLiteral(value: number, helpers?: Set<string>, precision: Precision = "f32"): string {
  const use = (name: string) => helpers?.add(name);
  const suffix = precision === "f16" ? "h" : "f";
  const [nan, inf] = precision === "f16" ? ["nan_h", "inf_h"] : ["nan_", "inf_"];
  if (Number.isNaN(value)) return (use(nan), `${nan}()`);
  const f = precision === "f16" ? roundF16(value) : Math.fround(value);
  if (f === Infinity) return (use(inf), `${inf}()`);
  if (f === -Infinity) return (use(inf), `(-${inf}())`);
  if (f === 0) return Object.is(f, -0) ? `(-0.0${suffix})` : `0.0${suffix}`;
  const text = String(Math.abs(f));
  const spelled = /[.e]/.test(text) ? `${text}${suffix}` : `${text}.0${suffix}`;
  return f < 0 ? `(-${spelled})` : spelled;
}

/** How a task spells its values: their type, literals and helper functions. */
export interface Numbers {
  readonly precision: Precision;
  /** "f32" or "f16". */
  readonly type: string;
  readonly literal: (value: number) => string;
  /** The helper `base` ("sigmoid_") of this precision, noted as used. */
  readonly helper: (base: string) => string;
}

export function numbersOf(precision: Precision, helpers: Set<string>): Numbers {
  return {
    precision,
    type: precision,
    literal: (value) => wgslLiteral(value, helpers, precision),
    helper: (base) => {
      const name = precision === "f16" ? `${base}h` : base;
      helpers.add(name);
      return name;
    },
  };
}

/** Each elementwise op over already-named operands; typed by the op list, so a new op without a WGSL form is a type error. */
export const elementwiseCode: {
  readonly [K in ElementwiseOp]: (args: readonly string[], exponent: number, num: Numbers) => string;
} = {
  [Op.Neg]: ([x]) => `-${x}`,
  [Op.Exp]: ([x]) => `exp(${x})`,
  [Op.Log]: ([x], _, num) => `${num.helper("log_")}(${x})`,
  [Op.Sin]: ([x]) => `sin(${x})`,
  [Op.Cos]: ([x]) => `cos(${x})`,
  [Op.Sqrt]: ([x]) => `sqrt(${x})`,
  [Op.Abs]: ([x]) => `abs(${x})`,
  [Op.Sign]: ([x]) => `sign(${x})`,
  [Op.Sigmoid]: ([x], _, num) => `${num.helper("sigmoid_")}(${x})`,
  [Op.Tanh]: ([x], _, num) => `${num.helper("tanh_")}(${x})`,
  [Op.Softplus]: ([x], _, num) => `${num.helper("softplus_")}(${x})`,
  [Op.PowConst]: ([x], p, num) => powCode(x!, p, num),
  [Op.Add]: ([a, b]) => `${a} + ${b}`,
  [Op.Sub]: ([a, b]) => `${a} - ${b}`,
  [Op.Mul]: ([a, b]) => `${a} * ${b}`,
  [Op.Div]: ([a, b]) => `${a} / ${b}`,
  [Op.Maximum]: ([a, b]) => `max(${a}, ${b})`,
  [Op.Minimum]: ([a, b]) => `min(${a}, ${b})`,
  [Op.Greater]: ([a, b], _, num) => `select(${num.literal(0)}, ${num.literal(1)}, ${a} > ${b})`,
  [Op.Equal]: ([a, b], _, num) => `select(${num.literal(0)}, ${num.literal(1)}, ${a} == ${b})`,
  [Op.Select]: ([c, a, b], _, num) => `select(${b}, ${a}, ${c} != ${num.literal(0)})`,
};

/** xᵖ with Math.pow's meaning: WGSL's pow is undefined for x < 0, so the sign is handled here. */
function powCode(x: string, p: number, num: Numbers): string {
  if (p === 0) return num.literal(1);
  if (p === 1) return x;
  if (p === 2) return `${x} * ${x}`;
  if (p === 3) return `${x} * ${x} * ${x}`;
  if (p === -1) return `${num.literal(1)} / ${x}`;
  if (p === 0.5) return `sqrt(${x})`;
  const magnitude = `pow(abs(${x}), ${num.literal(p)})`;
  if (Number.isInteger(p))
    return p % 2 === 0 ? magnitude : `select(${magnitude}, -${magnitude}, ${x} < ${num.literal(0)})`;
  return `select(${magnitude}, ${num.helper("nan_")}(), ${x} < ${num.literal(0)})`;
}

/** The helpers `names` use, with those they call, in a fixed order. */
export function helperClosure(names: Iterable<string>): string[] {
  const all = new Set<string>();
  const visit = (name: string) => {
    if (all.has(name)) return;
    all.add(name);
    (helperDependencies[name] ?? []).forEach(visit);
  };
  for (const name of names) visit(name);
  return [...Object.keys(helperCode), ...Object.keys(helperCodeF16)].filter((name) => all.has(name));
}
