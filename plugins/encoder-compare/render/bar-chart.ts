// The evaluation as an inline SVG bar chart: one group of horizontal bars per metric, every bar
// labelled with its encoder (its label, as in the table) and value, so it reads without colour or a legend. Shapes and text
// use currentColor (the page's text colour, light or dark); `.ec-bar` and `.ec-track` can be
// restyled by the site. No script. The figcaption holds every value as text (in a <details>).
import { evalRows, formatMetric, metricVerdicts, rowVerdict, type EvalRow, type MetricVerdict } from "./eval-report.ts";
import { describeRun } from "./encoder-run.ts";
import { SUMMARY_METRICS, type EvalReport, type SummaryMetric } from "./eval-report-model.ts";
import { escapeHtml } from "./escape.ts";

// The chart takes the column's width (x in percent), while its heights and its text stay in
// pixels: text is drawn at the page's size at any width, never scaled down. Each encoder's label
// has a line of its own above its bar (its stand-in mark a second line), the value sits at the
// right end of that line, and grid lines run only through the bars, never through text.
const LINE = 16;
const BAR_HEIGHT = 14;
const ROW_GAP = 10;
const GROUP_HEADING = 24;
const GROUP_GAP = 12;
const TOP = 4;
const AXIS = 24;
const TICKS = [0, 0.25, 0.5, 0.75, 1];

function percent(n: number): string {
  return `${Math.round(Math.max(0, Math.min(1, n)) * 1000) / 10}%`;
}

function rowHeight(row: EvalRow): number {
  return LINE * (describeRun(row.run).mark ? 2 : 1) + BAR_HEIGHT + ROW_GAP;
}

/** The chart's values in words: the text alternative and the visible fallback. */
export function chartSummary(report: EvalReport, verdicts: Map<SummaryMetric, MetricVerdict> = metricVerdicts(report)): string {
  const rows = evalRows(report);
  const groups = SUMMARY_METRICS.map(({ key, name }) => {
    const values = rows.map((row) => {
      const word = rowVerdict(verdicts.get(key)!, row);
      return `${describeRun(row.run).name}: ${formatMetric(row.evaluation.summary[key])}${word ? ` (${word})` : ""}`;
    });
    return `${name(report.k)} — ${values.join("; ")}.`;
  });
  return groups.join(" ");
}

/** `idBase` must be unique on the page (it prefixes the title and desc ids). */
export function renderBarChart(report: EvalReport, idBase: string): string {
  const verdicts = metricVerdicts(report);
  const rows = evalRows(report);
  const perGroup = GROUP_HEADING + rows.reduce((sum, row) => sum + rowHeight(row), 0) + GROUP_GAP;
  const height = TOP + SUMMARY_METRICS.length * perGroup + AXIS;
  const titleId = `${idBase}-title`;
  const descId = `${idBase}-desc`;
  const title = `Retrieval quality per encoder on ${report.dataset.name} (0 to 1, higher is better)`;
  const summary = chartSummary(report, verdicts);
  const parts: string[] = [];
  parts.push(`<figure class="encoder-eval-chart">`);
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="${titleId} ${descId}" ` +
      `width="100%" height="${height}" style="display:block;width:100%;height:${height}px;overflow:visible" ` +
      `font-family="inherit" font-size="12" fill="currentColor">`,
  );
  parts.push(`<title id="${titleId}">${escapeHtml(title)}</title>`);
  parts.push(`<desc id="${descId}">${escapeHtml(summary)}</desc>`);
  const axisY = height - AXIS;
  SUMMARY_METRICS.forEach(({ key, name }, g) => {
    const verdict = verdicts.get(key)!;
    let y = TOP + g * perGroup;
    parts.push(`<text class="ec-chart-metric" x="0" y="${y + 16}" font-weight="bold">${escapeHtml(name(report.k))}</text>`);
    y += GROUP_HEADING;
    for (const row of rows) {
      const display = describeRun(row.run);
      const value = row.evaluation.summary[key];
      const word = rowVerdict(verdict, row);
      const strong = word === "best" ? ` font-weight="bold"` : "";
      parts.push(`<text class="ec-chart-label" x="0" y="${y + 12}">${escapeHtml(display.label)}</text>`);
      parts.push(`<text class="ec-chart-value" x="100%" y="${y + 12}" text-anchor="end"${strong}>${formatMetric(value)}${word ? ` ${word}` : ""}</text>`);
      y += LINE;
      if (display.mark) {
        parts.push(`<text class="ec-chart-mark" x="0" y="${y + 12}" fill-opacity="0.8">${escapeHtml(display.mark)}</text>`);
        y += LINE;
      }
      parts.push(
        `<rect class="ec-track" x="0" y="${y}" width="100%" height="${BAR_HEIGHT}" fill="none" stroke="currentColor" stroke-opacity="0.25"/>`,
      );
      parts.push(
        `<rect class="ec-bar${word === "best" ? " ec-bar-best" : ""}" x="0" y="${y}" width="${percent(value)}" ` +
          `height="${BAR_HEIGHT}" fill="currentColor" fill-opacity="${word === "best" ? 0.85 : 0.5}"/>`,
      );
      for (const tick of TICKS.slice(1, -1)) {
        const x = percent(tick);
        parts.push(`<line class="ec-grid" x1="${x}" y1="${y}" x2="${x}" y2="${y + BAR_HEIGHT}" stroke="currentColor" stroke-opacity="0.3"/>`);
      }
      y += BAR_HEIGHT + ROW_GAP;
    }
  });
  parts.push(`<line class="ec-axis" x1="0" y1="${axisY}" x2="100%" y2="${axisY}" stroke="currentColor" stroke-opacity="0.6"/>`);
  for (const tick of TICKS) {
    const anchor = tick === 0 ? "start" : tick === 1 ? "end" : "middle";
    const x = percent(tick);
    parts.push(`<line class="ec-grid" x1="${x}" y1="${axisY}" x2="${x}" y2="${axisY + 4}" stroke="currentColor" stroke-opacity="0.6"/>`);
    parts.push(`<text x="${x}" y="${axisY + 17}" text-anchor="${anchor}" fill-opacity="0.8">${tick.toFixed(2)}</text>`);
  }
  parts.push(`</svg>`);
  parts.push(
    `<figcaption>${escapeHtml(`${title}.`)} ` +
      `<details class="ec-chart-values"><summary>The chart's values as text</summary>${escapeHtml(summary)}</details></figcaption>`,
  );
  parts.push(`</figure>`);
  return parts.join("\n");
}
