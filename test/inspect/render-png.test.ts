// SVG drawings render in headless Chromium (Debian's, via playwright-core) to a real PNG.
import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { graph, nn, symbols } from "gradgen";

const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const required = process.env.CI === "true" || process.env.GRADGEN_REQUIRE_NOTEBOOKS === "1";

describe("SVG → PNG in headless Chromium", () => {
  it.runIf(existsSync(chromium) || required)(
    "renders the neuron's circuit",
    async () => {
      // @ts-expect-error: a plain .mjs script without types
      const { renderSvgToPng } = (await import("../../scripts/render-svg.mjs")) as {
        renderSvgToPng(svg: string): Promise<Buffer>;
      };
      const [w0, x0, w1, x1, w2] = symbols("w0 x0 w1 x1 w2");
      const f = nn.sigmoid(w0.mul(x0).add(w1.mul(x1)).add(w2));
      const png = await renderSvgToPng(graph(f, { values: { w0: 2, x0: -1, w1: -3, x1: -2, w2: -3 } }).toSVG());
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const width = png.readUInt32BE(16);
      const height = png.readUInt32BE(20);
      expect(width).toBeGreaterThan(400);
      expect(height).toBeGreaterThan(200);
      expect(png.length).toBeGreaterThan(5_000); // drawn, not blank
    },
    60_000,
  );
});
