// Types of function-sizes.mjs for the tests that import it (test/emit/function-sizes.test.ts).

export interface FunctionSize {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly bytes: number;
  readonly lines: number;
  /** Without nested functions. */
  readonly ownBytes: number;
  readonly ownLines: number;
}

/** Functions of JavaScript source (esbuild's output of a generated module), in source order. */
export function functionSizes(js: string): FunctionSize[];
/** Functions a generated module runs once per trainer (no optimisation cliff). */
export const RUN_ONCE: ReadonlySet<string>;
/** The function with the most own bytes among those that run on every call (not RUN_ONCE). */
export function largestFunction(js: string): FunctionSize | null;
/** Lines and bytes of the declaration `function name(…) { … }` in generated TypeScript. */
export function declarationSize(ts: string, name: string): { bytes: number; lines: number } | null;
