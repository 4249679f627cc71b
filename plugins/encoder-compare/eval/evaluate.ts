// Runs the metrics through the CompareEngine: each encoder embeds the dataset once (cached like
// any build), then every leave-one-out query is ranked against the whole dataset by exact cosine.
// Cost: O(n² · dim) multiply-adds per encoder (n = indexed images); about a second for the demo
// set, minutes for 10,000 images with a 2048-d encoder.
import type { CompareEngine } from "../engine/compare-engine.ts";
import type { LoadedEncoder } from "../engine/types.ts";
import type { Dataset, DatasetImage } from "../dataset/load.ts";
import { leaveOneOutQueries, queryMetrics, summarize, type MetricSummary } from "./metrics.ts";
import { ranksOf, scoreRows, topRows } from "../search/ranking.ts";
import type { EncoderEvaluation, EvalReport } from "../render/eval-report-model.ts";

export type { EncoderEvaluation, EvalReport, QueryOutcome } from "../render/eval-report-model.ts";

export interface RankedResult {
  rank: number;
  score: number;
  image: DatasetImage;
  /** In the query's group. */
  relevant: boolean;
}

export interface Evaluation {
  report: EvalReport;
  /** The top `n` results of one query (a dataset id) under one evaluated encoder, query left out. */
  topResults(encoderId: string, queryId: string, n: number): RankedResult[];
  /** An evaluated image by dataset id. */
  image(id: string): DatasetImage;
}

export interface EvaluateOptions {
  k: number;
  /** Called after each encoder's queries are ranked. */
  onEncoder?: (encoderId: string, seconds: number) => void;
}

interface EncoderRun {
  dim: number;
  vectors: Float32Array;
  /** Common image index → this encoder's row. */
  rowOf: Int32Array;
  /** Rows of images that some other encoder could not index: left out of every ranking. */
  foreignRows: Set<number>;
}

