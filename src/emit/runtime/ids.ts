// Checks of int32 inputs (integer ids, issue 11), copied into generated modules of models that have
// them (src/emit/runtime-source.ts). An id outside the table is refused at the call, before any work:
// generated code then reads every id without a bounds check.

declare const spec: { readonly model: string; readonly batch: number };

/** The batch field `name`, an Int32Array of ids. */
export function idsField(fields: object, name: string): Int32Array {
  if (typeof fields !== "object" || fields === null)
    throw new TypeError(`${spec.model}: the inputs must be an object of typed-array fields, got ${fields}`);
  const values: unknown = (fields as Record<string, unknown>)[name];
  if (values instanceof Int32Array) return values;
  const got = values === undefined || !Object.hasOwn(fields, name) ? "none" : Object.prototype.toString.call(values);
  throw new TypeError(
    `${spec.model}: input ${JSON.stringify(name)} holds integer ids and needs an Int32Array, got ${got}`,
  );
}

/** Without n, the examples a call takes from ids: all it holds, a whole number from 1 to the compiled batch. */
export function examplesInIds(values: Int32Array, name: string, size: number): number {
  const count = values.length / size;
  if (Number.isInteger(count) && count >= 1 && count <= spec.batch) return count;
  throw new RangeError(
    `${spec.model}: input ${JSON.stringify(name)} holds ${values.length} ids, not a whole number from 1 to ${spec.batch} of examples of ${size}; pass n to use the first n examples`,
  );
}

/** The call's `count` examples of ids: enough of them (exactly as many without n), each from 0 to bound − 1. */
export function checkIds(
  values: Int32Array,
  name: string,
  size: number,
  count: number,
  exact: boolean,
  bound: number,
): void {
  if (exact ? values.length !== count * size : values.length < count * size) {
    const which = exact ? " (as many examples as the call's first input; pass n to use fewer)" : "";
    throw new RangeError(
      `${spec.model}: input ${JSON.stringify(name)} needs ${count} × ${size} ids${which}, got ${values.length}`,
    );
  }
  for (let i = 0; i < count * size; i++) {
    const id = values[i]!;
    if (id >= 0 && id < bound) continue;
    throw new RangeError(
      `${spec.model}: input ${JSON.stringify(name)}, example ${Math.floor(i / size)}, position ${i % size}: id ${id} is out of range; ids index ${bound} rows, so each must be an integer from 0 to ${bound - 1}`,
    );
  }
}
