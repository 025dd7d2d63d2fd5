// Render gradgen's SVG drawings to PNG in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core). With no arguments: writes the README's drawings into docs/: circuit.png, the
// lecture circuit f = (x + y)·z at (−2, 5, −4); neuron.png, examples/neuron.ts at the lectures' point
// (w0, x0, w1, x1, w2) = (2, −1, −3, −2, −3), with values, adjoints and local derivatives; and
// mnist-graph.png, the MNIST MLP's model-view drawing (equation names, shapes, adjoints as δ forms).
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
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width, height },
    deviceScaleFactor: scale,
  });
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    return await page.locator("svg").first().screenshot({ type: "png" });
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [input, output] = process.argv.slice(2);
  const drawings = input
    ? [[readFileSync(input, "utf8"), output ?? input.replace(/\.svg$/, ".png")]]
    : await readmeDrawings();
  for (const [svg, target] of drawings) {
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, await renderSvgToPng(svg));
    process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
  }
}

async function readmeDrawings() {
  const { ComputationGraph, graph, inspect, symbols } = await import(path.join(root, "dist/index.js"));
  const { loadModel } = await import(path.join(root, "dist/cli/load-model.js"));
  const [x, y, z] = symbols("x y z");
  const circuit = graph(x.add(y).mul(z), { values: { x: -2, y: 5, z: -4 } }).toSVG();
  const neuron = inspect(await loadModel(path.join(root, "examples/neuron.ts")));
  const lecturePoint = { w0: 2, x0: -1, w1: -3, x1: -2, w2: -3 };
  const neuronCircuit = new ComputationGraph(neuron.graph.root, { values: lecturePoint, output: "f" }).toSVG();
  const mnist = inspect(await loadModel(path.join(root, "examples/mnist.ts"))).graph.toSVG();
  return [
    [circuit, path.join(root, "docs/circuit.png")],
    [neuronCircuit, path.join(root, "docs/neuron.png")],
    [mnist, path.join(root, "docs/mnist-graph.png")],
  ];
}
