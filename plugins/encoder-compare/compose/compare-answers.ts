// Every requested encoder's answer to every query image: the one loop behind the comparison shortcodes and the CLI's
// query command, and the two ways a surface names the encoders (merged by what ran on a page, one per request in the
// CLI).
import type { CompareEngine } from "../engine/compare-engine.ts";
import type { QueryResult } from "../engine/types.ts";
import type { DatasetVectorCache } from "../engine/dataset-vectors.ts";
import { humanFileName } from "../render/alt-text.ts";
import { asRun, mergeRuns, type EncoderRun, type RequestedRun } from "../render/encoder-run.ts";
import { datasetRanks } from "./dataset-ranks.ts";
import { resultRun } from "./encoder-runs.ts";
import { checkExpectedGroups, expectedFor } from "./expected-groups.ts";

/** Which encoders answer which query images, searching which dataset. */
export interface CompareAsk {
  encoders: readonly string[];
  /** Query image files, resolved and checked by the caller. */
  queryFiles: readonly string[];
  datasetDir: string;
  k: number;
  includeSelf: boolean;
}

/** One requested encoder: what ran for it, and its result per query image (in query order). */
export interface EncoderResults {
  requested: RequestedRun;
  results: QueryResult[];
}

/** One query's answer under one encoder, with what a table shows beside it. */
export interface QueryAnswer {
  result: QueryResult;
  queryAlt: string;
  /** The groups a result must be in to be marked a match; absent: no marks. */
  expect?: readonly string[];
  /** Where the rankOf= image ranks, in words. */
  rankOf?: string;
  /** Rank of the first result in an expected group over the whole dataset (absent: not asked, or none there). */
  firstMatch?: number;
}

/** The encoder of one table (a column of a versus table, a row of the scoreboard) and its answer per query. */
export interface EncoderAnswers {
  /** The requested ids it answers for, comma-joined (the table's data-encoder). */
  encoderId: string;
  encoderLabel: string;
  run: EncoderRun;
  answers: QueryAnswer[];
}

/** Encoder by encoder, query by query: the engine memoises each step, so later queries reuse the first one's index. */
export async function askEncoders(engine: CompareEngine, ask: CompareAsk): Promise<EncoderResults[]> {
  const all: EncoderResults[] = [];
  for (const encoderId of ask.encoders) {
    const results: QueryResult[] = [];
    for (const file of ask.queryFiles) results.push(await engine.query(encoderId, ask.datasetDir, file, { k: ask.k, includeSelf: ask.includeSelf }));
    all.push({ requested: resultRun(encoderId, results[0]), results });
  }
  return all;
}

/** One encoder's result for one query, with what ran for it. */
export interface RunResult {
  run: RequestedRun;
  result: QueryResult;
}

/** The same results query by query, each with every encoder's result in request order (the CLI's terminal and JSON rows). */
export function resultsByQuery(asked: readonly EncoderResults[]): RunResult[][] {
  return (asked[0]?.results ?? []).map((_, i) => asked.map(({ requested, results }) => ({ run: requested, result: results[i] })));
}

/** What a page asks beyond the encoders and queries: the paths as the author wrote them, expect= and rankOf=. */
export interface PageCompareAsk extends CompareAsk {
  /** The query paths as written (alt text for a query that is not a captioned dataset image). */
  queries: readonly string[];
  expect?: readonly string[];
  rankOf?: string;
  /** Also rank the first match over the whole dataset (the scoreboard shows it). */
  firstMatch?: boolean;
}

/**
 * A page's answers, one entry per model that ran: a stand-in and the encoder it duplicates give the same answers, so
 * one table, column or row says both. Queries are named by their dataset caption (else their file name in words) and
 * marked against expect= or their own group; ranks over the whole dataset (rankOf=, the first match) are computed
 * under the first encoder an entry answers for.
 */
export async function pageAnswers(engine: CompareEngine, ranks: DatasetVectorCache, ask: PageCompareAsk): Promise<EncoderAnswers[]> {
  // An embeddings folder has no image list to check groups against or find the query in.
  const dataset = engine.isEmbeddingsDataset(ask.datasetDir) ? undefined : engine.dataset(ask.datasetDir);
  if (ask.expect && dataset) checkExpectedGroups(ask.expect, dataset);
  const members = new Map((dataset?.images ?? []).map((image) => [image.sha256, image]));
  const asked = await askEncoders(engine, ask);
  const encoders: EncoderAnswers[] = [];
  for (const run of mergeRuns(asked.map((a) => a.requested))) {
    const firstId = run.requestedIds[0];
    const answers: QueryAnswer[] = [];
    for (const [i, result] of asked[ask.encoders.indexOf(firstId)].results.entries()) {
      const member = members.get(result.query.sha256);
      const expect = expectedFor(ask.expect, member);
      const wanted = { rankOf: ask.rankOf || undefined, firstMatchOf: ask.firstMatch ? expect : undefined };
      const ranked = await datasetRanks(ranks, firstId, ask.datasetDir, result, wanted);
      answers.push({ result, queryAlt: member?.caption || humanFileName(ask.queries[i]), expect, ...ranked });
    }
    encoders.push({ encoderId: run.requestedIds.join(","), encoderLabel: engine.options.registry.get(firstId).label, run, answers });
  }
  return encoders;
}

/** One entry per requested encoder, named by the encoder that ran, each query by `queryAlt` (the CLI's page). */
export function answersAsRan(asked: readonly EncoderResults[], queryAlt: (i: number) => string): EncoderAnswers[] {
  return asked.map(({ requested, results }) => ({
    encoderId: results[0].encoder.id,
    encoderLabel: results[0].encoder.label,
    run: asRun(requested),
    answers: results.map((result, i) => ({ result, queryAlt: queryAlt(i) })),
  }));
}
