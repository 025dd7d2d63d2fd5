// Invocation counts of tasks: sums of products of ⌈factor·nᵖᵒʷᵉʳ / divisor⌉, n the run-time example
// count, and how a shader spells them.

import type { Extent } from "../../schedule/program.js";

/** ⌈factor·nᵖᵒʷᵉʳ / divisor⌉, n the run-time example count. */
export type Factor = readonly [factor: number, power: number, divisor: number];
/** Invocations: a sum of products of factors. */
export type Count = readonly (readonly Factor[])[];

export const single: Count = [[]];
export const isSingle = (count: Count) =>
  count.length === 1 && count[0]!.every(([f, p, d]) => f === 1 && p === 0 && d === 1);

export const factorOf = (e: Extent, divisor = 1): Factor => [e.factor, e.perExample ? 1 : 0, divisor];

export function countOf(extents: readonly Extent[]): Count {
  return [extents.map((e) => factorOf(e))];
}

/** factor·nᵖᵒʷᵉʳ of a count with one term and no divisors, as [factor, power]. */
function plainCount(count: Count): readonly [number, number] | undefined {
  if (count.length !== 1 || count[0]!.some(([, , d]) => d !== 1)) return undefined;
  return count[0]!.reduce<[number, number]>(([f, p], [factor, power]) => [f * factor, p + power], [1, 0]);
}

export function sameCount(a: Count, b: Count): boolean {
  const [x, y] = [plainCount(a), plainCount(b)];
  return x !== undefined && y !== undefined && x[0] === y[0] && x[1] === y[1];
}

export function extentCode(e: Extent): string {
  if (!e.perExample) return `${e.factor}u`;
  return e.factor === 1 ? "n" : `n * ${e.factor}u`;
}

export function factorCode([factor, power, divisor]: Factor): string {
  const base = [
    ...(factor !== 1 || power === 0 ? [`${factor}u`] : []),
    ...Array.from({ length: power }, () => "n"),
  ].join(" * ");
  if (divisor === 1) return base;
  if (power === 0) return `${Math.ceil(factor / divisor)}u`;
  return `((${base} + ${divisor - 1}u) / ${divisor}u)`;
}

export function countCode(count: Count): string {
  return count.map((term) => (term.length === 0 ? "1u" : term.map(factorCode).join(" * "))).join(" + ");
}
