// Parameter initialisers. The generated module carries the sampling code (templates/trainer.ts.tpl)
// and its own PRNG, so the same seed gives the same bytes on every platform.

export type InitName =
  | "zeros"
  | "ones"
  | "uniform" // U(−0.05, 0.05)
  | "normal" // N(0, 0.05²)
  | "lecun" // N(0, 1/fan_in)
  | "xavier"
  | "glorot" // Glorot uniform: U(±√(6/(fan_in + fan_out)))
  | "xavierNormal"
  | "glorotNormal" // N(0, 2/(fan_in + fan_out))
  | "he" // N(0, 2/fan_in)
  | "heUniform"; // U(±√(6/fan_in))

export type InitSpec =
  | InitName
  | number
  | { readonly kind: "uniform"; readonly min: number; readonly max: number }
  | { readonly kind: "normal"; readonly mean: number; readonly std: number }
  /** Exactly k non-zero incoming weights per unit, drawn from N(0, std²) (Martens 2010). */
  | { readonly kind: "sparse"; readonly k: number; readonly std: number };

const initNames: readonly InitName[] = [
  "zeros",
  "ones",
  "uniform",
  "normal",
  "lecun",
  "xavier",
  "glorot",
  "xavierNormal",
  "glorotNormal",
  "he",
  "heUniform",
];

export const init = {
  constant: (value: number): InitSpec => value,
  uniform: (min = -0.05, max = 0.05): InitSpec => ({ kind: "uniform", min, max }),
  normal: (mean = 0, std = 0.05): InitSpec => ({ kind: "normal", mean, std }),
  sparse: (k: number, std = 1): InitSpec => ({ kind: "sparse", k, std }),
};

/** Stable text of an init spec (part of a parameter node's identity). */
export function initKey(spec: InitSpec): string {
  return typeof spec === "object" ? JSON.stringify(spec) : String(spec);
}

export interface Fans {
  readonly fanIn: number;
  readonly fanOut: number;
}

/**
 * Fan-in and fan-out of a [in…, out] parameter (a vector counts as both). A parameter used as the
 * filters [O, C, k…] of nn.conv1d/conv2d has `filter` fans instead: C·∏k in, O·∏k out (PyTorch, Keras).
 */
export function fans(shape: readonly number[], filter?: Fans): Fans {
  if (filter) return filter;
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  return { fanIn: shape.slice(0, -1).reduce((a, b) => a * b, 1), fanOut: shape[shape.length - 1]! };
}

/** Why `spec` is not a valid initialiser for `shape`, or undefined when it is. */
export function initProblem(spec: unknown, shape: readonly number[]): string | undefined {
  if (typeof spec === "number") return Number.isFinite(spec) ? undefined : "a constant initialiser must be finite";
  if (typeof spec === "string")
    return initNames.includes(spec as InitName)
      ? undefined
      : `unknown init "${spec}"; use one of ${initNames.join(", ")}, a number, or init.uniform/normal/sparse(...)`;
  if (typeof spec !== "object" || spec === null) return `unknown init ${String(spec)}`;
  const s = spec as { kind?: string; min?: number; max?: number; mean?: number; std?: number; k?: number };
  const finite = (...values: (number | undefined)[]) =>
    values.every((v) => typeof v === "number" && Number.isFinite(v));
  switch (s.kind) {
    case "uniform":
      return finite(s.min, s.max) && s.min! <= s.max! ? undefined : "init.uniform(min, max) needs finite min ≤ max";
    case "normal":
      return finite(s.mean, s.std) && s.std! >= 0
        ? undefined
        : "init.normal(mean, std) needs a finite mean and std ≥ 0";
    case "sparse": {
      const { fanIn } = fans(shape);
      if (!Number.isInteger(s.k) || s.k! < 1) return "init.sparse(k) needs a whole number k ≥ 1";
      if (s.k! > fanIn)
        return `init.sparse(${s.k}) asks for more non-zero incoming weights than the ${fanIn} inputs of each unit`;
      return finite(s.std) && s.std! >= 0 ? undefined : "init.sparse(k, std) needs std ≥ 0";
    }
    default:
      return `unknown init ${JSON.stringify(spec)}`;
  }
}
