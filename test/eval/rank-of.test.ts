// rankOf and firstMatchRank read the cosines a caller already computed (the page asking both scores the dataset once),
// and rank exactly as when they score it themselves.
import assert from "node:assert/strict";
import { test } from "node:test";
import { firstMatchRank, queryScores, rankOf, type RankedRows } from "../../plugins/encoder-compare/eval/rank-of.ts";

const rows: RankedRows = {
  dataset: {
    name: "tiny",
    images: [
      { id: "a", sha256: "sa", group: "g" },
      { id: "b", sha256: "sb", group: "h" },
      { id: "c", sha256: "sc", group: "g" },
      { id: "d", sha256: "sd" },
    ],
  },
  dim: 2,
  vectors: new Float32Array([1, 0, 0.8, 0.6, 0.6, 0.8, 0, 1]),
};
const result = { query: { sha256: "sa" }, vector: new Float32Array([0, 1]), selfExcluded: true };

test("ranks from passed scores equal ranks scored inside", () => {
  const scores = queryScores(rows, result);
  assert.deepEqual(rankOf(rows, result, "b", scores), rankOf(rows, result, "b"));
  assert.deepEqual(rankOf(rows, result, "b"), { rank: 3, score: scores[1] });
  assert.equal(firstMatchRank(rows, result, ["g"], scores), firstMatchRank(rows, result, ["g"]));
  assert.equal(firstMatchRank(rows, result, ["g"]), 2);
  assert.deepEqual(rankOf(rows, result, "a", scores), { self: true });
});

test("the passed scores are the ones ranked", () => {
  const reversed = Float64Array.from(queryScores(rows, result), (score) => -score);
  assert.equal(rankOf(rows, result, "b", reversed).rank, 1);
  assert.equal(rankOf(rows, result, "d", reversed).rank, 3);
  assert.equal(firstMatchRank(rows, result, ["h"], reversed), 1);
});
