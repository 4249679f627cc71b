// The evaluation's metric table: one row per encoder, one column per metric, the best value of
// each metric in bold and followed by the word "best" (so it does not depend on colour).
// Pure, no blank lines.
import { bestEncoders, formatMetric, protocolSentence, provenanceSentences } from "../eval/report.ts";
import type { EvalReport } from "../eval/evaluate.ts";
import { SUMMARY_METRICS } from "../eval/metrics.ts";
import { escapeHtml } from "./escape.ts";

export function renderEvalTable(report: EvalReport): string {
  const best = bestEncoders(report);
  const lines: string[] = [];
  lines.push(`<table class="encoder-eval" data-dataset="${escapeHtml(report.dataset.name)}" data-k="${report.k}">`);
  lines.push(
    `<caption><span class="ec-title">Retrieval quality on ${escapeHtml(report.dataset.name)}.</span> <span class="ec-scope">${escapeHtml(protocolSentence(report))}</span></caption>`,
  );
  const headers = SUMMARY_METRICS.map((m) => `<th scope="col"><abbr title="${escapeHtml(m.meaning(report.k))}">${escapeHtml(m.name(report.k))}</abbr></th>`);
  lines.push(`<thead><tr><th scope="col">Encoder</th>${headers.join("")}</tr></thead>`);
  lines.push(`<tbody>`);
  for (const e of report.encoders) {
    // The reason is in the note under the table; the row only says whose figures these are.
    const note = e.standIn ? ` <span class="ec-note">(stand-in ran: ${escapeHtml(e.standIn.label)})</span>` : "";
    const cells = SUMMARY_METRICS.map(({ key }) => {
      const value = formatMetric(e.summary[key]);
      const data = `<data value="${value}">${value}</data>`;
      return best.get(key)!.has(e.encoderId) ? `<td class="ec-best"><strong>${data}</strong> <span class="ec-best-mark">best</span></td>` : `<td>${data}</td>`;
    });
    lines.push(`<tr data-encoder="${escapeHtml(e.encoderId)}"><th scope="row"><span class="ec-encoder">${escapeHtml(e.label)}</span>${note}</th>${cells.join("")}</tr>`);
  }
  lines.push(`</tbody>`);
  lines.push(`</table>`);
  const legend = report.encoders.length > 1 ? "The best value of each metric is in bold and marked “best”. " : "";
  lines.push(`<p class="ec-eval-note">${escapeHtml(legend + provenanceSentences(report).join(" "))}</p>`);
  return lines.join("\n");
}
