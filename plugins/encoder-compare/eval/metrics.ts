// Retrieval metrics with binary relevance, computed from the ranks at which a query's relevant
// items appear. Pure functions: no engine, no files.
//
// Protocol (leave-one-out over a labelled dataset): every image whose group has at least two
// members is a query; its relevant items are the other members of its group; the query itself is
// left out of the ranking, so ranks run 1 … n−1. Unlabelled images are never queries and never
// relevant, but they are ranked (they are distractors).

import type { MetricSummary } from "../render/eval-report-model.ts";

export { SUMMARY_METRICS, type MetricSummary, type SummaryMetric } from "../render/eval-report-model.ts";

export interface QueryMetrics {
  /** Relevant items in the top k. */
  inTopK: number;
  /** Relevant items in the top k, divided by k. */
  precisionAtK: number;
  /** Relevant items in the top k, divided by all relevant items. */
  recallAtK: number;
  /** Mean of precision@rank over the ranks of every relevant item (a relevant item never ranked adds 0). */
  averagePrecision: number;
  /** 1-based rank of the best-ranked relevant item; null when none was ranked. */
  firstRelevantRank: number | null;
  /** 1 / firstRelevantRank, or 0. */
  reciprocalRank: number;
  /** 1 when the top result is relevant. */
  hitAt1: number;
}

function assertRanks(relevantRanks: readonly number[], totalRelevant: number): void {
  if (!Number.isInteger(totalRelevant) || totalRelevant < 1) throw new Error(`a query needs at least one relevant item, got ${totalRelevant}`);
  if (relevantRanks.length > totalRelevant) throw new Error(`${relevantRanks.length} relevant ranks given for ${totalRelevant} relevant items`);
  for (let i = 0; i < relevantRanks.length; i++) {
    const rank = relevantRanks[i];
    if (!Number.isInteger(rank) || rank < 1 || (i > 0 && rank <= relevantRanks[i - 1])) {
      throw new Error(`relevant ranks must be distinct whole numbers from 1 in ascending order, got [${relevantRanks.join(", ")}]`);
    }
  }
}

/**
 * Metrics of one query. `relevantRanks` are the 1-based ranks of its relevant items in
 * ascending order (fewer than `totalRelevant` when the ranking was cut short).
 */
export function queryMetrics(relevantRanks: readonly number[], totalRelevant: number, k: number): QueryMetrics {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive whole number, got ${k}`);
  assertRanks(relevantRanks, totalRelevant);
  let inTopK = 0;
  let precisionSum = 0;
  for (const [i, rank] of relevantRanks.entries()) {
    if (rank <= k) inTopK++;
    precisionSum += (i + 1) / rank;
  }
  const first = relevantRanks.length ? relevantRanks[0] : null;
  return {
    inTopK,
    precisionAtK: inTopK / k,
    recallAtK: inTopK / totalRelevant,
    averagePrecision: precisionSum / totalRelevant,
    firstRelevantRank: first,
    reciprocalRank: first === null ? 0 : 1 / first,
    hitAt1: first === 1 ? 1 : 0,
  };
}

/** Ranks (1-based, ascending) of the items of `ranking` that `isRelevant` accepts. */
export function relevantRanksIn<T>(ranking: readonly T[], isRelevant: (item: T) => boolean): number[] {
  const ranks: number[] = [];
  ranking.forEach((item, i) => {
    if (isRelevant(item)) ranks.push(i + 1);
  });
  return ranks;
}

/** Means over the queries; every metric is 0 when there are none. */
export function summarize(perQuery: readonly QueryMetrics[], k: number): MetricSummary {
  const mean = (pick: (m: QueryMetrics) => number) => (perQuery.length ? perQuery.reduce((sum, m) => sum + pick(m), 0) / perQuery.length : 0);
  return {
    queries: perQuery.length,
    k,
    precisionAtK: mean((m) => m.precisionAtK),
    recallAtK: mean((m) => m.recallAtK),
    meanAveragePrecision: mean((m) => m.averagePrecision),
    hitAt1: mean((m) => m.hitAt1),
    meanReciprocalRank: mean((m) => m.reciprocalRank),
  };
}

export interface LeaveOneOutQuery {
  /** Position of the query in the item list. */
  item: number;
  group: string;
  /** Positions of the other members of its group. */
  relevant: number[];
}

/** Every item whose group has ≥ 2 members, with the other members as its relevant set, in item order. */
export function leaveOneOutQueries(groups: ReadonlyArray<string | undefined>): LeaveOneOutQuery[] {
  const members = new Map<string, number[]>();
  groups.forEach((group, item) => {
    if (group === undefined) return;
    let list = members.get(group);
    if (!list) members.set(group, (list = []));
    list.push(item);
  });
  const queries: LeaveOneOutQuery[] = [];
  groups.forEach((group, item) => {
    const list = group === undefined ? undefined : members.get(group);
    if (!list || list.length < 2) return;
    queries.push({ item, group: group!, relevant: list.filter((other) => other !== item) });
  });
  return queries;
}
