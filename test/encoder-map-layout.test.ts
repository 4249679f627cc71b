// The maps' layout math on vectors made here: the same seed gives the same numbers, faithfulness agrees with a
// count done by sorting, PCA keeps the distances of data that lives in few dimensions, queries land on their
// neighbours even where the map tore them apart, and groups are counted into clusters as the summary says.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { layoutMap, MAP_SIZE, measureFaithfulness, pcaProject, seededRandom, type MapLayoutOptions } from "../plugins/encoder-compare/search/map-layout.ts";
import { groupClusters, placeAmongNeighbours, PLACE_NUDGE } from "../plugins/encoder-compare/search/map-place.ts";
import { clusterOverview, groupSentence, renderEncoderMaps, type MapPanel } from "../plugins/encoder-compare/render/encoder-map.ts";
import { DEFAULTS } from "../plugins/encoder-compare/base/defaults.ts";

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

describe("placing queries and counting clusters", () => {
  test("a query lands on its neighbours, also when they are torn apart (where their mean is empty space)", () => {
    // Ten close neighbours around (100, 100), five weaker ones at (900, 900): the mean lies in between.
    const near = Array.from({ length: 10 }, (_, i) => ({ score: 0.9 - i * 0.001, x: 100 + i, y: 100 - i }));
    const far = Array.from({ length: 5 }, (_, i) => ({ score: 0.5, x: 900 + i, y: 900 }));
    const at = placeAmongNeighbours([...near, ...far]);
    const closest = Math.min(...near.map((n) => Math.hypot(n.x - at.x, n.y - at.y)));
    assert.ok(closest <= PLACE_NUDGE + 0.1, JSON.stringify(at));
    // Two equal halves: it still sits on one of them, not at (500, 500).
    const halves = [...near.slice(0, 5).map((n) => ({ ...n, score: 0.8 })), ...far.map((n) => ({ ...n, score: 0.8 }))];
    const split = placeAmongNeighbours(halves);
    assert.ok(Math.min(...halves.map((n) => Math.hypot(n.x - split.x, n.y - split.y))) <= PLACE_NUDGE + 0.1, JSON.stringify(split));
    assert.deepEqual(placeAmongNeighbours([{ score: 1, x: 300, y: 700 }]), { x: 300, y: 700 });
  });

  test("groups count into clusters by short hops; the sentences say so", () => {
    const points = [
      { x: 0, y: 0, group: "dog" }, { x: 5, y: 0, group: "dog" }, { x: 10, y: 0, group: "dog" }, { x: 500, y: 500, group: "dog" },
      { x: 100, y: 100, group: "cat" }, { x: 300, y: 300, group: "cat" },
      { x: 700, y: 700, group: "owl" }, { x: 702, y: 700, group: "owl" },
      { x: 50, y: 900 },
    ];
    const groups = groupClusters(points, 6);
    assert.deepEqual(groups, [
      { group: "dog", count: 4, clustered: 3 },
      { group: "cat", count: 2, clustered: 1 },
      { group: "owl", count: 2, clustered: 2 },
    ]);
    assert.deepEqual(groups.map(groupSentence), [
      "dog: 4 images, 3 of them within one cluster",
      "cat: 2 images, no two of them within one cluster",
      "owl: 2 images, all 2 within one cluster",
    ]);
    assert.equal(clusterOverview(groups), "Of 3 groups with two or more images, 1 lie within one cluster each and 1 have no two images together.");
  });
});

describe("rendering a map", () => {
  const run = { ran: { id: "pixels", label: "pixels (16×16 thumbnail)" }, standingInFor: [] };
  const base = { datasetName: "set <1>", urlBase: "/ec/", idBase: "ec-map-t", seed: 42 };
  const panel = (points: MapPanel["points"], queries: MapPanel["queries"] = []): MapPanel => ({
    encoderId: "pixels",
    run,
    points,
    queries,
    faithfulness: { k: 2, share: 0.5, measuredOn: points.length, of: points.length, chance: 2 / (points.length - 1) },
    datasetSize: points.length,
    groups: groupClusters(points, 10),
  });

  test("every dataset string is escaped, and the output has no blank line, with and without queries and groups", () => {
    const nasty = `A <b>"bold"</b> & 'quoted'\n\nline`;
    const points = [
      { x: 10, y: 10, caption: nasty, group: `g<1>"`, fullImage: `full-"x".png` },
      { x: 20, y: 10, caption: "plain", group: `g<1>"`, fullImage: "full-2.png" },
      { x: 900, y: 900, caption: "alone" },
    ];
    const query = { label: `q <i>1</i>`, x: 15, y: 15, hits: [{ rank: 1, score: 0.5, point: 0 }], expect: [`g<1>"`], selfExcluded: false };
    for (const input of [panel(points), panel(points, [query]), panel(points.map(({ group: _, ...p }) => p))]) {
      const html = renderEncoderMaps({ ...base, panels: [input] });
      assert.ok(!/\n\s*\n/.test(html), "no blank line");
      assert.ok(!/<b>|<i>|"bold"|"x"/.test(html), html);
      assert.match(html, /&lt;b&gt;&quot;bold&quot;&lt;\/b&gt; &amp; &#39;quoted&#39;&#10;&#10;line/);
    }
    const grouped = renderEncoderMaps({ ...base, panels: [panel(points, [query])] });
    assert.match(grouped, /g&lt;1&gt;&quot;: 2 images, all 2 within one cluster/);
    assert.match(grouped, /aria-label="q &lt;i&gt;1&lt;\/i&gt;, result 1: match: A &lt;b&gt;/);
    const ungrouped = renderEncoderMaps({ ...base, panels: [panel(points.map(({ group: _, ...p }) => p))] });
    assert.match(ungrouped, /No group has two or more images on this map\./);
    assert.match(ungrouped, /no group <span class="ec-count">3<\/span>/);
  });

  test("more groups than colours: the queries' groups are coloured first, the rest share grey as \"other groups\"", () => {
    const points = Array.from({ length: 24 }, (_, i) => ({ x: (i * 37) % 1000, y: (i * 53) % 1000, caption: `p${i}`, group: `g${i % 12}` }));
    const query = { label: "q", x: 1, y: 1, hits: [{ rank: 1, score: 0.9, point: 11 }], expect: ["g11"], selfExcluded: false };
    const html = renderEncoderMaps({ ...base, panels: [panel(points, [query])] });
    const legend = /<ul class="ec-map-legend"[^>]*>(.*?)<\/ul>/.exec(html)![1];
    assert.match(legend, /^<li><span class="ec-swatch ec-g0" style="background:#1f77b4"><\/span>g11 /);
    assert.equal((legend.match(/ec-swatch ec-g\d/g) ?? []).length, 9);
    assert.match(legend, /other groups <span class="ec-count">6<\/span>/);
  });
});
