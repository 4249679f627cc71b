// Ranks over the whole dataset beside one of a page's results: the rankOf= line (remembered in the store with the
// query results, so a rebuild with the same encoder, dataset state and query reads neither the dataset's vectors nor
// the index) and the scoreboard's first match. The vectors come from the engine, the ranks from eval/, the words from
// render/; the dataset's vectors are read at most once for both.
import crypto from "node:crypto";
import type { DatasetVectorCache } from "../engine/dataset-vectors.ts";
import type { QueryResult } from "../engine/types.ts";
import { asRank, firstMatchRank, queryScores, RANK_MEMO_VERSION, rankOf } from "../eval/rank-of.ts";
import { asRun, describeRun } from "../render/encoder-run.ts";
import { rankOfText } from "../render/rank-of-text.ts";
import { resultRun } from "./encoder-runs.ts";

/** What to rank beside a result: the image `rankOf=` names, and the first image of the expected groups. */
export interface DatasetRankAsk {
  rankOf?: string;
  firstMatchOf?: readonly string[];
}

export async function datasetRanks(
  cache: DatasetVectorCache,
  encoderId: string,
  datasetDir: string,
  result: QueryResult,
  ask: DatasetRankAsk,
): Promise<{ rankOf?: string; firstMatch?: number }> {
  if (ask.rankOf === undefined && ask.firstMatchOf === undefined) return {};
  const { engine } = cache;
  const dataset = engine.dataset(datasetDir);
  const { key } = await engine.encoderIdentity(encoderId);
  const asked = ["rankOf", RANK_MEMO_VERSION, key, dataset.dir, result.query.sha256, result.selfExcluded, ask.rankOf, engine.options.limitInputPixels];
  const scope = crypto.createHash("sha256").update(JSON.stringify(asked)).digest("hex");
  const remembered = ask.rankOf === undefined ? undefined : asRank(engine.store.recall("query", scope, dataset.fingerprint, RANK_MEMO_VERSION));
  const ranksTarget = ask.rankOf !== undefined && !remembered;
  const whole = ranksTarget || ask.firstMatchOf ? await cache.get(encoderId, datasetDir) : undefined;
  // Both ranks read the same cosines: the dataset is scored once when both are asked.
  const scores = ranksTarget && ask.firstMatchOf ? queryScores(whole!, result) : undefined;
  const found = ask.rankOf === undefined ? undefined : (remembered ?? rankOf(whole!, result, ask.rankOf, scores));
  const firstMatch = ask.firstMatchOf && firstMatchRank(whole!, result, ask.firstMatchOf, scores);
  if (found && !remembered) engine.store.remember("query", scope, dataset.fingerprint, RANK_MEMO_VERSION, found);
  const under = describeRun(asRun(resultRun(encoderId, result))).shortName;
  return { rankOf: found && rankOfText(ask.rankOf!, under, found), firstMatch };
}
