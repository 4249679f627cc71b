// The evaluation as an inline SVG bar chart: one group of horizontal bars per metric, every bar
// labelled with its encoder and value, so it reads without colour or a legend. Shapes and text
// use currentColor (the page's text colour, light or dark); `.ec-bar` and `.ec-track` can be
// restyled by the site. No script. The figcaption holds every value as text (in a <details>).
import { bestEncoders, formatMetric } from "../eval/report.ts";
import type { EvalReport } from "../eval/evaluate.ts";
import { SUMMARY_METRICS } from "../eval/metrics.ts";
import { escapeHtml } from "./escape.ts";

const WIDTH = 640;
const LABEL_WIDTH = 180;
const VALUE_WIDTH = 110;
const BAR_AREA = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
const BAR_HEIGHT = 14;
const ROW = 20;
const GROUP_HEADING = 22;
const GROUP_GAP = 10;
const TOP = 8;
const AXIS = 22;

function round(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** The chart's values in words: the text alternative and the visible fallback. */
export function chartSummary(report: EvalReport): string {
  const best = bestEncoders(report);
  const groups = SUMMARY_METRICS.map(({ key, name }) => {
    const values = report.encoders.map((e) => `${e.encoderId} ${formatMetric(e.summary[key])}${best.get(key)!.has(e.encoderId) ? " (best)" : ""}`);
    return `${name(report.k)}: ${values.join(", ")}`;
  });
  return `${groups.join("; ")}.`;
}

/** `idBase` must be unique on the page (it prefixes the title and desc ids). */
export function renderBarChart(report: EvalReport, idBase: string): string {
  const best = bestEncoders(report);
  const perGroup = GROUP_HEADING + report.encoders.length * ROW + GROUP_GAP;
  const height = TOP + SUMMARY_METRICS.length * perGroup + AXIS;
  const titleId = `${idBase}-title`;
  const descId = `${idBase}-desc`;
  const title = `Retrieval quality per encoder on ${report.dataset.name} (0 to 1, higher is better)`;
  const summary = chartSummary(report);
  const parts: string[] = [];
  parts.push(`<figure class="encoder-eval-chart">`);
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="${titleId} ${descId}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" ` +
      `style="max-width:100%;height:auto" font-family="inherit" font-size="13" fill="currentColor">`,
  );
  parts.push(`<title id="${titleId}">${escapeHtml(title)}</title>`);
  parts.push(`<desc id="${descId}">${escapeHtml(summary)}</desc>`);
  const axisTop = TOP;
  const axisBottom = height - AXIS;
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const x = round(LABEL_WIDTH + tick * BAR_AREA);
    parts.push(`<line class="ec-grid" x1="${x}" y1="${axisTop}" x2="${x}" y2="${axisBottom}" stroke="currentColor" stroke-opacity="${tick === 0 ? 0.6 : 0.15}"/>`);
    parts.push(`<text x="${x}" y="${axisBottom + 15}" text-anchor="middle" fill-opacity="0.8">${tick.toFixed(2)}</text>`);
  }
  SUMMARY_METRICS.forEach(({ key, name }, g) => {
    const groupTop = TOP + g * perGroup;
    parts.push(`<text x="0" y="${groupTop + 15}" font-weight="bold">${escapeHtml(name(report.k))}</text>`);
    report.encoders.forEach((e, i) => {
      const value = e.summary[key];
      const y = groupTop + GROUP_HEADING + i * ROW;
      const isBest = best.get(key)!.has(e.encoderId);
      const label = e.standIn ? `${e.encoderId} (stand-in)` : e.encoderId;
      parts.push(`<text x="12" y="${y + 11}">${escapeHtml(label)}</text>`);
      parts.push(`<rect class="ec-track" x="${LABEL_WIDTH}" y="${y}" width="${BAR_AREA}" height="${BAR_HEIGHT}" fill="none" stroke="currentColor" stroke-opacity="0.2"/>`);
      parts.push(
        `<rect class="ec-bar${isBest ? " ec-bar-best" : ""}" x="${LABEL_WIDTH}" y="${y}" width="${round(Math.max(0, Math.min(1, value)) * BAR_AREA)}" height="${BAR_HEIGHT}" fill="currentColor" fill-opacity="${isBest ? 0.85 : 0.45}"/>`,
      );
      parts.push(`<text x="${LABEL_WIDTH + BAR_AREA + 8}" y="${y + 11}"${isBest ? ` font-weight="bold"` : ""}>${formatMetric(value)}${isBest ? " best" : ""}</text>`);
    });
  });
  parts.push(`</svg>`);
  parts.push(
    `<figcaption>${escapeHtml(`${title}.`)} <details class="ec-chart-values"><summary>The chart's values as text</summary>${escapeHtml(summary)}</details></figcaption>`,
  );
  parts.push(`</figure>`);
  return parts.join("\n");
}
