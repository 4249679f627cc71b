// Full rankings by exact cosine, for evaluation and "where does image X rank". Scores are the
// search's own double-precision dot products and ties go to the smaller row (= smaller dataset
// id, since rows follow id order), so a rank here is the rank the search would show.
import { dotRow, isRankable } from "./exact.ts";

/** Score of every row of `vectors` (row-major, n×dim) against the query. */
export function scoreRows(vectors: Float32Array, dim: number, query: Float32Array | Float64Array, out = new Float64Array(vectors.length / dim)): Float64Array {
  if (query.length !== dim) throw new Error(`query has dimension ${query.length} but the vectors have ${dim}`);
  const query64 = query instanceof Float64Array ? query : Float64Array.from(query);
  for (let row = 0; row < out.length; row++) out[row] = dotRow(vectors, row, query64);
  return out;
}

/** A score as ranked: one that is not rankable (NaN, ±Infinity) ranks after every real score. */
function ranked(score: number): number {
  return isRankable(score) ? score : -Infinity;
}

/** True when row a ranks before row b: higher score, then smaller row. */
function before(scores: Float64Array, a: number, b: number): boolean {
  const sa = ranked(scores[a]);
  const sb = ranked(scores[b]);
  return sa > sb || (sa === sb && a < b);
}

/**
 * 1-based ranks of `targets` among all rows except `excluded`, aligned with `targets`. Costs
 * O(n log t) instead of sorting all n rows: each row is placed, by binary search, among the
 * targets sorted in ranking order, and counts towards the rank of every target it beats.
 */
export function ranksOf(scores: Float64Array, targets: readonly number[], excluded?: ReadonlySet<number>): number[] {
  if (targets.length === 0) return [];
  for (const t of targets) {
    if (!Number.isInteger(t) || t < 0 || t >= scores.length) throw new Error(`row ${t} is not in the ranking (0…${scores.length - 1})`);
    if (excluded?.has(t)) throw new Error(`row ${t} is excluded from the ranking and has no rank`);
  }
  const sorted = [...targets].sort((a, b) => (before(scores, a, b) ? -1 : before(scores, b, a) ? 1 : 0));
  // beatenFrom[p]: rows whose first beaten target (in ranking order) is sorted[p].
  const beatenFrom = new Int32Array(sorted.length + 1);
  for (let row = 0; row < scores.length; row++) {
    if (excluded?.has(row)) continue;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(scores, row, sorted[mid])) hi = mid;
      else lo = mid + 1;
    }
    beatenFrom[lo]++;
  }
  const rankByRow = new Map<number, number>();
  let ahead = 0;
  for (let p = 0; p < sorted.length; p++) {
    ahead += beatenFrom[p];
    rankByRow.set(sorted[p], ahead + 1);
  }
  return targets.map((t) => rankByRow.get(t)!);
}

/** The best `n` rows in ranking order, skipping `excluded`. */
export function topRows(scores: Float64Array, n: number, excluded?: ReadonlySet<number>): number[] {
  const rows: number[] = [];
  for (let row = 0; row < scores.length; row++) if (!excluded?.has(row)) rows.push(row);
  return rows.sort((a, b) => (before(scores, a, b) ? -1 : 1)).slice(0, n);
}
