// How often the configured index finds what exact search finds: rows of the folder itself serve as
// queries (their own row left out of both answers), exact search scans every row once for all of
// them together, and the indexed search is the one tables use (candidates from faiss, rescored).
import type { EmbeddingsSearch } from "./embeddings-search.ts";
import { dotRow, TopK } from "./exact.ts";

export interface RecallEstimate {
  k: number;
  /** The rows used as queries, in the order drawn. */
  rows: number[];
  /** Per query: the share of exact search's top k that the indexed search also returned. */
  perQuery: number[];
  /** Mean of perQuery. */
  recall: number;
}

/** recall@k of `search` (which must have an index) against exact search over the same rows, for the given query rows. */
export function estimateRecall(search: EmbeddingsSearch, rows: readonly number[], k: number): RecallEstimate {
  const { folder } = search;
  const want = Math.min(k, folder.rows - 1);
  if (want <= 0 || rows.length === 0) return { k, rows: [...rows], perQuery: [], recall: NaN };
  const queries = rows.map((row) => Float64Array.from(search.vector(row)));
  const exact = rows.map(() => new TopK(want + 1));
  folder.forEachBlock((first, block, count) => {
    for (let i = 0; i < count; i++) {
      for (let q = 0; q < queries.length; q++) exact[q].offer(first + i, dotRow(block, i, queries[q]));
    }
  });
  const perQuery = rows.map((row, q) => {
    const truth = exact[q].sorted().filter((hit) => hit.id !== row).slice(0, want);
    const found = new Set(search.search(Float32Array.from(queries[q]), want + 1).filter((hit) => hit.id !== row).slice(0, want).map((hit) => hit.id));
    return truth.filter((hit) => found.has(hit.id)).length / truth.length;
  });
  return { k: want, rows: [...rows], perQuery, recall: perQuery.reduce((a, b) => a + b, 0) / perQuery.length };
}
