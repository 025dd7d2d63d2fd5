// SVG line charts of training curves (loss per epoch, one curve per run), as self-contained SVG
// strings: no DOM, no fonts or scripts to load. Scales and ticks come from d3-scale, path data
// from d3-shape; this module only lays out panels, axes and legends.

import { scaleLinear, scaleLog, type ScaleContinuousNumeric } from "d3-scale";
import { line } from "d3-shape";
import { GradgenError } from "../errors.js";

/** One curve: `values[i]` at x = `x[i]` (default: i + 1, i.e. epochs from 1). */
export interface Series {
  readonly name: string;
  readonly values: ArrayLike<number>;
  readonly x?: ArrayLike<number>;
  /** A CSS colour; default: from the palette, by the series' position in the legend. */
  readonly color?: string;
  readonly dashed?: boolean;
}

/** One panel of a chart: its own curves under a title. */
export interface Panel {
  readonly title?: string;
  readonly series: readonly Series[];
}

export interface ChartOptions {
  /** Above the whole chart. */
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** Size of one panel, in pixels. Defaults 640 × 400 (one panel), 300 × 260 (several). */
  readonly width?: number;
  readonly height?: number;
  /** Logarithmic y axis (non-positive values are left out). Default false. */
  readonly logY?: boolean;
  /** Panels per row, for panelChart. Default: all in one row, at most 4. */
  readonly columns?: number;
  /** One y range for every panel, so their curves compare at a glance. Default true. */
  readonly sharedY?: boolean;
}

/** Tableau 10, the colours series take in turn. */
export const palette: readonly string[] = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

const MARGIN = { top: 28, right: 16, bottom: 44, left: 58 };
const TITLE_HEIGHT = 30;
const LEGEND_ROW = 18;
const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"`;

/** A chart with one panel holding every series. */
export function lineChart(series: readonly Series[], options: ChartOptions = {}): string {
  return panelChart([{ series }], { width: 640, height: 400, ...options });
}