export async function evaluateEncoders(
  engine: CompareEngine,
  datasetDir: string,
  encoderIds: readonly string[],
  options: EvaluateOptions,
): Promise<Evaluation> {
  if (encoderIds.length === 0) throw new Error("evaluation needs at least one encoder");
  const loaded: Array<{ id: string; encoder: Pick<LoadedEncoder, "spec" | "standInFor">; dataset: Dataset; dim: number; vectors: Float32Array }> = [];
  // The identity, not a session: when every vector is in the store, onnxruntime never starts.
  for (const id of encoderIds) loaded.push({ id, encoder: await engine.encoderIdentity(id), ...(await engine.datasetVectors(id, datasetDir)) });

  // An image one encoder failed to decode is dropped for all, so every encoder answers the same queries.
  const idSets = loaded.map((l) => new Set(l.dataset.images.map((image) => image.id)));
  const common: DatasetImage[] = loaded[0].dataset.images.filter((image) => idSets.every((ids) => ids.has(image.id)));
  const commonIndexById = new Map(common.map((image, i) => [image.id, i]));
  const runs = new Map<string, EncoderRun>();
  for (const l of loaded) {
    const rowOf = new Int32Array(common.length);
    const foreignRows = new Set<number>();
    l.dataset.images.forEach((image, row) => {
      const i = commonIndexById.get(image.id);
      if (i === undefined) foreignRows.add(row);
      else rowOf[i] = row;
    });
    runs.set(l.id, { dim: l.dim, vectors: l.vectors, rowOf, foreignRows });
  }

  const groups = common.map((image) => image.group);
  const queries = leaveOneOutQueries(groups);
  const groupSizes = new Map<string, number>();
  for (const g of groups) if (g !== undefined) groupSizes.set(g, (groupSizes.get(g) ?? 0) + 1);

  const encoders: EncoderEvaluation[] = [];
  for (const l of loaded) {
    const started = performance.now();
    const run = runs.get(l.id)!;
    const scores = new Float64Array(l.dataset.images.length);
    const perQuery = queries.map((q) => {
      const queryRow = run.rowOf[q.item];
      scoreRows(run.vectors, run.dim, run.vectors.subarray(queryRow * run.dim, (queryRow + 1) * run.dim), scores);
      const excluded = new Set(run.foreignRows).add(queryRow);
      const ranks = ranksOf(scores, q.relevant.map((i) => run.rowOf[i]), excluded).sort((a, b) => a - b);
      return queryMetrics(ranks, q.relevant.length, options.k);
    });
    const s = l.encoder.standInFor;
    const standIn = s ? { id: l.encoder.spec.id, label: l.encoder.spec.label, kind: s.kind, reason: s.reason } : undefined;
    encoders.push({
      encoderId: l.id,
      label: l.encoder.standInFor?.spec.label ?? l.encoder.spec.label,
      standIn,
      summary: summarize(perQuery, options.k),
      queries: queries.map((q, i) => ({
        id: common[q.item].id,
        group: q.group,
        relevant: q.relevant.length,
        firstRelevantRank: perQuery[i].firstRelevantRank!,
        inTopK: perQuery[i].inTopK,
        averagePrecision: perQuery[i].averagePrecision,
      })),
    });
    options.onEncoder?.(l.id, (performance.now() - started) / 1000);
  }

  const report: EvalReport = {
    dataset: {
      name: loaded[0].dataset.name,
      images: common.length,
      queries: queries.length,
      groups: [...groupSizes.values()].filter((size) => size >= 2).length,
      unlabelled: groups.filter((g) => g === undefined).length,
      singletons: [...groupSizes.values()].filter((size) => size === 1).length,
    },
    k: options.k,
    encoders,
  };

  return {
    report,
    image(id) {
      const i = commonIndexById.get(id);
      if (i === undefined) throw new Error(`"${id}" is not an evaluated image of ${report.dataset.name}`);
      return common[i];
    },
    topResults(encoderId, queryId, n) {
      const run = runs.get(encoderId);
      if (!run) throw new Error(`encoder "${encoderId}" was not evaluated; evaluated: ${encoderIds.join(", ")}`);
      const q = commonIndexById.get(queryId);
      if (q === undefined) throw new Error(`"${queryId}" is not an evaluated image of ${report.dataset.name}`);
      const queryRow = run.rowOf[q];
      const images = loaded.find((l) => l.id === encoderId)!.dataset.images;
      const scores = scoreRows(run.vectors, run.dim, run.vectors.subarray(queryRow * run.dim, (queryRow + 1) * run.dim));
      const group = common[q].group;
      return topRows(scores, n, new Set(run.foreignRows).add(queryRow)).map((row, i) => ({
        rank: i + 1,
        score: scores[row],
        image: images[row],
        relevant: group !== undefined && images[row].group === group,
      }));
    },
  };
}

export interface Disagreement {
  queryId: string;
  group: string;
  /** First-relevant rank under each encoder of the pair, in pair order. */
  ranks: [number, number];
}

/**
 * The queries where two evaluated encoders place the first relevant result furthest apart,
 * largest difference first, ties by query id; at most `count`, none with equal ranks.
 */
export function largestDisagreements(report: EvalReport, pair: readonly [string, string], count: number): Disagreement[] {
  const [a, b] = pair.map((id) => {
    const found = report.encoders.find((e) => e.encoderId === id);
    if (!found) throw new Error(`encoder "${id}" was not evaluated`);
    return found;
  });
  return a.queries
    .map((q, i) => ({ queryId: q.id, group: q.group, ranks: [q.firstRelevantRank, b.queries[i].firstRelevantRank] as [number, number] }))
    .filter((d) => d.ranks[0] !== d.ranks[1])
    .sort((x, y) => Math.abs(y.ranks[0] - y.ranks[1]) - Math.abs(x.ranks[0] - x.ranks[1]) || (x.queryId < y.queryId ? -1 : x.queryId > y.queryId ? 1 : 0))
    .slice(0, count);
}
