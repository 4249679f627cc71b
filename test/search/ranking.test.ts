// Ranking helpers (search/ranking.ts): ranks against a full sort, ties to the smaller row, dot products.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ranksOf, scoreRows, topRows } from "../../plugins/encoder-compare/search/ranking.ts";

describe("ranking helpers", () => {
  test("ranksOf matches a full sort, ties going to the smaller row, excluded rows skipped", () => {
    const scores = Float64Array.from([0.5, 0.9, 0.5, 0.1, 0.9, 0.7, 0.5]);
    // Full order by (score desc, row asc): 1, 4, 5, 0, 2, 6, 3. Excluding row 4: 1, 5, 0, 2, 6, 3.
    assert.deepEqual(ranksOf(scores, [0, 2, 6, 3]), [4, 5, 6, 7]);
    assert.deepEqual(ranksOf(scores, [6, 1, 0], new Set([4])), [5, 1, 3]);
    assert.deepEqual(topRows(scores, 3, new Set([4])), [1, 5, 0]);
    assert.throws(() => ranksOf(scores, [4], new Set([4])), /excluded/);
  });

  test("ranksOf agrees with sorting on random data with many ties", () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + Math.floor(random() * 40);
      const scores = Float64Array.from({ length: n }, () => Math.round(random() * 5) / 5);
      const excluded = new Set([...Array(n).keys()].filter(() => random() < 0.2));
      const order = [...Array(n).keys()].filter((r) => !excluded.has(r)).sort((a, b) => scores[b] - scores[a] || a - b);
      const targets = order.filter(() => random() < 0.5);
      assert.deepEqual(ranksOf(scores, targets, excluded), targets.map((t) => order.indexOf(t) + 1));
      assert.deepEqual(topRows(scores, 4, excluded), order.slice(0, 4));
    }
  });

  test("scoreRows is the dot product of each row with the query", () => {
    const vectors = Float32Array.from([1, 0, 0, 1, 0.6, 0.8]);
    assert.deepEqual([...scoreRows(vectors, 2, Float32Array.from([0.6, 0.8]))].map((s) => Number(s.toFixed(6))), [0.6, 0.8, 1]);
    assert.throws(() => scoreRows(vectors, 2, Float32Array.from([1, 0, 0])), /dimension 3/);
  });
});
