// The browser demo: trains XOR with the WGSL trainer (compiled from examples/xor.ts) and plots the
// loss live. build.mjs bundles it with the generated host module; see README "The WGSL target".
// Progress is also exposed as `window.demo` (the headless-Chromium test reads it).

/** What the demo needs of the generated module (`createGpuTrainer` from xor.wgsl.ts). */
export interface XorTrainer {
  steps(count: number, batch?: { x: Float32Array; t: Float32Array }): Promise<number>;
  predict(inputs: { x: Float32Array }): Promise<{ y: Float32Array }>;
}
export type CreateTrainer = (device: never, options?: { seed?: number }) => Promise<XorTrainer>;

interface DemoState {
  losses: number[];
  steps: number;
  done: boolean;
  error?: string;
  adapter?: string;
}

interface GpuLike {
  requestAdapter(): Promise<{
    info?: { description?: string; vendor?: string };
    requestDevice(): Promise<unknown>;
  } | null>;
}

const STEPS_PER_FRAME = 25;
const FRAMES = 80;

export async function startDemo(createGpuTrainer: CreateTrainer): Promise<void> {
  const state: DemoState = { losses: [], steps: 0, done: false };
  (globalThis as { demo?: DemoState }).demo = state;
  const status = document.getElementById("status")!;
  try {
    const gpu = (navigator as unknown as { gpu?: GpuLike }).gpu;
    if (!gpu) throw new Error("this browser has no WebGPU (navigator.gpu is undefined)");
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error("no WebGPU adapter");
    state.adapter = [adapter.info?.vendor, adapter.info?.description].filter(Boolean).join(" ");
    const device = await adapter.requestDevice();
    const trainer = await createGpuTrainer(device as never, { seed: 1 });
    const batch = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) };
    for (let frame = 0; frame < FRAMES; frame++) {
      const loss = await trainer.steps(STEPS_PER_FRAME, batch);
      state.steps += STEPS_PER_FRAME;
      state.losses.push(loss);
      status.textContent = `step ${state.steps}: loss ${loss.toFixed(5)} (${state.adapter})`;
      plot(state.losses);
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
    const { y } = await trainer.predict({ x: batch.x });
    document.getElementById("predictions")!.textContent =
      `predictions for (0,0) (0,1) (1,0) (1,1): ${Array.from(y, (v) => v.toFixed(3)).join("  ")}`;
    state.done = true;
  } catch (error) {
    state.error = String((error as Error)?.message ?? error);
    status.textContent = `error: ${state.error}`;
  }
}

function plot(losses: readonly number[]): void {
  const canvas = document.getElementById("plot") as HTMLCanvasElement;
  const context = canvas.getContext("2d")!;
  const { width, height } = canvas;
  const margin = 40;
  context.clearRect(0, 0, width, height);
  context.strokeStyle = "#999";
  context.beginPath();
  context.moveTo(margin, margin / 2);
  context.lineTo(margin, height - margin);
  context.lineTo(width - margin / 2, height - margin);
  context.stroke();
  const top = Math.max(...losses, 1e-9);
  context.fillStyle = "#555";
  context.fillText(top.toFixed(3), 4, margin / 2 + 4);
  context.fillText("0", margin - 12, height - margin);
  context.fillText(`step ${losses.length * STEPS_PER_FRAME}`, width - 90, height - margin + 20);
  context.strokeStyle = "#1f77b4";
  context.lineWidth = 2;
  context.beginPath();
  losses.forEach((loss, i) => {
    const x = margin + ((width - 1.5 * margin) * (i + 1)) / FRAMES;
    const y = height - margin - ((height - 1.5 * margin) * loss) / top;
    if (i === 0) context.moveTo(x, y);
    else context.lineTo(x, y);
  });
  context.stroke();
}
