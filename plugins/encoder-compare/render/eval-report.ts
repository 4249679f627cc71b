// An evaluation report in words: the sentences and the plain-text table that the CLI prints and
// the HTML renderer reuses, so the page and the terminal say the same thing.
import { describeRun, mergeRuns, plainReason, standingInForJson, type EncoderRun, type RequestedRun } from "./encoder-run.ts";
import type { EvalReport, EncoderEvaluation } from "./eval-report-model.ts";
import { SUMMARY_METRICS, type SummaryMetric } from "./eval-report-model.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { formatP, perQueryValues, signTest, type SignTest } from "./significance.ts";

/** Metric values are shown, and compared for "best", at 3 decimals. */
export function formatMetric(value: number): string {
  return value.toFixed(3);
}

/** The verdict on one metric: a significant leader ("best"), or the top values no test separates ("tie"). */
export interface MetricVerdict {
  /** Requested encoder ids of the row marked best; empty unless its lead is significant against every other row. */
  best: Set<string>;
  /** Requested encoder ids of the rows tied at the top; empty when there is a best or only one model ran. */
  tied: Set<string>;
  /** The leader against its closest rival (the largest p); absent when only one model ran. */
  test?: SignTest & { leader: EvalRow; rival: EvalRow; queries: number };
}

/**
 * Per metric, whether the row with the highest value leads by more than chance: an exact paired
 * sign test over the queries against every other row (render/significance.ts), each p < 0.05.
 */
export function metricVerdicts(report: EvalReport): Map<SummaryMetric, MetricVerdict> {
  const rows = evalRows(report);
  const verdicts = new Map<SummaryMetric, MetricVerdict>();
  for (const { key } of SUMMARY_METRICS) {
    const verdict: MetricVerdict = { best: new Set(), tied: new Set() };
    verdicts.set(key, verdict);
    // "Best" needs two models that ran: a stand-in sharing a row with its own encoder is one.
    if (rows.length < 2) continue;
    const leader = rows.reduce((top, row) => (row.evaluation.summary[key] > top.evaluation.summary[key] ? row : top));
    const values = (row: EvalRow) => perQueryValues(row.evaluation, key, report.k);
    const tests = rows
      .filter((row) => row !== leader)
      .map((rival) => {
        const test = signTest(values(leader), values(rival));
        // Equal at the shown precision is a tie whatever the test says.
        const shownAhead = Number(formatMetric(leader.evaluation.summary[key])) > Number(formatMetric(rival.evaluation.summary[key]));
        // A higher mean from fewer, larger wins is no lead: the leader must also be ahead on more queries.
        const significant = shownAhead && test.wins > test.losses && test.p < DEFAULTS.eval.significanceLevel;
        return { ...test, leader, rival, queries: leader.evaluation.queries.length, significant };
      });
    const { significant: _, ...closest } = tests.reduce((worst, t) => (t.p > worst.p || (worst.significant && !t.significant) ? t : worst));
    verdict.test = closest;
    if (tests.every((t) => t.significant)) {
      for (const id of leader.requestedIds) verdict.best.add(id);
    } else {
      for (const row of [leader, ...tests.filter((t) => !t.significant).map((t) => t.rival)]) for (const id of row.requestedIds) verdict.tied.add(id);
    }
  }
  return verdicts;
}

/** A row's mark for one metric: "best" for a significant lead, "tie" for top values no test separates, else "". */
export function rowVerdict(verdict: MetricVerdict, row: EvalRow): "best" | "tie" | "" {
  if (row.requestedIds.some((id) => verdict.best.has(id))) return "best";
  if (row.requestedIds.some((id) => verdict.tied.has(id))) return "tie";
  return "";
}

/** The verdict of one metric in words, e.g. "P@10: a tie, pixels … ahead of phash … only on 11 of the 14 queries where they differ, p = 0.057." */
export function verdictSentence(verdict: MetricVerdict, metricName: string): string {
  const t = verdict.test;
  if (!t) return "";
  const lead = describeRun(t.leader.run).label;
  const rival = describeRun(t.rival.run).label;
  if (t.wins + t.losses === 0) return `${metricName}: a tie (the same value on every query).`;
  const counts = `on ${t.wins} of the ${t.wins + t.losses} queries where they differ, ${formatP(t.p)}`;
  if (verdict.best.size) return `${metricName}: ${lead} is best, ahead of ${rival} ${counts}.`;
  if (t.wins < t.losses) return `${metricName}: a tie, ${lead} has the higher mean but is ahead of ${rival} ${counts}.`;
  return `${metricName}: a tie, ${lead} ahead of ${rival} only ${counts}.`;
}

/** The rule behind "best", in words. */
export function testRule(): string {
  return `p < ${DEFAULTS.eval.significanceLevel} (two-sided; queries where both score the same are left out)`;
}

/** How an evaluated encoder ran: what ran leads, what it stands in for follows. */
export function evaluationRun(e: EncoderEvaluation): RequestedRun {
  return e.standIn
    ? {
        requestedId: e.encoderId,
        ran: { id: e.standIn.id, label: e.standIn.label },
        standingInFor: { id: e.encoderId, label: e.label, kind: e.standIn.kind, reason: e.standIn.reason },
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
        ...(run.standingInFor ? { standingInFor: standingInForJson(run.standingInFor) } : {}),
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
        `${labelWithId(e.standIn.id, e.standIn.label)} ran in place of ${labelWithId(e.encoderId, e.label)} because ${plainReason(e.standIn.kind)}: ` +
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

/** The metric table as aligned plain text; "*" marks a significantly best value, "=" the values tied at the top. */
export function formatEvalText(report: EvalReport): string {
  const verdicts = metricVerdicts(report);
  const header = ["encoder", ...SUMMARY_METRICS.map((m) => m.name(report.k))];
  const rows = evalRows(report).map((row) => [
    describeRun(row.run).shortName,
    ...SUMMARY_METRICS.map(({ key }) => formatMetric(row.evaluation.summary[key]) + { best: "*", tie: "=", "": " " }[rowVerdict(verdicts.get(key)!, row)]),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  const out = [`Retrieval quality on ${report.dataset.name}`, protocolSentence(report), "", line(header), ...rows.map(line)];
  if (rows.length > 1) {
    out.push("", `* best value of the metric: ahead of every other encoder in an exact paired sign test over the queries, ${testRule()}`);
    out.push("= tied at the top: no significant difference");
    out.push(...SUMMARY_METRICS.map((m) => verdictSentence(verdicts.get(m.key)!, m.name(report.k))));
  }
  out.push("", ...SUMMARY_METRICS.map((m) => `${m.name(report.k)}: ${m.meaning(report.k)}`));
  out.push("", ...provenanceSentences(report));
  const details = standInDetails(report);
  if (details.length) out.push(`(technical detail: ${details.join("; ")})`);
  return out.join("\n") + "\n";
}
