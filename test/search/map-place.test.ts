// Placing queries among their neighbours on a map and counting clusters of a group (search/map-place.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { groupClusters, PLACE_NUDGE, placeAmongNeighbours } from "../../plugins/encoder-compare/search/map-place.ts";
import { clusterOverview, groupSentence } from "../../plugins/encoder-compare/render/encoder-map.ts";

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
