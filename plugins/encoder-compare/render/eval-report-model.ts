// The evaluation report as render/ reads it: eval/ computes it, render/ draws it, so neither imports the other in a loop.
import type { ModelUnavailableKind } from "../models/model-file.ts";

export interface MetricSummary {
  queries: number;
  k: number;
  precisionAtK: number;
  recallAtK: number;
  /** Mean average precision over the queries. */
  meanAveragePrecision: number;
  hitAt1: number;
  /** Mean reciprocal rank. */
  meanReciprocalRank: number;
}

export type SummaryMetric = Exclude<keyof MetricSummary, "queries" | "k">;

/** The summary metrics in table order, with their short names and what they mean. */
export const SUMMARY_METRICS: ReadonlyArray<{ key: SummaryMetric; name: (k: number) => string; meaning: (k: number) => string }> = [
  { key: "precisionAtK", name: (k) => `P@${k}`, meaning: (k) => `share of the top ${k} results that are in the query's group` },
  { key: "recallAtK", name: (k) => `R@${k}`, meaning: (k) => `share of the query's group found in the top ${k}` },
  { key: "meanAveragePrecision", name: () => "mAP", meaning: () => "mean average precision over the full ranking" },
  { key: "hitAt1", name: () => "hit@1", meaning: () => "share of queries whose first result is in their group" },
  { key: "meanReciprocalRank", name: () => "MRR", meaning: () => "mean of 1 / rank of the first result in the query's group" },
];

export interface QueryOutcome {
  /** Dataset id of the query image. */
  id: string;
  group: string;
  /** Other members of its group (the relevant set). */
  relevant: number;
  firstRelevantRank: number;
  /** Relevant items in the top k. */
  inTopK: number;
  averagePrecision: number;
}

export interface EncoderEvaluation {
  /** The encoder asked for. */
  encoderId: string;
  label: string;
  /** Set when the asked-for model was unavailable and its stand-in produced these figures. */
  standIn?: { id: string; label: string; kind: ModelUnavailableKind; reason: string };
  summary: MetricSummary;
  /** One per query, in query order (same order for every encoder). */
  queries: QueryOutcome[];
}

export interface EvalReport {
  dataset: {
    name: string;
    /** Images ranked (indexed by every evaluated encoder). */
    images: number;
    /** Images that have a group with ≥ 2 members: the queries. */
    queries: number;
    /** Groups with ≥ 2 members. */
    groups: number;
    /** Indexed images without a group (distractors, never queries). */
    unlabelled: number;
    /** Images whose group has no other member (distractors too). */
    singletons: number;
  };
  k: number;
  encoders: EncoderEvaluation[];
}
