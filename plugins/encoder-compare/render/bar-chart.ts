// The evaluation as an inline SVG bar chart: one group of horizontal bars per metric, every bar
// labelled with its encoder and value, so it reads without colour or a legend. Shapes and text
// use currentColor (the page's text colour, light or dark); `.ec-bar` and `.ec-track` can be
// restyled by the site. No script. The figcaption holds every value as text (in a <details>).
import { bestEncoders, evalRows, formatMetric, rowIsBest } from "./eval-report.ts";
import { describeRun } from "./encoder-run.ts";
import type { EvalReport } from "./eval-report-model.ts";
import { SUMMARY_METRICS } from "./eval-report-model.ts";
import { escapeHtml } from "./escape.ts";

// Narrow on purpose: each encoder's name sits on its own line above its bar, so the chart is
// drawn at about its natural size on a 375 px phone (text stays ≥ 12 px) instead of being
// scaled down from a wide layout.
const WIDTH = 340;
const VALUE_WIDTH = 92;
const BAR_AREA = WIDTH - VALUE_WIDTH;
const LABEL_LINE = 16;
const BAR_HEIGHT = 12;
const ROW = LABEL_LINE + BAR_HEIGHT + 8;
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
  const rows = evalRows(report);
  const groups = SUMMARY_METRICS.map(({ key, name }) => {
    const values = rows.map(
      (row) => `${describeRun(row.run).shortName} ${formatMetric(row.evaluation.summary[key])}${rowIsBest(best, key, row) ? " (best)" : ""}`,
    );
    return `${name(report.k)}: ${values.join(", ")}`;
  });
  return `${groups.join("; ")}.`;
}

/** `idBase` must be unique on the page (it prefixes the title and desc ids). */
export function renderBarChart(report: EvalReport, idBase: string): string {
  const best = bestEncoders(report);
  const perGroup = GROUP_HEADING + evalRows(report).length * ROW + GROUP_GAP;
  const height = TOP + SUMMARY_METRICS.length * perGroup + AXIS;
  const titleId = `${idBase}-title`;
  const descId = `${idBase}-desc`;
  const title = `Retrieval quality per encoder on ${report.dataset.name} (0 to 1, higher is better)`;
  const summary = chartSummary(report);
  const parts: string[] = [];
  parts.push(`<figure class="encoder-eval-chart">`);
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="${titleId} ${descId}" ` +
      `viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" ` +
      `style="max-width:100%;height:auto" font-family="inherit" font-size="12" fill="currentColor">`,
  );
  parts.push(`<title id="${titleId}">${escapeHtml(title)}</title>`);
  parts.push(`<desc id="${descId}">${escapeHtml(summary)}</desc>`);
  const axisTop = TOP;
  const axisBottom = height - AXIS;
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const x = round(tick * BAR_AREA);
    parts.push(
      `<line class="ec-grid" x1="${x}" y1="${axisTop}" x2="${x}" y2="${axisBottom}" stroke="currentColor" stroke-opacity="${tick === 0 ? 0.6 : 0.15}"/>`,
    );
    const anchor = tick === 0 ? "start" : tick === 1 ? "end" : "middle";
    parts.push(`<text x="${x}" y="${axisBottom + 15}" text-anchor="${anchor}" fill-opacity="0.8">${tick.toFixed(2)}</text>`);
  }
  const rows = evalRows(report);
  SUMMARY_METRICS.forEach(({ key, name }, g) => {
    const groupTop = TOP + g * perGroup;
    parts.push(`<text x="4" y="${groupTop + 15}" font-weight="bold">${escapeHtml(name(report.k))}</text>`);
    rows.forEach((row, i) => {
      const value = row.evaluation.summary[key];
      const y = groupTop + GROUP_HEADING + i * ROW;
      const isBest = rowIsBest(best, key, row);
      const barY = y + LABEL_LINE;
      parts.push(`<text x="4" y="${y + 12}">${escapeHtml(describeRun(row.run).shortName)}</text>`);
      parts.push(
        `<rect class="ec-track" x="0" y="${barY}" width="${BAR_AREA}" height="${BAR_HEIGHT}" fill="none" stroke="currentColor" stroke-opacity="0.2"/>`,
      );
      parts.push(
        `<rect class="ec-bar${isBest ? " ec-bar-best" : ""}" x="0" y="${barY}" width="${round(Math.max(0, Math.min(1, value)) * BAR_AREA)}" ` +
          `height="${BAR_HEIGHT}" fill="currentColor" fill-opacity="${isBest ? 0.85 : 0.45}"/>`,
      );
      parts.push(`<text x="${BAR_AREA + 6}" y="${barY + 11}"${isBest ? ` font-weight="bold"` : ""}>${formatMetric(value)}${isBest ? " best" : ""}</text>`);
    });
  });
  parts.push(`</svg>`);
  parts.push(
    `<figcaption>${escapeHtml(`${title}.`)} ` +
      `<details class="ec-chart-values"><summary>The chart's values as text</summary>${escapeHtml(summary)}</details></figcaption>`,
  );
  parts.push(`</figure>`);
  return parts.join("\n");
}
