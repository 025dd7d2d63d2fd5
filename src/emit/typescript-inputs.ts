// How a TypeScript trainer method reads and checks a call's inputs before it calls an entry function.
// Up to `inputsAsStatements` inputs: a statement per input, into locals named like the entry
// function's parameters, so the generated code reads like the model. Past that (an RNN unrolled over
// 1,000 steps has 1,001 inputs) those statements alone would make runStep and each method ~120 KB of
// JavaScript, which V8 never optimises: the inputs are then read and checked in a loop over a table
// of their names, sizes and id ranges, into an array the entry function's arguments are read from.
// Text only: which inputs an entry reads is in the Program.

import type { Program } from "../schedule/program.js";
import { bufferName, stringLiteral } from "../schedule/names.js";

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
  const input = (name: string) => program.inputs.find((x) => x.name === name)!;
  const indexOf = new Map(program.inputs.map((x, i) => [x.name, i]));
  const hasIds = program.inputs.some((x) => x.ids);
  // Index lists of the entries that read through the table, one constant per distinct list.
  const lists = new Map<string, string>();
  const listOf = (inputs: readonly string[]) => {
    const indices = inputs.map((x) => indexOf.get(x)!).join(", ");
    if (!lists.has(indices)) lists.set(indices, `inputList${lists.size}`);
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

  const table = (inputs: readonly string[]): EntryInputs => {
    const which = listOf(inputs);
    return {
      prepare: (source, countUsed) => [
        `      ${countUsed || inputs.length > 0 ? "const count = " : ""}readInputs(${source}, n, ${which});`,
      ],
      argument: (x) => `inputValues[${indexOf.get(x)!}] as ${input(x).ids ? "Int32Array" : "Values"}`,
    };
  };

  const declarations = () => {
    if (lists.size === 0) return [];
    const field = hasIds
      ? `inputIdBounds[i]! < 0 ? inputField(fields, inputNames[i]!) : idsField(fields, inputNames[i]!)`
      : `inputField(fields, inputNames[i]!)`;
    const examples = hasIds
      ? `inputIdBounds[first]! < 0 ? examplesIn(inputValues[first] as Values, inputNames[first]!, inputSizes[first]!) : examplesInIds(inputValues[first] as Int32Array, inputNames[first]!, inputSizes[first]!)`
      : `examplesIn(inputValues[first] as Values, inputNames[first]!, inputSizes[first]!)`;
    const check = hasIds
      ? [
          `      if (inputIdBounds[i]! < 0) checkInput(inputValues[i] as Values, inputNames[i]!, inputSizes[i]!, count, n === undefined);`,
          `      else checkIds(inputValues[i] as Int32Array, inputNames[i]!, inputSizes[i]!, count, n === undefined, inputIdBounds[i]!);`,
        ]
      : [`      checkInput(inputValues[i] as Values, inputNames[i]!, inputSizes[i]!, count, n === undefined);`];
    return [
      `  // ${program.inputs.length} inputs: calls read and check them in a loop over this table (a statement per`,
      `  // input would make each call too large for V8 to optimise); the entry functions' arguments come from inputValues.`,
      `  const inputNames: readonly string[] = [${program.inputs.map((x) => stringLiteral(x.name)).join(", ")}];`,
      `  const inputSizes: readonly number[] = [${program.inputs.map((x) => sizeOf(x.shape)).join(", ")}];`,
      ...(hasIds
        ? [
            `  // An int32 input's number of ids; −1 for a float input.`,
            `  const inputIdBounds: readonly number[] = [${program.inputs.map((x) => x.ids?.bound ?? -1).join(", ")}];`,
          ]
        : []),
      `  const inputValues: (Values | Int32Array)[] = inputNames.map(() => new Float32Array(0));`,
      ...[...lists].map(([indices, name]) => `  const ${name}: readonly number[] = [${indices}];`),
      `  /** Reads the batch fields \`which\` indexes into inputValues, checks them, and returns the call's example count. */`,
      `  function readInputs(fields: object, n: number | undefined, which: readonly number[]): number {`,
      `    for (let k = 0; k < which.length; k++) {`,
      `      const i = which[k]!;`,
      `      inputValues[i] = ${field};`,
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
    entry: (inputs) => (usesTable(inputs) ? table(inputs) : statements(inputs)),
  };
}
