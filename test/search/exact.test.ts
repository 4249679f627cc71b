// Exact search (search/exact.ts) with rows whose score is not a number.
import assert from "node:assert/strict";
import { test } from "node:test";
import { exactSearch } from "../../plugins/encoder-compare/search/exact.ts";
import { ranksOf } from "../../plugins/encoder-compare/search/ranking.ts";

test("rows whose score is not a number are never ranked, and rank after every real one", () => {
  const dim = 2;
  const vectors = Float32Array.from([1, 0, Number.NaN, 0, 0.5, 0.5, Number.POSITIVE_INFINITY, 0]);
  const query = Float64Array.from([1, 0]);
  assert.deepEqual(exactSearch(vectors, 4, query, 4, undefined).map((hit) => hit.id), [0, 2]);
  const scores = Float64Array.from([1, Number.NaN, 0.5, Number.POSITIVE_INFINITY]);
  assert.deepEqual(ranksOf(scores, [0, 2, 1]), [1, 2, 3]);
});
