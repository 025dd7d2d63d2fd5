// An exception thrown by the user's model code (while it is traced) is the user's error, reported
// with the model file's line, not gradgen's internal error.

import { GradgenError } from "../errors.js";
import type { ModelDefinition } from "../dsl/model.js";
import { locationFromStack } from "../dsl/callsite.js";

export function asUserErrors<T>(definition: ModelDefinition, file: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw userError(definition, file, error);
  }
}

export async function asUserErrorsAsync<T>(
  definition: ModelDefinition,
  file: string,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw userError(definition, file, error);
  }
}

const advice = "Fix the code at that line (inputs and params are tensors: use their methods and nn.* on them).";

function userError(definition: ModelDefinition, file: string, error: unknown): unknown {
  if (error instanceof GradgenError) return error;
  if (!(error instanceof Error)) {
    // gradgen throws only Errors, so anything else (a string, a number, a plain object) came from the
    // model's own code. It carries no stack, so the best line we have is the model's declaration.
    const location = locationFromStack(stackOf(error));
    if (location)
      return new GradgenError(
        `model "${definition.name}" in ${file} threw ${describeThrown(error)} while being traced. ${advice}`,
        location,
      );
    return new GradgenError(
      `model "${definition.name}" in ${file} threw ${describeThrown(error)} while being traced. A thrown value that is not an Error carries no line, so this points at the model's declaration: find the throw in the model's code, or throw new Error(...) to see its line.`,
      definition.origin,
    );
  }
  const location = locationFromStack(error.stack);
  if (!location) return error;
  return new GradgenError(
    `model "${definition.name}" in ${file} threw while being traced: ${error.message}. ${advice}`,
    location,
  );
}

function stackOf(value: unknown): string | undefined {
  const stack = typeof value === "object" && value !== null ? (value as { stack?: unknown }).stack : undefined;
  return typeof stack === "string" ? stack : undefined;
}

/** A thrown value that is not an Error, as a message can show it: `the string "boom"`, `the number 42`. */
export function describeThrown(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  let text: string;
  try {
    text =
      typeof value === "string"
        ? JSON.stringify(value)
        : typeof value === "object"
          ? (JSON.stringify(value) ?? String(value))
          : String(value);
  } catch {
    text = Object.prototype.toString.call(value); // a cycle, a BigInt inside
  }
  if (text.length > 200) text = `${text.slice(0, 200)}…`;
  return `the ${typeof value} ${text}`;
}
