// A generated module, compiled in this process, imported without writing it anywhere: esbuild
// strips the TypeScript types and a data: URL imports the result (generated modules import nothing).

let loaded = 0;

export async function importGenerated<Module = Record<string, unknown>>(contents: string): Promise<Module> {
  const { transform } = await import("esbuild");
  const { code } = await transform(contents, { loader: "ts", format: "esm", target: "node20" });
  // A fragment per load: the module cache must not hand back an earlier module with the same text.
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}#${loaded++}`) as Promise<Module>;
}
