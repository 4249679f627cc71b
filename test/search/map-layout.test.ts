// Laying out an encoder map (search/map-layout.ts): seeded, faithful to the neighbours it claims, PCA first.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { seededRandom } from "../../plugins/encoder-compare/base/seeded-random.ts";
import { layoutMap, MAP_SIZE, type MapLayoutOptions, measureFaithfulness, pcaProject } from "../../plugins/encoder-compare/search/map-layout.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";

const OPTIONS: MapLayoutOptions = {
  seed: DEFAULTS.map.mapSeed,
  nNeighbors: DEFAULTS.map.mapNeighbors,
  minDist: DEFAULTS.map.mapMinDist,
  epochs: DEFAULTS.map.mapEpochs,
  pcaDims: DEFAULTS.map.mapPcaDims,
  pcaFrom: DEFAULTS.map.mapPcaFrom,
  faithfulnessK: DEFAULTS.map.mapFaithfulnessK,
  faithfulnessSample: DEFAULTS.map.mapFaithfulnessSample,
};

/** n unit vectors of `dim` values in `clusters` tight clusters (row i in cluster i % clusters). */
function clustered(n: number, dim: number, clusters: number, seed = 3): Float32Array {
  const random = seededRandom(seed);
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dim }, () => random() - 0.5));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += (out[i * dim + d] = centres[i % clusters][d] + (random() - 0.5) * 0.3) ** 2;
    for (let d = 0; d < dim; d++) out[i * dim + d] /= Math.sqrt(norm);
  }
  return out;
}

/** The same measure written out plainly: every pair's cosine and map distance, sorted. */
function recount(vectors: Float32Array, dim: number, xy: readonly number[], k: number): number {
  const n = xy.length / 2;
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const rows = [...Array(n).keys()].filter((j) => j !== i);
    const cos = (j: number) => rows.length && [...Array(dim).keys()].reduce((s, d) => s + vectors[i * dim + d] * vectors[j * dim + d], 0);
    const space = rows.map((j) => [cos(j), j]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map((e) => e[1]);
    const distance = (j: number) => Math.hypot(xy[2 * i] - xy[2 * j], xy[2 * i + 1] - xy[2 * j + 1]);
    const map = new Set(rows.map((j) => [distance(j), j]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, k).map((e) => e[1]));
    kept += space.filter((j) => map.has(j)).length;
  }
  return kept / (k * n);
}

describe("map layout", () => {
  test("the same seed gives the same positions; another seed other positions; all inside the square", () => {
    const vectors = clustered(120, 32, 6);
    const a = layoutMap(vectors, 120, 32, OPTIONS);
    const b = layoutMap(vectors, 120, 32, OPTIONS);
    assert.deepEqual(a, b);
    const c = layoutMap(vectors, 120, 32, { ...OPTIONS, seed: OPTIONS.seed + 1 });
    assert.notDeepEqual(c.xy, a.xy);
    assert.ok(a.xy.every((v) => v >= 0 && v <= MAP_SIZE && Math.round(v * 10) === v * 10));
    // Tight, separate clusters in the space stay together on the map: a point's nearest on the map are its cluster's.
    let same = 0;
    for (let i = 0; i < 120; i++) {
      const order = [...Array(120).keys()].filter((j) => j !== i);
      const distance = (j: number) => Math.hypot(a.xy[2 * i] - a.xy[2 * j], a.xy[2 * i + 1] - a.xy[2 * j + 1]);
      order.sort((p, q) => distance(p) - distance(q));
      same += order.slice(0, 5).filter((j) => j % 6 === i % 6).length;
    }
    assert.ok(same / (5 * 120) > 0.95, `${same} of ${5 * 120} map neighbours share the cluster`);
    assert.ok(a.faithfulness.share > 0.4, `faithfulness ${a.faithfulness.share}`);
  });

  test("faithfulness equals a plain recount, for a good map and for an unrelated one", () => {
    const vectors = clustered(90, 24, 5, 11);
    const layout = layoutMap(vectors, 90, 24, OPTIONS);
    assert.equal(layout.faithfulness.measuredOn, 90);
    assert.ok(Math.abs(layout.faithfulness.share - recount(vectors, 24, layout.xy, 10)) < 1e-12);
    const random = seededRandom(5);
    const scrambled = Array.from({ length: 180 }, () => Math.round(random() * 10000) / 10);
    const f = measureFaithfulness(vectors, 24, scrambled, [...Array(90).keys()], 10);
    assert.ok(Math.abs(f.share - recount(vectors, 24, scrambled, 10)) < 1e-12);
    assert.ok(f.share < 0.3 && f.chance === 10 / 89, JSON.stringify(f));
  });

  test("a faithfulness figure measured on a sample says how many points it was measured on, of how many", () => {
    const vectors = clustered(200, 16, 4, 2);
    const layout = layoutMap(vectors, 200, 16, { ...OPTIONS, faithfulnessSample: 50 });
    assert.equal(layout.faithfulness.measuredOn, 50);
    assert.equal(layout.faithfulness.of, 200);
  });

  test("PCA keeps the distances of data that lies in a few dimensions, and the graph is then computed there", () => {
    const random = seededRandom(9);
    const n = 60;
    const dim = 100;
    const basis = Array.from({ length: 4 }, () => Array.from({ length: dim }, () => random() - 0.5));
    const vectors = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) for (let b = 0; b < 4; b++) {
      const w = random() - 0.5;
      for (let d = 0; d < dim; d++) vectors[i * dim + d] += w * basis[b][d];
    }
    const projected = pcaProject(vectors, n, dim, 8, seededRandom(1));
    for (const [i, j] of [[0, 1], [5, 40], [17, 59]]) {
      let full = 0;
      for (let d = 0; d < dim; d++) full += (vectors[i * dim + d] - vectors[j * dim + d]) ** 2;
      const low = projected[i].reduce((s, v, c) => s + (v - projected[j][c]) ** 2, 0);
      assert.ok(Math.abs(Math.sqrt(full) - Math.sqrt(low)) < 1e-4, `${Math.sqrt(full)} vs ${Math.sqrt(low)}`);
    }
    const cl = clustered(80, 64, 4);
    const layout = layoutMap(cl, 80, 64, { ...OPTIONS, pcaDims: 10, pcaFrom: 50 });
    assert.equal(layout.graphDims, 10);
    assert.ok(Math.abs(layout.faithfulness.share - recount(cl, 64, layout.xy, 10)) < 1e-12, "measured in the full space");
  });

  test("tiny datasets lay out without failing", () => {
    for (const n of [1, 2, 3, 5, 16]) {
      const layout = layoutMap(clustered(n, 8, 2), n, 8, OPTIONS);
      assert.equal(layout.xy.length, 2 * n);
      assert.ok(layout.xy.every(Number.isFinite));
      assert.equal(layout.faithfulness.k, Math.min(10, Math.max(0, n - 1)));
    }
  });
});
