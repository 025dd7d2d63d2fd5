// How a TypeScript trainer method reads and checks a call's inputs before it calls an entry function.
// Up to `inputsAsStatements` inputs: a statement per input, into locals named like the entry
// function's parameters, so the generated code reads like the model. Past that (an RNN unrolled over
// 1,000 steps has 1,001 inputs) those statements alone would make runStep and each method ~120 KB of
// JavaScript, which V8 never optimises: the inputs are then read and checked in a loop over a table
// of their names, sizes and id ranges, into an array the entry function's arguments are read from.
// Text only: which inputs an entry reads is in the Program.

import type { Program } from "../schedule/program.js";
import { bufferName, stringLiteral, typescriptInputTable as table } from "../schedule/names.js";

/** The most inputs a method reads one statement each (about 120 B of JavaScript apiece). */
export const inputsAsStatements = 64;

/** How one entry point's inputs reach its function. */
export interface EntryInputs {
  /** Statements that read the inputs from `source`, check them, and settle `count` (n, or what the inputs hold). */
  prepare(source: string, countUsed: boolean): string[];
  /** The entry function's argument for input `x`, after `prepare`. */
  argument(x: string): string;
}

export interface InputReading {
  /** Declarations inside createTrainer: the table and its reader (none when every entry uses statements). */
  readonly declarations: readonly string[];
  entry(inputs: readonly string[]): EntryInputs;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function inputReading(program: Program): InputReading {
  const byName = new Map(program.inputs.map((x) => [x.name, x]));
  const input = (name: string) => byName.get(name)!;
  const indexOf = new Map(program.inputs.map((x, i) => [x.name, i]));
  const hasIds = program.inputs.some((x) => x.ids);
  // Index lists of the entries that read through the table, one constant per distinct list.
  const lists = new Map<string, string>();
  const listOf = (inputs: readonly string[]) => {
    const indices = inputs.map((x) => indexOf.get(x)!).join(", ");
    if (!lists.has(indices)) lists.set(indices, table.list(lists.size));
    return lists.get(indices)!;
  };
  const usesTable = (inputs: readonly string[]) => inputs.length > inputsAsStatements;
  for (const ep of program.entryPoints) if (usesTable(ep.inputs)) listOf(ep.inputs);

  const statements = (inputs: readonly string[]): EntryInputs => ({
    prepare(source, countUsed) {
      const field = (x: string) => (input(x).ids ? "idsField" : "inputField");
      const lines = inputs.map(
        (x) => `      const ${bufferName.input(x)} = ${field(x)}(${source}, ${stringLiteral(x)});`,
      );
      // An entry without inputs (a model without any, or predict of a model without outputs) accepts the argument unused.
      if (inputs.length === 0) lines.push(`      void ${source}; // no inputs`);
      const first = inputs[0];
      const derived =
        first === undefined
          ? "spec.batch"
          : `${input(first).ids ? "examplesInIds" : "examplesIn"}(${bufferName.input(first)}, ${stringLiteral(first)}, ${sizeOf(input(first).shape)})`;
      lines.push(
        countUsed || inputs.length > 0
          ? `      const count = checkCount(n ?? ${derived});`
          : `      checkCount(n ?? ${derived});`,
      );
      for (const x of inputs) {
        const args = `${bufferName.input(x)}, ${stringLiteral(x)}, ${sizeOf(input(x).shape)}, count, n === undefined`;
        const ids = input(x).ids;
        lines.push(ids ? `      checkIds(${args}, ${ids.bound});` : `      checkInput(${args});`);
      }
      return lines;
    },
    argument: (x) => bufferName.input(x),
  });

  const throughTable = (inputs: readonly string[]): EntryInputs => {
    const which = listOf(inputs);
    return {
      prepare: (source, countUsed) => [
        `      ${countUsed || inputs.length > 0 ? "const count = " : ""}${table.read}(${source}, n, ${which});`,
      ],
      argument: (x) => `${table.values}[${indexOf.get(x)!}] as ${input(x).ids ? "Int32Array" : "Values"}`,
    };
  };

  const declarations = () => {
    if (lists.size === 0) return [];
    const field = hasIds
      ? `${table.idBounds}[i]! < 0 ? inputField(fields, ${table.names}[i]!) : idsField(fields, ${table.names}[i]!)`
      : `inputField(fields, ${table.names}[i]!)`;
    const examples = hasIds
      ? `${table.idBounds}[first]! < 0 ? examplesIn(${table.values}[first] as Values, ${table.names}[first]!, ${table.sizes}[first]!) : examplesInIds(${table.values}[first] as Int32Array, ${table.names}[first]!, ${table.sizes}[first]!)`
      : `examplesIn(${table.values}[first] as Values, ${table.names}[first]!, ${table.sizes}[first]!)`;
    const check = hasIds
      ? [
          `      if (${table.idBounds}[i]! < 0) checkInput(${table.values}[i] as Values, ${table.names}[i]!, ${table.sizes}[i]!, count, n === undefined);`,
          `      else checkIds(${table.values}[i] as Int32Array, ${table.names}[i]!, ${table.sizes}[i]!, count, n === undefined, ${table.idBounds}[i]!);`,
        ]
      : [
          `      checkInput(${table.values}[i] as Values, ${table.names}[i]!, ${table.sizes}[i]!, count, n === undefined);`,
        ];
    return [
      `  // ${program.inputs.length} inputs: calls read and check them in a loop over this table (a statement per`,
      `  // input would make each call too large for V8 to optimise); the entry functions' arguments come from ${table.values}.`,
      `  const ${table.names}: readonly string[] = [${program.inputs.map((x) => stringLiteral(x.name)).join(", ")}];`,
      `  const ${table.sizes}: readonly number[] = [${program.inputs.map((x) => sizeOf(x.shape)).join(", ")}];`,
      ...(hasIds
        ? [
            `  // An int32 input's number of ids; −1 for a float input.`,
            `  const ${table.idBounds}: readonly number[] = [${program.inputs.map((x) => x.ids?.bound ?? -1).join(", ")}];`,
          ]
        : []),
      `  const ${table.values}: (Values | Int32Array)[] = ${table.names}.map(() => new Float32Array(0));`,
      ...[...lists].map(([indices, name]) => `  const ${name}: readonly number[] = [${indices}];`),
      `  /** Reads the batch fields \`which\` indexes into ${table.values}, checks them, and returns the call's example count. */`,
      `  function ${table.read}(fields: object, n: number | undefined, which: readonly number[]): number {`,
      `    for (let k = 0; k < which.length; k++) {`,
      `      const i = which[k]!;`,
      `      ${table.values}[i] = ${field};`,
      `    }`,
      `    const first = which[0]!;`,
      `    const count = checkCount(n ?? (${examples}));`,
      `    for (let k = 0; k < which.length; k++) {`,
      `      const i = which[k]!;`,
      ...check,
      `    }`,
      `    return count;`,
      `  }`,
    ];
  };
  return {
    declarations: declarations(),
    entry: (inputs) => (usesTable(inputs) ? throughTable(inputs) : statements(inputs)),
  };
}
