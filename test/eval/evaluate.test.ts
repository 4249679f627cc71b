// evaluateEncoders (eval/evaluate.ts) against a brute-force ranking of the engine's own vectors.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { CompareEngine } from "../../plugins/encoder-compare/engine/compare-engine.ts";
import { evaluateEncoders, largestDisagreements } from "../../plugins/encoder-compare/eval/evaluate.ts";
import { testEngine } from "../support/engine.ts";
import { writeEvalDataset } from "../support/eval-dataset.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/eval-evaluate");
const DATA = path.join(WORK, "dataset");

const writeDataset = () => writeEvalDataset(WORK, DATA);

function engine(): CompareEngine {
  return testEngine(WORK, { batchSize: 8, modelsDir: path.join(WORK, "no-models") });
}

/** Brute force: ranks (1-based) of the query's group mates when every other row is sorted by (score desc, row asc). */
function bruteForceRanks(vectors: Float32Array, dim: number, groups: Array<string | undefined>, query: number): number[] {
  const score = (row: number) => {
    let s = 0;
    for (let i = 0; i < dim; i++) s += vectors[row * dim + i] * vectors[query * dim + i];
    return s;
  };
  const order = groups
    .map((_, row) => row)
    .filter((row) => row !== query)
    .map((row) => ({ row, s: score(row) }))
    .sort((a, b) => b.s - a.s || a.row - b.row);
  return order.flatMap((o, i) => (groups[o.row] === groups[query] ? [i + 1] : []));
}

before(writeDataset);

after(() => fs.rmSync(WORK, { recursive: true, force: true }));

describe("evaluateEncoders", () => {
  test("metrics match a brute-force ranking of the engine's own vectors", async () => {
    const e = engine();
    const { report } = await evaluateEncoders(e, DATA, ["pixels", "phash"], { k: 3 });
    assert.deepEqual(report.dataset, { name: "dataset", images: 17, queries: 15, groups: 5, unlabelled: 1, singletons: 1 });
    for (const encoder of report.encoders) {
      const { dataset, dim, vectors } = await e.datasetVectors(encoder.encoderId, DATA);
      const groups = dataset.images.map((i) => i.group);
      let sumP = 0;
      let sumAP = 0;
      let sumRR = 0;
      let hits = 0;
      for (const q of encoder.queries) {
        const row = dataset.images.findIndex((i) => i.id === q.id);
        const ranks = bruteForceRanks(vectors, dim, groups, row);
        const ap = ranks.reduce((sum, rank, i) => sum + (i + 1) / rank, 0) / ranks.length;
        assert.equal(q.relevant, 2);
        assert.equal(q.firstRelevantRank, ranks[0], `${encoder.encoderId} ${q.id}`);
        assert.ok(Math.abs(q.averagePrecision - ap) < 1e-12);
        sumP += ranks.filter((r) => r <= 3).length / 3;
        sumAP += ap;
        sumRR += 1 / ranks[0];
        hits += ranks[0] === 1 ? 1 : 0;
      }
      const n = encoder.queries.length;
      assert.ok(Math.abs(encoder.summary.precisionAtK - sumP / n) < 1e-12);
      assert.ok(Math.abs(encoder.summary.meanAveragePrecision - sumAP / n) < 1e-12);
      assert.ok(Math.abs(encoder.summary.meanReciprocalRank - sumRR / n) < 1e-12);
      assert.equal(encoder.summary.hitAt1, hits / n);
    }
    await e.close();
  });

  test("topResults agree with the search the shortcode uses; disagreements are sorted by rank gap", async () => {
    const e = engine();
    const evaluation = await evaluateEncoders(e, DATA, ["pixels", "phash"], { k: 3 });
    for (const id of ["dog-face--google", "apple--mirror"]) {
      const query = await e.query("pixels", DATA, path.join(DATA, `images/${id}.png`), { k: 4, includeSelf: false });
      assert.deepEqual(
        evaluation.topResults("pixels", id, 4).map((r) => [r.image.id, r.score]),
        query.hits.map((h) => [h.image.id, h.score]),
      );
    }
    const gaps = largestDisagreements(evaluation.report, ["pixels", "phash"], 20).map((d) => Math.abs(d.ranks[0] - d.ranks[1]));
    assert.deepEqual(gaps, [...gaps].sort((a, b) => b - a));
    assert.ok(gaps.every((g) => g > 0));
    await e.close();
  });
});
