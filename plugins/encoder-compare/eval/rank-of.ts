// Where dataset images rank for a query under one encoder, over the whole dataset, with the same scores and
// tie-breaking as the results: the image `rankOf="<dataset id>"` names, or the first one of the expected groups.
// Pure: the vectors come from the caller, described by the little ranking needs of them, so this module stands on
// search/ alone.
import { ranksOf, scoreRows } from "../search/ranking.ts";

/** A dataset's vectors as ranking reads them: the images in row order and the row-major matrix. */
export interface RankedRows {
  dataset: { name: string; images: ReadonlyArray<{ id: string; sha256: string; group?: string }> };
  dim: number;
  vectors: Float32Array;
}

/** A query's answer as ranking reads it: its vector, and whether the query image was left out of its own results. */
export interface RankedQuery {
  query: { sha256: string };
  vector: Float32Array;
  selfExcluded: boolean;
}

export class RankOfError extends Error {}

/** Bump when ranking changes: remembered ranks are then ignored. */
export const RANK_MEMO_VERSION = 1;

/** The query image itself (left out of its own results), or a 1-based rank with its cosine. */
export type Rank = { self: true; rank?: undefined; score?: undefined } | { self?: undefined; rank: number; score: number };

/** A remembered rank as read back from the store, or undefined when it is not one. */
export function asRank(r: Record<string, unknown> | undefined): Rank | undefined {
  return r && (r.self === true || (Number.isInteger(r.rank) && typeof r.score === "number")) ? (r as Rank) : undefined;
}

/** Every row's cosine to the query: what both ranks are read from, so a caller asking both scores the dataset once. */
export function queryScores({ dim, vectors }: RankedRows, result: RankedQuery): Float64Array {
  return scoreRows(vectors, dim, result.vector);
}

/** `scores`: queryScores of these rows and query, when the caller already has them. */
export function rankOf(rows: RankedRows, result: RankedQuery, targetId: string, scores?: Float64Array): Rank {
  const { dataset } = rows;
  const row = dataset.images.findIndex((image) => image.id === targetId);
  if (row < 0) {
    const examples = dataset.images.slice(0, 2).map((image) => `"${image.id}"`).join(", ");
    throw new RankOfError(
      `rankOf: no indexed image with id "${targetId}" in dataset ${dataset.name} (duplicates and unreadable files are not indexed); ids look like ${examples}`,
    );
  }
  const target = dataset.images[row];
  if (result.selfExcluded && target.sha256 === result.query.sha256) return { self: true };
  scores ??= queryScores(rows, result);
  const selfRow = result.selfExcluded ? dataset.images.findIndex((image) => image.sha256 === result.query.sha256) : -1;
  const [rank] = ranksOf(scores, [row], selfRow >= 0 ? new Set([selfRow]) : undefined);
  return { rank, score: scores[row] };
}

/**
 * Rank of the first result in one of `groups` over the whole dataset (query left out when it was); undefined when none
 * is indexed. `scores`: queryScores of these rows and query, when the caller already has them.
 */
export function firstMatchRank(rows: RankedRows, result: RankedQuery, groups: readonly string[], scores?: Float64Array): number | undefined {
  const { dataset } = rows;
  const targets: number[] = [];
  let selfRow = -1;
  dataset.images.forEach((image, row) => {
    if (result.selfExcluded && image.sha256 === result.query.sha256) selfRow = row;
    else if (image.group !== undefined && groups.includes(image.group)) targets.push(row);
  });
  if (targets.length === 0) return undefined;
  const ranks = ranksOf(scores ?? queryScores(rows, result), targets, selfRow >= 0 ? new Set([selfRow]) : undefined);
  return Math.min(...ranks);
}
