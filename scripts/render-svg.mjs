// Render gradgen's SVG drawings to PNG in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core). With no arguments: writes docs/circuit.png, the lecture circuit f = (x + y)·z
// at (−2, 5, −4) with values, adjoints and local derivatives, for the README.
// Usage: node scripts/render-svg.mjs [in.svg out.png]   (needs `npm run build` for dist/)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** PNG bytes of an SVG string, at 2× for sharp text. */
export async function renderSvgToPng(svg, { scale = 2 } = {}) {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(path.join(tmpdir(), "gradgen-chromium-"));
  const width = Number(/width="(\d+)"/.exec(svg)?.[1] ?? 800);
  const height = Number(/height="(\d+)"/.exec(svg)?.[1] ?? 600);
  // a fresh profile per run (playwright passes it as --user-data-dir)
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: ["--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width, height },
    deviceScaleFactor: scale,
  });
  try {
    const page = browser.pages()[0] ?? await browser.newPage();
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    return await page.locator("svg").first().screenshot({ type: "png" });
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [input, output] = process.argv.slice(2);
  let svg;
  let target;
  if (input) {
    svg = readFileSync(input, "utf8");
    target = output ?? input.replace(/\.svg$/, ".png");
  } else {
    const { graph, symbols } = await import(path.join(root, "dist/index.js"));
    const [x, y, z] = symbols("x y z");
    svg = graph(x.add(y).mul(z), { values: { x: -2, y: 5, z: -4 } }).toSVG();
    target = path.join(root, "docs/circuit.png");
  }
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, await renderSvgToPng(svg));
  process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
}
