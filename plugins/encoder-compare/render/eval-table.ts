// The evaluation's metric table: one row per encoder, one column per metric. A value is in bold and
// followed by the word "best" (so it does not depend on colour) only when a paired test over the
// queries says its lead is more than chance; otherwise the top values read "tie". The last row
// gives each metric's p-value. Pure, no blank lines.
import {
  evalRows,
  formatMetric,
  metricVerdicts,
  protocolSentence,
  provenanceSentences,
  rowVerdict,
  standInDetails,
  testRule,
  verdictSentence,
} from "./eval-report.ts";
import { formatP } from "./significance.ts";
import { describeRun } from "./encoder-run.ts";
import type { EvalReport } from "./eval-report-model.ts";
import { SUMMARY_METRICS } from "./eval-report-model.ts";
import { escapeHtml } from "./escape.ts";

export function renderEvalTable(report: EvalReport): string {
  const verdicts = metricVerdicts(report);
  const rows = evalRows(report);
  const tested = rows.length > 1;
  const lines: string[] = [];
  lines.push(`<table class="encoder-eval" data-dataset="${escapeHtml(report.dataset.name)}" data-k="${report.k}">`);
  lines.push(
    `<caption><span class="ec-title">Retrieval quality on ${escapeHtml(report.dataset.name)}.</span> ` +
      `<span class="ec-scope">${escapeHtml(protocolSentence(report))}</span>` +
      (tested ? ` <span class="ec-test">${escapeHtml(`“Best” needs a lead in a paired sign test over the queries, ${testRule()}.`)}</span>` : "") +
      `</caption>`,
  );
  const headers = SUMMARY_METRICS.map((m) => `<th scope="col"><abbr title="${escapeHtml(m.meaning(report.k))}">${escapeHtml(m.name(report.k))}</abbr></th>`);
  lines.push(`<thead><tr><th scope="col">Encoder</th>${headers.join("")}</tr></thead>`);
  lines.push(`<tbody>`);
  for (const row of rows) {
    // What ran leads; the reason is in the note under the table and in the mark's title.
    const display = describeRun(row.run);
    const cells = SUMMARY_METRICS.map(({ key, name }) => {
      const value = formatMetric(row.evaluation.summary[key]);
      const data = `<data value="${value}">${value}</data>`;
      // data-label names the column where a narrow screen stacks the cells.
      const label = ` data-label="${escapeHtml(name(report.k))}"`;
      const verdict = verdicts.get(key)!;
      const mark = rowVerdict(verdict, row);
      if (mark === "tie") return `<td class="ec-tie"${label}>${data} <span class="ec-tie-mark">tie</span></td>`;
      if (mark === "") return `<td${label}>${data}</td>`;
      return `<td class="ec-best"${label}><strong>${data}</strong> <span class="ec-best-mark">best</span></td>`;
    });
    lines.push(`<tr data-encoder="${escapeHtml(row.requestedIds.join(","))}"><th scope="row">${display.html}</th>${cells.join("")}</tr>`);
  }
  lines.push(`</tbody>`);
  if (tested) {
    const cells = SUMMARY_METRICS.map(({ key, name }) => {
      const test = verdicts.get(key)!.test!;
      const counts = `${test.wins}–${test.losses}`;
      return `<td data-label="${escapeHtml(name(report.k))}">${escapeHtml(formatP(test.p))} <span class="ec-test-counts">(${counts})</span></td>`;
    });
    lines.push(`<tfoot><tr class="ec-test-row"><th scope="row">Sign test: p (queries ahead–behind)</th>${cells.join("")}</tr></tfoot>`);
  }
  lines.push(`</table>`);
  // The verdicts name what ran (their figures are its figures); the provenance sentences say what it stands in for.
  const verdictNote = tested
    ? `<p class="ec-test-note">${escapeHtml(
        "A value in bold marked “best” is ahead of every other encoder by more than chance; “tie” marks top values no test separates " +
          "(counts: queries where the leader is ahead–behind). " +
          SUMMARY_METRICS.map((m) => verdictSentence(verdicts.get(m.key)!, m.name(report.k))).join(" "),
      )}</p>`
    : "";
  const details = standInDetails(report);
  const technical = details.length ? ` <details class="ec-detail"><summary>Technical detail</summary>${escapeHtml(details.join("; "))}</details>` : "";
  lines.push(`<div class="ec-eval-note">${verdictNote}<p>${escapeHtml(provenanceSentences(report).join(" "))}</p>${technical}</div>`);
  return lines.join("\n");
}
