// An evaluation report in words: the sentences and the plain-text table that the CLI prints and
// the HTML renderer reuses, so the page and the terminal say the same thing.
import type { EvalReport, EncoderEvaluation } from "./evaluate.ts";
import { SUMMARY_METRICS, type SummaryMetric } from "./metrics.ts";

/** Metric values are shown, and compared for "best", at 3 decimals. */
export function formatMetric(value: number): string {
  return value.toFixed(3);
}

/** Encoder ids holding the best (highest, at shown precision) value of each metric; empty with one encoder. */
export function bestEncoders(report: EvalReport): Map<SummaryMetric, Set<string>> {
  const best = new Map<SummaryMetric, Set<string>>();
  for (const { key } of SUMMARY_METRICS) {
    const winners = new Set<string>();
    if (report.encoders.length > 1) {
      const top = Math.max(...report.encoders.map((e) => Number(formatMetric(e.summary[key]))));
      for (const e of report.encoders) if (Number(formatMetric(e.summary[key])) === top) winners.add(e.encoderId);
    }
    best.set(key, winners);
  }
  return best;
}

/** "clip-vit-b32 (stand-in: pixels)" or just the id. */
export function encoderName(e: EncoderEvaluation): string {
  return e.standIn ? `${e.encoderId} (stand-in: ${e.standIn.id})` : e.encoderId;
}

export function protocolSentence(report: EvalReport): string {
  const d = report.dataset;
  const distractors = d.unlabelled + d.singletons;
  return (
    `${d.queries} queries from ${d.images} images in ${d.name}: every image whose group has at least two members is a query, ` +
    `left out of its own ranking; the other members of its group are the relevant results` +
    (distractors ? `; ${distractors} image${distractors === 1 ? "" : "s"} without a partner only act as distractors` : "") +
    `. Rankings cover the whole dataset by cosine similarity; k = ${report.k}.`
  );
}

/** "pixels (16×16 thumbnail)" as is; a label that does not name the id gets it added. */
function labelWithId(id: string, label: string): string {
  return label.startsWith(id) ? label : `${label} (${id})`;
}

/** Which encoders really ran and which were replaced by a stand-in, in one sentence each. */
export function provenanceSentences(report: EvalReport): string[] {
  const real = report.encoders.filter((e) => !e.standIn).map((e) => e.encoderId);
  const lines: string[] = [];
  if (real.length) lines.push(`Measured as named: ${real.join(", ")}.`);
  for (const e of report.encoders) {
    if (e.standIn) {
      lines.push(`${labelWithId(e.encoderId, e.label)} was not available (${e.standIn.reason}): its figures are those of its stand-in, ${labelWithId(e.standIn.id, e.standIn.label)}, not of ${e.label}.`);
    }
  }
  return lines;
}

/** The metric table as aligned plain text; "*" marks the best value of each metric. */
export function formatEvalText(report: EvalReport): string {
  const best = bestEncoders(report);
  const header = ["encoder", ...SUMMARY_METRICS.map((m) => m.name(report.k))];
  const rows = report.encoders.map((e) => [
    encoderName(e),
    ...SUMMARY_METRICS.map(({ key }) => formatMetric(e.summary[key]) + (best.get(key)!.has(e.encoderId) ? "*" : " ")),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  const out = [`Retrieval quality on ${report.dataset.name}`, protocolSentence(report), "", line(header), ...rows.map(line)];
  if (report.encoders.length > 1) out.push("", "* best value of the metric");
  out.push("", ...SUMMARY_METRICS.map((m) => `${m.name(report.k)}: ${m.meaning(report.k)}`));
  out.push("", ...provenanceSentences(report));
  return out.join("\n") + "\n";
}