/** Panels side by side (`columns` per row), sharing axes labels, the legend and by default the y range. */
export function panelChart(panels: readonly Panel[], options: ChartOptions = {}): string {
  if (panels.length === 0) throw new GradgenError("panelChart: no panels to draw.");
  for (const panel of panels) checkSeries(panel.series);
  const columns = Math.max(1, Math.min(options.columns ?? Math.min(panels.length, 4), panels.length));
  const rows = Math.ceil(panels.length / columns);
  const width = options.width ?? (panels.length === 1 ? 640 : 300);
  const height = options.height ?? (panels.length === 1 ? 400 : 260);
  const logY = options.logY ?? false;

  // The legend: every distinct series name, in order of first appearance, with its colour.
  const legend = new Map<string, { color: string; dashed: boolean }>();
  for (const panel of panels) {
    for (const s of panel.series) {
      if (!legend.has(s.name))
        legend.set(s.name, { color: s.color ?? palette[legend.size % palette.length]!, dashed: s.dashed ?? false });
    }
  }
  const legendHeight = legend.size > 1 || panels.length > 1 ? LEGEND_ROW + 8 : 0;
  const top = (options.title ? TITLE_HEIGHT : 0) + legendHeight;
  const totalWidth = columns * width;
  const totalHeight = top + rows * height;

  const sharedY = options.sharedY ?? true;
  const allSeries = panels.flatMap((p) => p.series);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${totalWidth}" height="${totalHeight}" viewBox="0 0 ${totalWidth} ${totalHeight}" ${FONT} font-size="11">`,
  );
  parts.push(`<rect width="${totalWidth}" height="${totalHeight}" fill="#ffffff"/>`);
  if (options.title)
    parts.push(
      `<text class="title" x="${totalWidth / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(options.title)}</text>`,
    );
  if (legendHeight > 0)
    parts.push(renderLegend(legend, totalWidth, (options.title ? TITLE_HEIGHT : 0) + LEGEND_ROW - 4));
  panels.forEach((panel, index) => {
    const column = index % columns;
    const row = Math.floor(index / columns);
    const yDomain = valueDomain(sharedY ? allSeries : panel.series, logY);
    parts.push(
      renderPanel(panel, legend, {
        x: column * width,
        y: top + row * height,
        width,
        height,
        yDomain,
        logY,
        xLabel: options.xLabel,
        yLabel: options.yLabel,
      }),
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** The training curves fit() returned: training and (when there was validation data) validation loss per epoch. */
export function lossChart(
  history: { readonly loss: ArrayLike<number>; readonly validationLoss?: ArrayLike<number> },
  options: ChartOptions = {},
): string {
  const series: Series[] = [{ name: "training loss", values: history.loss }];
  if (history.validationLoss && history.validationLoss.length > 0)
    series.push({ name: "validation loss", values: history.validationLoss, dashed: true });
  return lineChart(series, { xLabel: "epoch", yLabel: "loss", ...options });
}

// ---------------------------------------------------------------------------------------------

interface PanelLayout {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly yDomain: [number, number];
  readonly logY: boolean;
  readonly xLabel: string | undefined;
  readonly yLabel: string | undefined;
}

function renderPanel(
  panel: Panel,
  legend: ReadonlyMap<string, { color: string; dashed: boolean }>,
  layout: PanelLayout,
): string {
  const left = layout.x + MARGIN.left;
  const right = layout.x + layout.width - MARGIN.right;
  const top = layout.y + MARGIN.top;
  const bottom = layout.y + layout.height - MARGIN.bottom;
  const points = panel.series.map(pointsOf);
  const xs = points.flat().map(([x]) => x);
  const xDomain: [number, number] = xs.length > 0 ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (xDomain[0] === xDomain[1]) xDomain[1] = xDomain[0] + 1;
  const xTickCount = Math.max(2, Math.floor((right - left) / 60));
  const yTickCount = Math.max(2, Math.floor((bottom - top) / 40));
  const x = scaleLinear().domain(xDomain).range([left, right]); // x (epochs, steps) spans exactly the data
  // A log axis is not rounded out to whole decades (that can waste most of the panel); its ticks are 1-2-5 steps.
  const y: ScaleContinuousNumeric<number, number> = layout.logY
    ? scaleLog().domain(layout.yDomain).range([bottom, top])
    : scaleLinear().domain(layout.yDomain).range([bottom, top]).nice(yTickCount);

  const parts: string[] = [`<g class="panel">`];
  if (panel.title)
    parts.push(
      `<text class="panel-title" x="${fmt((left + right) / 2)}" y="${fmt(layout.y + 18)}" text-anchor="middle" font-size="13" font-weight="600">${escapeXml(panel.title)}</text>`,
    );
  // Grid and ticks.
  const xTicks = x.ticks(xTickCount);
  const yTicks = layout.logY ? logTicks(y, yTickCount) : y.ticks(yTickCount);
  const xFormat = x.tickFormat(xTicks.length);
  const yFormat = layout.logY ? (v: number) => formatLogTick(v) : y.tickFormat(yTicks.length);
  parts.push(`<g class="axis x-axis" stroke="#000000" stroke-opacity="0.15">`);
  for (const t of xTicks)
    parts.push(`<line x1="${fmt(x(t))}" x2="${fmt(x(t))}" y1="${fmt(top)}" y2="${fmt(bottom)}"/>`);
  parts.push(`</g>`);
  parts.push(`<g class="axis y-axis" stroke="#000000" stroke-opacity="0.15">`);
  for (const t of yTicks)
    parts.push(`<line x1="${fmt(left)}" x2="${fmt(right)}" y1="${fmt(y(t))}" y2="${fmt(y(t))}"/>`);
  parts.push(`</g>`);
  parts.push(
    `<rect x="${fmt(left)}" y="${fmt(top)}" width="${fmt(right - left)}" height="${fmt(bottom - top)}" fill="none" stroke="#444444"/>`,
  );
  parts.push(`<g class="tick-labels" fill="#333333">`);
  for (const t of xTicks)
    parts.push(`<text x="${fmt(x(t))}" y="${fmt(bottom + 15)}" text-anchor="middle">${escapeXml(xFormat(t))}</text>`);
  for (const t of yTicks)
    parts.push(`<text x="${fmt(left - 6)}" y="${fmt(y(t) + 4)}" text-anchor="end">${escapeXml(yFormat(t))}</text>`);
  parts.push(`</g>`);
  if (layout.xLabel)
    parts.push(
      `<text class="x-label" x="${fmt((left + right) / 2)}" y="${fmt(bottom + 34)}" text-anchor="middle" font-size="12">${escapeXml(layout.xLabel)}</text>`,
    );
  if (layout.yLabel) {
    const cx = layout.x + 16;
    const cy = (top + bottom) / 2;
    parts.push(
      `<text class="y-label" x="${fmt(cx)}" y="${fmt(cy)}" text-anchor="middle" font-size="12" transform="rotate(-90 ${fmt(cx)} ${fmt(cy)})">${escapeXml(layout.yLabel)}</text>`,
    );
  }
  // Curves, clipped to the plot area by construction of the domains (every finite value lies inside).
  const path = line<[number, number]>()
    .x(([px]) => x(px))
    .y(([, py]) => y(py))
    .digits(2);
  panel.series.forEach((s, i) => {
    const style = legend.get(s.name)!;
    const d = path(points[i]!.filter(([, py]) => !layout.logY || py > 0)) ?? "";
    parts.push(
      `<path class="series" data-name="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${escapeXml(style.color)}" stroke-width="2"` +
        `${style.dashed ? ` stroke-dasharray="6 4"` : ""} stroke-linejoin="round" stroke-linecap="round"/>`,
    );
  });
  parts.push(`</g>`);
  return parts.join("\n");
}

function renderLegend(
  legend: ReadonlyMap<string, { color: string; dashed: boolean }>,
  totalWidth: number,
  baseline: number,
): string {
  const entries = [...legend.entries()];
  const widths = entries.map(([name]) => 28 + name.length * 6.5 + 16);
  let x = Math.max(8, (totalWidth - widths.reduce((a, b) => a + b, 0)) / 2);
  const parts = [`<g class="legend">`];
  entries.forEach(([name, style], i) => {
    parts.push(
      `<line x1="${fmt(x)}" x2="${fmt(x + 22)}" y1="${fmt(baseline - 4)}" y2="${fmt(baseline - 4)}" stroke="${escapeXml(style.color)}" stroke-width="2"${style.dashed ? ` stroke-dasharray="6 4"` : ""}/>`,
    );
    parts.push(`<text x="${fmt(x + 28)}" y="${fmt(baseline)}">${escapeXml(name)}</text>`);
    x += widths[i]!;
  });
  parts.push(`</g>`);
  return parts.join("\n");
}

function checkSeries(series: readonly Series[]): void {
  for (const s of series) {
    if (s.x !== undefined && s.x.length !== s.values.length) {
      throw new GradgenError(`chart: series "${s.name}" has ${s.values.length} values but ${s.x.length} x positions.`);
    }
  }
}

/** The finite points of a series, as [x, y]. */
function pointsOf(s: Series): [number, number][] {
  const points: [number, number][] = [];
  for (let i = 0; i < s.values.length; i++) {
    const px = s.x ? s.x[i]! : i + 1;
    const py = s.values[i]!;
    if (Number.isFinite(px) && Number.isFinite(py)) points.push([px, py]);
  }
  return points;
}

/** [min, max] of the finite (for a log axis: positive) values; a degenerate range is widened. */
function valueDomain(series: readonly Series[], logY: boolean): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i]!;
      if (!Number.isFinite(v) || (logY && v <= 0)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (min > max) return logY ? [0.1, 1] : [0, 1];
  if (min === max) return logY ? [min / 2, max * 2] : [min - 0.5, max + 0.5];
  return [min, max];
}

/** Ticks of a log axis: 1-2-5 steps in each decade, or only the decades when those are too many. */
function logTicks(y: ScaleContinuousNumeric<number, number>, count: number): number[] {
  const mantissa = (t: number) => t / 10 ** Math.floor(Math.log10(t) + 1e-9);
  const oneTwoFive = y.ticks().filter((t) => [1, 2, 5].some((k) => Math.abs(mantissa(t) - k) < 1e-6));
  if (oneTwoFive.length < 2) return y.ticks(count); // a range within one decade
  if (oneTwoFive.length <= count + 2) return oneTwoFive;
  return oneTwoFive.filter((t) => Math.abs(mantissa(t) - 1) < 1e-6);
}

function formatLogTick(v: number): string {
  return v >= 0.01 && v < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(0);
}

const fmt = (v: number) => String(Math.round(v * 100) / 100);

function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}
