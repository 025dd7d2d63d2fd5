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

export async function asUserErrorsAsync<T>(definition: ModelDefinition, file: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw userError(definition, file, error);
  }
}

function userError(definition: ModelDefinition, file: string, error: unknown): unknown {
  if (error instanceof GradgenError) return error;
  const location = locationFromStack((error as Error)?.stack);
  if (!location) return error;
  return new GradgenError(`model "${definition.name}" in ${file} threw while being traced: ${(error as Error)?.message ?? String(error)}. Fix the code at that line (inputs and params are tensors: use their methods and nn.* on them).`, location);
}
