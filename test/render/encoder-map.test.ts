// Drawing an encoder map (render/encoder-map.ts): every dataset string escaped, colours for groups.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { groupClusters } from "../../plugins/encoder-compare/search/map-place.ts";
import { type MapPanel, renderEncoderMaps } from "../../plugins/encoder-compare/render/encoder-map.ts";

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
