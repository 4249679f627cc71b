// Whether one encoder's lead on a metric is more than chance: an exact two-sided sign test over the
// queries, paired (both encoders answered the same queries). A query counts for the encoder whose
// value is higher; queries where both are equal are left out. Under "no difference" each counted
// query goes either way with probability ½, so the number of wins is Binomial(n, ½). Deterministic:
// no sampling, so nothing to seed, and two builds print the same p-value. Pure.
import type { EncoderEvaluation, SummaryMetric } from "./eval-report-model.ts";

export interface SignTest {
  /** Queries where the first encoder's value is higher. */
  wins: number;
  /** Queries where it is lower. */
  losses: number;
  /** Queries with equal values (left out of the test). */
  ties: number;
  /** Two-sided exact p-value: 2 · P(X ≤ min(wins, losses)), X ~ Binomial(wins + losses, ½), at most 1. */
  p: number;
}

/** ln Σ exp(terms), without overflow. */
function logSumExp(terms: readonly number[]): number {
  const top = Math.max(...terms);
  if (top === -Infinity) return -Infinity;
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - top);
  return top + Math.log(sum);
}

/** P(X ≤ m) for X ~ Binomial(n, ½), summed in log space so n in the tens of thousands stays exact enough. */
function binomialHalfCdf(m: number, n: number): number {
  if (m >= n) return 1;
  if (m < 0) return 0;
  const terms: number[] = [];
  let logChoose = 0; // ln C(n, 0)
  for (let i = 0; i <= m; i++) {
    terms.push(logChoose - n * Math.LN2);
    logChoose += Math.log(n - i) - Math.log(i + 1);
  }
  return Math.min(1, Math.exp(logSumExp(terms)));
}

/** Exact two-sided sign test of paired values a[i] against b[i]. */
export function signTest(a: readonly number[], b: readonly number[]): SignTest {
  if (a.length !== b.length) throw new Error(`a paired test needs as many values on each side, got ${a.length} and ${b.length}`);
  let wins = 0;
  let losses = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) wins++;
    else if (a[i] < b[i]) losses++;
  }
  const n = wins + losses;
  const p = n === 0 ? 1 : Math.min(1, 2 * binomialHalfCdf(Math.min(wins, losses), n));
  return { wins, losses, ties: a.length - n, p };
}

/** One query's value of a summary metric (the summary is the mean of these). */
export function perQueryValues(evaluation: EncoderEvaluation, key: SummaryMetric, k: number): number[] {
  return evaluation.queries.map((q) => {
    switch (key) {
      case "precisionAtK":
        return q.inTopK / k;
      case "recallAtK":
        return q.inTopK / q.relevant;
      case "meanAveragePrecision":
        return q.averagePrecision;
      case "hitAt1":
        return q.firstRelevantRank === 1 ? 1 : 0;
      case "meanReciprocalRank":
        return q.firstRelevantRank > 0 ? 1 / q.firstRelevantRank : 0;
    }
  });
}

/** "p = 0.031", "p < 0.001". */
export function formatP(p: number): string {
  return p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`;
}
