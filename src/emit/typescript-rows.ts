// The TypeScript trainer's sparse rows (src/schedule/sparse-rows.ts): per gather table, the rows the
// last gradient() touched (an Int32Array, deduplicated by a mark per row) and their count, −1 when
// any row may be nonzero (applyUpdate(): its caller may have written the gradient). A fill zeroes
// only the listed rows, a scatter lists the rows its ids name, SGD's loop visits only the listed
// rows. Prints what the Program marked; decides nothing.

import type { Access, Extent, FillKernel, LoopKernel, Program, TouchRecord } from "../schedule/program.js";
import { bufferOf } from "../schedule/queries.js";
import { bufferName, typescriptLocal as local } from "../schedule/names.js";
import type { Writer } from "./typescript-functions.js";

function extent(e: Extent): string {
  if (!e.perExample) return String(e.factor);
  return e.factor === 1 ? "n" : `n * ${e.factor}`;
}

const rowSetOf = (program: Program, param: string) => {
  const set = program.rowSets.find((s) => s.param === param);
  if (!set) throw new Error(`internal: no row set for ${param}`);
  return set;
};

/** Allocations: each table's touched rows, marks and count (once per trainer, never per call). */
export function rowSetAllocations(program: Program): string[] {
  return program.rowSets.flatMap((set) => [
    `  const ${bufferName.touchedRows(set.param)} = new Int32Array(${set.capacity}); // rows of grad ${JSON.stringify(set.param)} the last gradient() touched`,
    `  const ${bufferName.touchedMarks(set.param)} = new Uint8Array(${set.rows});`,
    `  let ${bufferName.touchedCount(set.param)} = 0; // −1: any row may be nonzero (after applyUpdate())`,
  ]);
}

/** applyUpdate()'s gradient may come from its caller: the update and the next zeroing go dense. */
export function rowSetsAnyRow(program: Program): string[] {
  return program.rowSets.map((set) => `      ${bufferName.touchedCount(set.param)} = -1;`);
}

/** A gradient's zero fill: the rows listed (all of it after applyUpdate()), then an empty list. */
export function printRowsFill(out: Writer, program: Program, kernel: FillKernel, id: number): void {
  const set = rowSetOf(program, kernel.rows!);
  const [list, marks, count] = [
    bufferName.touchedRows(set.param),
    bufferName.touchedMarks(set.param),
    bufferName.touchedCount(set.param),
  ];
  const [t, base, i] = [local.touchedAt(id), local.rowBase(id), local.loopIndex(id, 0)];
  out.line(`// ${kernel.buffer} = 0: only the rows the last call touched can be nonzero`);
  out.open(`if (${count} < 0) {`);
  out.line(`${kernel.buffer}.fill(0, 0, ${extent(kernel.length)});`);
  out.line(`${marks}.fill(0);`);
  out.reopen(`} else {`);
  out.open(`for (let ${t} = 0; ${t} < ${count}; ${t}++) {`);
  out.line(`const ${base} = ${list}[${t}]!;`);
  out.line(`${marks}[${base}] = 0;`);
  out.line(
    `for (let ${i} = ${base} * ${set.rowSize}; ${i} < ${base} * ${set.rowSize} + ${set.rowSize}; ${i}++) ${kernel.buffer}[${i}] = 0;`,
  );
  out.close();
  out.close();
  out.line(`${count} = 0;`);
}

/** Lists the rows a scatter's ids name, each once. */
export function printTouches(out: Writer, record: TouchRecord, id: number): void {
  const [list, marks, count] = [
    bufferName.touchedRows(record.rows),
    bufferName.touchedMarks(record.rows),
    bufferName.touchedCount(record.rows),
  ];
  const ids: Access = record.ids;
  const indices = record.dims.map((_, d) => local.loopIndex(id, d));
  out.line(`// rows of ${record.rows} this scatter touches`);
  record.dims.forEach((dim, d) =>
    out.open(`for (let ${indices[d]} = 0; ${indices[d]} < ${extent(dim)}; ${indices[d]}++) {`),
  );
  const index = [String(ids.offset), ...indices.map((v, d) => (ids.strides[d] === 1 ? v : `${v} * ${ids.strides[d]}`))]
    .filter((term) => term !== "0")
    .join(" + ");
  const row = local.rowBase(id);
  out.line(`const ${row} = ${bufferOf(ids)}[${index || "0"}]!;`);
  out.open(`if (${marks}[${row}] === 0) {`);
  out.line(`${marks}[${row}] = 1;`);
  out.line(`${list}[${count}++] = ${row};`);
  out.close();
  record.dims.forEach(() => out.close());
}

/**
 * A loop over the whole table that only the listed rows need: the dense loop when any row may be
 * nonzero, else the same body over each listed row (`printRow` prints the kernel over one row, its
 * accesses starting at the given base).
 */
export function printRowsLoop(
  out: Writer,
  program: Program,
  kernel: LoopKernel,
  id: number,
  printDense: () => void,
  printRow: (row: LoopKernel, base: string) => void,
): void {
  const set = rowSetOf(program, kernel.rows!);
  const [list, count] = [bufferName.touchedRows(set.param), bufferName.touchedCount(set.param)];
  const [t, base] = [local.touchedAt(id), local.rowBase(id)];
  out.open(`if (${count} < 0) {`);
  printDense();
  out.reopen(`} else {`);
  out.line(`// only the rows the ids touched: elsewhere g = 0 leaves ${set.param} as it is`);
  out.open(`for (let ${t} = 0; ${t} < ${count}; ${t}++) {`);
  out.line(`const ${base} = ${list}[${t}]! * ${set.rowSize};`);
  printRow({ ...kernel, dims: [{ factor: set.rowSize, perExample: false }], unrolled: 0 }, base);
  out.close();
  out.close();
}
