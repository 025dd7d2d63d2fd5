// One error type for everything a user can get wrong. The CLI prints `message` as one paragraph
// (what, where, how to fix) and exits non-zero; it never prints a stack trace for these.

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export class GradgenError extends Error {
  constructor(
    message: string,
    readonly location?: SourceLocation,
  ) {
    super(location ? `${formatLocation(location)}: ${message}` : message);
    this.name = "GradgenError";
  }
}

/** The default of a switch that covers every case: a new case makes `value` not `never`, a type error. */
export function unreachable(value: never, what: string): never {
  throw new Error(`internal: unhandled ${what} ${JSON.stringify(value)}`);
}

export function formatLocation(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.column}`;
}
