// A self-contained SVG chart of horizontal bars, one panel per group, each panel on its own
// logarithmic axis (the values of one benchmark span five orders of magnitude across models).
// Scale and ticks from d3-scale; no DOM, fonts or scripts. (src/runtime/plot.ts draws line charts
// of training curves only, so the bars are laid out here.)
import { scaleLog } from "d3-scale";

const PALETTE = ["#4e79a7", "#a0cbe8", "#59a14f", "#f28e2b", "#e15759", "#b07aa1", "#76b7b2", "#edc948"];
const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"`;
const escape = (s) =>
  String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * groups: [{ title, bars: [{ label, value, note? }] }] — bar i of every group takes colour i; subtitle optional.
 * Returns the SVG text.
 */
export function barChartSvg({ title, subtitle, groups, unit = "", width = 880 }) {
  const labelWidth = 150,
    noteWidth = 170,
    barHeight = 16,
    gap = 4,
    panelTop = 24,
    axisHeight = 26,
    panelGap = 16;
  const plotLeft = labelWidth + 10,
    plotWidth = width - plotLeft - noteWidth - 10;
  let y = subtitle ? 50 : 34;
  const parts = [];
  parts.push(
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600" ${FONT}>${escape(title)}</text>`,
  );
  if (subtitle)
    parts.push(
      `<text x="${width / 2}" y="38" text-anchor="middle" font-size="11" fill="#444" ${FONT}>${escape(subtitle)}</text>`,
    );
  for (const group of groups) {
    const values = group.bars.map((b) => b.value).filter((v) => v > 0 && Number.isFinite(v));
    const lo = Math.min(...values),
      hi = Math.max(...values);
    const scale = scaleLog()
      .domain([lo / 2, hi * 1.3])
      .range([0, plotWidth])
      .nice();
    const panelHeight = panelTop + group.bars.length * (barHeight + gap) + axisHeight;
    parts.push(`<g transform="translate(0,${y})">`);
    parts.push(`<text x="${plotLeft}" y="16" font-size="13" font-weight="600" ${FONT}>${escape(group.title)}</text>`);
    // Grid and axis ticks (powers of ten labelled).
    const ticks = scale.ticks();
    const axisY = panelTop + group.bars.length * (barHeight + gap) + 2;
    for (const t of ticks) {
      const x = plotLeft + scale(t);
      const major = Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9;
      parts.push(
        `<line x1="${x.toFixed(1)}" y1="${panelTop - 2}" x2="${x.toFixed(1)}" y2="${axisY}" stroke="${major ? "#ccc" : "#eee"}" stroke-width="1"/>`,
      );
      if (major)
        parts.push(
          `<text x="${x.toFixed(1)}" y="${axisY + 13}" text-anchor="middle" font-size="10" fill="#555" ${FONT}>${escape(formatTick(t))}</text>`,
        );
    }
    parts.push(
      `<text x="${plotLeft + plotWidth}" y="${axisY + 24}" text-anchor="end" font-size="10" fill="#555" ${FONT}>${escape(unit)}</text>`,
    );
    group.bars.forEach((bar, i) => {
      const top = panelTop + i * (barHeight + gap);
      const length = bar.value > 0 ? Math.max(1, scale(bar.value)) : 0;
      parts.push(
        `<text x="${labelWidth}" y="${top + barHeight - 4}" text-anchor="end" font-size="11" ${FONT}>${escape(bar.label)}</text>`,
      );
      parts.push(
        `<rect x="${plotLeft}" y="${top}" width="${length.toFixed(1)}" height="${barHeight}" fill="${PALETTE[i % PALETTE.length]}"><title>${escape(`${bar.label}: ${bar.note ?? bar.value}`)}</title></rect>`,
      );
      parts.push(
        `<text x="${(plotLeft + length + 4).toFixed(1)}" y="${top + barHeight - 4}" font-size="10" fill="#333" ${FONT}>${escape(bar.note ?? String(bar.value))}</text>`,
      );
    });
    parts.push(`</g>`);
    y += panelHeight + panelGap;
  }
  const height = y;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}

function formatTick(t) {
  if (t >= 1) return String(Math.round(t));
  return String(Number(t.toPrecision(1)));
}
