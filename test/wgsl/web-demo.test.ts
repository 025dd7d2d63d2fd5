// The browser demo (examples/web/) in headless Chromium with WebGPU (SwiftShader): built with the
// project's esbuild, served from 127.0.0.1, it trains XOR with the WGSL trainer and the loss falls.
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir, removeTempDirs } from "../cli-helpers.js";
import { required } from "./support.js";

const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const built = existsSync(path.resolve(import.meta.dirname, "../../dist/index.js"));
let server: Server | undefined;
afterAll(() => {
  server?.close();
  removeTempDirs();
});

describe("examples/web: XOR trained by the WGSL trainer in headless Chromium", () => {
  it.runIf((existsSync(chromium) && built) || required)(
    "the page trains and the plotted loss falls",
    async () => {
      // @ts-expect-error: a plain .mjs script without types
      const { buildDemo } = (await import("../../examples/web/build.mjs")) as {
        buildDemo(out: string): Promise<string>;
      };
      const out = await buildDemo(tempDir("gradgen-web-demo-"));
      const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript" };
      server = createServer((request, response) => {
        const file = path.join(out, path.normalize(request.url === "/" ? "/index.html" : request.url!.split("?")[0]!));
        if (!file.startsWith(out) || !existsSync(file)) return void response.writeHead(404).end();
        response
          .writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" })
          .end(readFileSync(file));
      });
      await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as { port: number };
      const { chromium: launcher } = await import("playwright-core");
      const profile = tempDir("gradgen-chromium-");
      const browser = await launcher.launchPersistentContext(profile, {
        executablePath: chromium,
        headless: true,
        args: [
          "--headless=new",
          "--no-sandbox",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
          "--enable-unsafe-webgpu",
        ],
      });
      try {
        const page = browser.pages()[0] ?? (await browser.newPage());
        const errors: string[] = [];
        page.on("pageerror", (error) => errors.push(error.message));
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.waitForFunction(
          () => {
            const demo = (globalThis as { demo?: { done: boolean; error?: string } }).demo;
            return demo !== undefined && (demo.done || demo.error !== undefined);
          },
          undefined,
          { timeout: 90_000 },
        );
        const demo = await page.evaluate(
          () =>
            (globalThis as unknown as { demo: { losses: number[]; steps: number; error?: string; adapter?: string } })
              .demo,
        );
        expect(demo.error, `adapter ${demo.adapter}`).toBeUndefined();
        expect(errors).toEqual([]);
        expect(demo.steps).toBe(2000);
        const { losses } = demo;
        expect(losses.length).toBe(80);
        expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5); // the loss falls
        expect(losses.at(-1)!).toBeLessThan(0.05); // and XOR is learnt
        expect(await page.locator("#status").textContent()).toMatch(/^step 2000: loss /);
      } finally {
        await browser.close();
      }
    },
    150_000,
  );
});
