// An evaluation report in words: the sentences and the plain-text table that the CLI prints and
// the HTML renderer reuses, so the page and the terminal say the same thing.
import { describeRun, mergeRuns, plainReason, type EncoderRun, type RequestedRun } from "./encoder-run.ts";
import type { EvalReport, EncoderEvaluation } from "./eval-report-model.ts";
import { SUMMARY_METRICS, type SummaryMetric } from "./eval-report-model.ts";

/** Metric values are shown, and compared for "best", at 3 decimals. */
export function formatMetric(value: number): string {
  return value.toFixed(3);
}

/** Encoder ids holding the best (highest, at shown precision) value of each metric; empty with one encoder. */
export function bestEncoders(report: EvalReport): Map<SummaryMetric, Set<string>> {
  const best = new Map<SummaryMetric, Set<string>>();
  for (const { key } of SUMMARY_METRICS) {
    const winners = new Set<string>();
    // "Best" needs two models that ran: a stand-in sharing a row with its own encoder is one.
    if (new Set(report.encoders.map((e) => e.standIn?.id ?? e.encoderId)).size > 1) {
      const top = Math.max(...report.encoders.map((e) => Number(formatMetric(e.summary[key]))));
      for (const e of report.encoders) if (Number(formatMetric(e.summary[key])) === top) winners.add(e.encoderId);
    }
    best.set(key, winners);
  }
  return best;
}

/** How an evaluated encoder ran: what ran leads, what it stands in for follows. */
export function evaluationRun(e: EncoderEvaluation): RequestedRun {
  return e.standIn
    ? {
        requestedId: e.encoderId,
        ran: { id: e.standIn.id, label: e.standIn.label },
        standingInFor: { id: e.encoderId, label: e.label, reason: e.standIn.reason },
      }
    : { requestedId: e.encoderId, ran: { id: e.encoderId, label: e.label } };
}

/** One row per model that ran: a stand-in that duplicates a listed encoder shares its row (same figures). */
export interface EvalRow {
  run: EncoderRun;
  /** The evaluation whose figures the row shows (the first requested). */
  evaluation: EncoderEvaluation;
  requestedIds: string[];
}

export function evalRows(report: EvalReport): EvalRow[] {
  return mergeRuns(report.encoders.map(evaluationRun)).map((run) => ({
    run,
    evaluation: report.encoders.find((e) => e.encoderId === run.requestedIds[0])!,
    requestedIds: run.requestedIds,
  }));
}

/** Whether a row holds the best value of a metric. */
export function rowIsBest(best: Map<SummaryMetric, Set<string>>, key: SummaryMetric, row: EvalRow): boolean {
  return row.requestedIds.some((id) => best.get(key)!.has(id));
}

/** The report as JSON: each entry keyed by the encoder that ran, `standingInFor` beside it. */
export function evalReportJson(report: EvalReport): unknown {
  return {
    ...report,
    encoders: report.encoders.map((e) => {
      const { standIn, encoderId, label, ...rest } = e;
      const run = evaluationRun(e);
      return {
        encoderId: run.ran.id,
        label: run.ran.label,
        ...(run.standingInFor
          ? { standingInFor: { encoderId, label, reason: plainReason(run.standingInFor.reason), detail: run.standingInFor.reason } }
          : {}),
        ...rest,
      };
    }),
  };
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

/** Which encoders really ran and which were replaced by a stand-in, in one sentence each (plain reasons). */
export function provenanceSentences(report: EvalReport): string[] {
  const real = report.encoders.filter((e) => !e.standIn).map((e) => e.encoderId);
  const lines: string[] = [];
  if (real.length) lines.push(`Measured as named: ${real.join(", ")}.`);
  for (const e of report.encoders) {
    if (e.standIn) {
      lines.push(
        `${labelWithId(e.standIn.id, e.standIn.label)} ran in place of ${labelWithId(e.encoderId, e.label)} because ${plainReason(e.standIn.reason)}: ` +
          `the figures in its row are those of ${e.standIn.id}, not of ${e.label}.`,
      );
    }
  }
  return lines;
}

/** The technical reasons behind the stand-ins (for the log, a details element, the terminal). */
export function standInDetails(report: EvalReport): string[] {
  return report.encoders.filter((e) => e.standIn).map((e) => `${e.encoderId}: ${e.standIn!.reason}`);
}

/** The metric table as aligned plain text; "*" marks the best value of each metric. */
export function formatEvalText(report: EvalReport): string {
  const best = bestEncoders(report);
  const header = ["encoder", ...SUMMARY_METRICS.map((m) => m.name(report.k))];
  const rows = evalRows(report).map((row) => [
    describeRun(row.run).shortName,
    ...SUMMARY_METRICS.map(({ key }) => formatMetric(row.evaluation.summary[key]) + (rowIsBest(best, key, row) ? "*" : " ")),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  const out = [`Retrieval quality on ${report.dataset.name}`, protocolSentence(report), "", line(header), ...rows.map(line)];
  if (rows.length > 1) out.push("", "* best value of the metric");
  out.push("", ...SUMMARY_METRICS.map((m) => `${m.name(report.k)}: ${m.meaning(report.k)}`));
  out.push("", ...provenanceSentences(report));
  const details = standInDetails(report);
  if (details.length) out.push(`(technical detail: ${details.join("; ")})`);
  return out.join("\n") + "\n";
}
