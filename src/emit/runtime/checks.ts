// Checks both generated modules make of their callers' arguments: the example count, stepInto's
// index, options.params' keys. They read the module's own `spec` (declared here for the type check; the
// declaration is not copied). Copied into each generated module by src/emit/runtime-source.ts.

declare const spec: { readonly model: string; readonly batch: number; readonly params: object };

export function checkCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > spec.batch) {
    throw new RangeError(`${spec.model}: n = ${n} must be an integer from 1 to the compiled batch size ${spec.batch}`);
  }
  return n;
}

/** options.params, checked: every key names a parameter (a typo is an error, not ignored). */
export function givenParams(params: object | undefined): object {
  if (params === undefined) return {};
  const prototype: unknown = typeof params === "object" && params !== null ? Object.getPrototypeOf(params) : undefined;
  if (prototype !== Object.prototype && prototype !== null) {
    throw new TypeError(
      `${spec.model}: params must be a plain object keyed by parameter name (in an object literal, \`__proto__: …\` sets the prototype; write ["__proto__"]: … for a parameter of that name)`,
    );
  }
  for (const name of Object.keys(params)) {
    if (!Object.hasOwn(spec.params, name)) {
      throw new RangeError(
        `${spec.model}: params has no parameter ${JSON.stringify(name)}; the parameters are ${
          Object.keys(spec.params)
            .map((p) => JSON.stringify(p))
            .join(", ") || "none"
        }`,
      );
    }
  }
  return params;
}

/** losses[index] must exist: a typed array ignores writes past its end. */
export function checkIndex(losses: Float64Array, index: number): void {
  if (!(losses instanceof Float64Array) || !Number.isInteger(index) || index < 0 || index >= losses.length) {
    throw new RangeError(
      `${spec.model}: stepInto(batch, losses, index) needs a Float64Array losses and an integer index from 0 to losses.length − 1, got index ${index}`,
    );
  }
}
