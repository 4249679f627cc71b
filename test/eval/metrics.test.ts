// Retrieval metrics (eval/metrics.ts), checked against hand-computed values.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { leaveOneOutQueries, queryMetrics, relevantRanksIn, summarize } from "../../plugins/encoder-compare/eval/metrics.ts";

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);

describe("queryMetrics", () => {
  test("relevant at ranks 1, 3, 6 of 4 relevant, k = 5", () => {
    // In the top 5: ranks 1 and 3 → P@5 = 2/5, R@5 = 2/4.
    // AP = (1/1 + 2/3 + 3/6 + 0) / 4 = (1 + 0.6667 + 0.5) / 4 = 0.541666…
    const m = queryMetrics([1, 3, 6], 4, 5);
    close(m.precisionAtK, 0.4, "P@5");
    close(m.recallAtK, 0.5, "R@5");
    close(m.averagePrecision, (1 + 2 / 3 + 0.5) / 4, "AP");
    assert.equal(m.firstRelevantRank, 1);
    assert.equal(m.reciprocalRank, 1);
    assert.equal(m.hitAt1, 1);
  });

  test("first relevant at rank 4, k = 3: nothing in the top 3", () => {
    // AP = (1/4 + 2/10) / 2 = 0.225; RR = 0.25.
    const m = queryMetrics([4, 10], 2, 3);
    assert.equal(m.precisionAtK, 0);
    assert.equal(m.recallAtK, 0);
    close(m.averagePrecision, 0.225, "AP");
    assert.equal(m.firstRelevantRank, 4);
    assert.equal(m.reciprocalRank, 0.25);
    assert.equal(m.hitAt1, 0);
  });

  test("a perfect ranking scores 1 everywhere it can; P@k is capped by the group size", () => {
    const m = queryMetrics([1, 2], 2, 10);
    assert.equal(m.averagePrecision, 1);
    assert.equal(m.recallAtK, 1);
    close(m.precisionAtK, 0.2, "P@10 with only 2 relevant");
  });

  test("a cut-off ranking counts relevant items never reached as 0 precision", () => {
    const m = queryMetrics([2], 3, 5);
    close(m.averagePrecision, 0.5 / 3, "AP");
    close(m.recallAtK, 1 / 3, "R@5");
    assert.equal(queryMetrics([], 3, 5).firstRelevantRank, null);
    assert.equal(queryMetrics([], 3, 5).reciprocalRank, 0);
  });

  test("rejects ranks that are not ascending, or more ranks than relevant items", () => {
    assert.throws(() => queryMetrics([3, 1], 2, 5), /ascending/);
    assert.throws(() => queryMetrics([1, 1], 2, 5), /ascending/);
    assert.throws(() => queryMetrics([1, 2, 3], 2, 5), /3 relevant ranks given for 2/);
    assert.throws(() => queryMetrics([1], 0, 5), /at least one relevant/);
    assert.throws(() => queryMetrics([1], 1, 0), /k must be/);
  });
});

describe("summarize and relevantRanksIn", () => {
  test("means over queries, hand-computed", () => {
    const a = queryMetrics([1, 3, 6], 4, 5);
    const b = queryMetrics([4, 10], 2, 5);
    const s = summarize([a, b], 5);
    assert.equal(s.queries, 2);
    close(s.precisionAtK, (0.4 + 0.2) / 2, "mean P@5");
    close(s.recallAtK, (0.5 + 0.5) / 2, "mean R@5");
    close(s.meanAveragePrecision, ((1 + 2 / 3 + 0.5) / 4 + 0.225) / 2, "mAP");
    close(s.hitAt1, 0.5, "hit@1");
    close(s.meanReciprocalRank, (1 + 0.25) / 2, "MRR");
    assert.equal(summarize([], 5).meanAveragePrecision, 0);
  });

  test("relevantRanksIn gives 1-based positions of matching items", () => {
    assert.deepEqual(relevantRanksIn(["a", "x", "a", "y", "a"], (s) => s === "a"), [1, 3, 5]);
  });
});

describe("leaveOneOutQueries", () => {
  test("every member of a group of ≥ 2 is a query; singletons and unlabelled items are not", () => {
    const queries = leaveOneOutQueries(["dog", "cat", undefined, "dog", "frog", "dog", "cat"]);
    assert.deepEqual(queries, [
      { item: 0, group: "dog", relevant: [3, 5] },
      { item: 1, group: "cat", relevant: [6] },
      { item: 3, group: "dog", relevant: [0, 5] },
      { item: 5, group: "dog", relevant: [0, 3] },
      { item: 6, group: "cat", relevant: [1] },
    ]);
  });
});
