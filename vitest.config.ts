import { defineConfig } from "vitest/config";
import path from "node:path";

const source = (file: string) => path.resolve(import.meta.dirname, "src", file);

export default defineConfig({
  resolve: {
    // The package's own names, pointed at the sources (subpaths before the bare name).
    alias: [
      { find: /^gradgen\/train$/, replacement: source("runtime/train.ts") },
      { find: /^gradgen\/data$/, replacement: source("runtime/data.ts") },
      { find: /^gradgen\/parallel$/, replacement: source("runtime/parallel.ts") },
      { find: /^gradgen$/, replacement: source("index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    pool: "forks",
  },
});
