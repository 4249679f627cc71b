// The evaluation's metric table: one row per encoder, one column per metric, the best value of
// each metric in bold and followed by the word "best" (so it does not depend on colour).
// Pure, no blank lines.
import { bestEncoders, evalRows, formatMetric, protocolSentence, provenanceSentences, rowIsBest, standInDetails } from "./eval-report.ts";
import { describeRun } from "./encoder-run.ts";
import type { EvalReport } from "./eval-report-model.ts";
import { SUMMARY_METRICS } from "./eval-report-model.ts";
import { escapeHtml } from "./escape.ts";

export function renderEvalTable(report: EvalReport): string {
  const best = bestEncoders(report);
  const lines: string[] = [];
  lines.push(`<table class="encoder-eval" data-dataset="${escapeHtml(report.dataset.name)}" data-k="${report.k}">`);
  lines.push(
    `<caption><span class="ec-title">Retrieval quality on ${escapeHtml(report.dataset.name)}.</span> ` +
      `<span class="ec-scope">${escapeHtml(protocolSentence(report))}</span></caption>`,
  );
  const headers = SUMMARY_METRICS.map((m) => `<th scope="col"><abbr title="${escapeHtml(m.meaning(report.k))}">${escapeHtml(m.name(report.k))}</abbr></th>`);
  lines.push(`<thead><tr><th scope="col">Encoder</th>${headers.join("")}</tr></thead>`);
  lines.push(`<tbody>`);
  for (const row of evalRows(report)) {
    // What ran leads; the reason is in the note under the table and in the mark's title.
    const display = describeRun(row.run);
    const cells = SUMMARY_METRICS.map(({ key, name }) => {
      const value = formatMetric(row.evaluation.summary[key]);
      const data = `<data value="${value}">${value}</data>`;
      // data-label names the column where a narrow screen stacks the cells.
      const label = ` data-label="${escapeHtml(name(report.k))}"`;
      if (!rowIsBest(best, key, row)) return `<td${label}>${data}</td>`;
      return `<td class="ec-best"${label}><strong>${data}</strong> <span class="ec-best-mark">best</span></td>`;
    });
    lines.push(`<tr data-encoder="${escapeHtml(row.requestedIds.join(","))}"><th scope="row">${display.html}</th>${cells.join("")}</tr>`);
  }
  lines.push(`</tbody>`);
  lines.push(`</table>`);
  const legend = evalRows(report).length > 1 ? "The best value of each metric is in bold and marked “best”. " : "";
  const details = standInDetails(report);
  const technical = details.length ? ` <details class="ec-detail"><summary>Technical detail</summary>${escapeHtml(details.join("; "))}</details>` : "";
  lines.push(`<div class="ec-eval-note"><p>${escapeHtml(legend + provenanceSentences(report).join(" "))}</p>${technical}</div>`);
  return lines.join("\n");
}
