// Compile-time validation of generated WGSL with Dawn's shader compiler (Tint), through the npm
// package `webgpu` on its null backend: no GPU or driver needed, ~1–3 ms a shader. Where the package
// is not installed (it is a development dependency), validation is skipped and says so.

export interface ShaderProblem {
  readonly shader: number;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

interface Gpu {
  requestAdapter(): Promise<{ requestDevice(): Promise<Device> } | null>;
}
interface Device {
  createShaderModule(descriptor: { code: string }): {
    getCompilationInfo(): Promise<{
      messages: readonly { type: string; lineNum: number; linePos: number; message: string }[];
    }>;
  };
}

// One validator per process. The Dawn instance must stay referenced while its device lives (Dawn
// crashes the process when the instance is collected first), so both are kept here.
let validator: Promise<{ instance: Gpu; device: Device } | undefined> | undefined;

async function createValidator(): Promise<{ instance: Gpu; device: Device } | undefined> {
  let create: ((flags: string[]) => Gpu) | undefined;
  try {
    ({ create } = (await import("webgpu" as string)) as { create: (flags: string[]) => Gpu });
  } catch {
    return undefined;
  }
  const instance = create(["backend=null"]);
  const adapter = await instance.requestAdapter();
  if (!adapter) return undefined;
  return { instance, device: await adapter.requestDevice() };
}

/** Errors in `shaders`, or undefined when no validator is available here. */
export async function validateWgsl(shaders: readonly string[]): Promise<ShaderProblem[] | undefined> {
  validator ??= createValidator();
  const available = await validator;
  if (!available) return undefined;
  const problems: ShaderProblem[] = [];
  for (const [shader, code] of shaders.entries()) {
    const info = await available.device.createShaderModule({ code }).getCompilationInfo();
    for (const m of info.messages) {
      if (m.type === "error")
        problems.push({ shader, line: m.lineNum, column: m.linePos, message: m.message.split("\n")[0]! });
    }
  }
  return problems;
}
