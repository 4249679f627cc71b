// The comparison table (render/table.ts): links, escaping of every dataset string, and random captions, labels
// and alt texts that must never produce markup of their own.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { escapeHtml } from "../../plugins/encoder-compare/render/escape.ts";
import { renderComparisonTable } from "../../plugins/encoder-compare/render/table.ts";
import { seededRandom } from "../support/prng.ts";

describe("renderComparisonTable", () => {
  const image = { name: "a.webp", name2x: "a@2x.webp", width: 10, height: 10 };
  const html = renderComparisonTable({
    encoderId: "pixels",
    encoderLabel: "pixels <16>",
    note: "stand-in",
    datasetName: "set",
    datasetSize: 3,
    k: 1,
    urlBase: "/ec/",
    rows: [
      {
        queryAlt: `q "1"`,
        queryImage: image,
        queryFullImage: "full-q.png",
        montage: image,
        hits: [{ rank: 1, score: 0.98765, caption: "</td><script>", fullImage: "full-1.png" }],
        selfExcluded: false,
      },
    ],
  });
  test("has no blank lines and escapes dataset text", () => {
    assert.ok(!/\n\s*\n/.test(html));
    assert.ok(!html.includes("<script>"));
    assert.ok(html.includes(`>&lt;/td&gt;&lt;script&gt;</a>`));
    assert.ok(html.includes(`<data value="0.988">0.988</data>`));
    assert.ok(html.includes(`alt="q &quot;1&quot;"`));
  });
  test("links the query, each listed result and each montage tile to the full image", () => {
    assert.ok(html.includes(`<td class="ec-query"><a href="/ec/full-q.png"><img class="ec-query-image"`));
    assert.ok(html.includes(`<li><a class="ec-caption" href="/ec/full-1.png">&lt;/td&gt;&lt;script&gt;</a> <span class="ec-score">`));
    // One tile fills the montage; tile links are hidden from assistive tech (the list has them).
    assert.ok(
      html.includes(
        `<div class="ec-tiles" style="--ec-tile-share:100.000%" aria-hidden="true">` +
          `<a href="/ec/full-1.png" tabindex="-1" title="1. &lt;/td&gt;&lt;script&gt; (cosine 0.988)"></a></div>`,
      ),
    );
  });
  test("without full images, results are plain text", () => {
    const plain = renderComparisonTable({
      encoderId: "x",
      encoderLabel: "x",
      datasetName: "s",
      datasetSize: 2,
      k: 1,
      urlBase: "/",
      rows: [{ queryAlt: "q", queryImage: image, montage: image, hits: [{ rank: 1, score: 1, caption: "c" }], selfExcluded: false }],
    });
    assert.ok(!plain.includes("<a "));
    assert.ok(plain.includes(`<li><span class="ec-caption">c</span>`));
  });
  test("empty results say so", () => {
    const empty = renderComparisonTable({
      encoderId: "x",
      encoderLabel: "x",
      datasetName: "s",
      datasetSize: 0,
      k: 3,
      urlBase: "/",
      rows: [{ queryAlt: "q", queryImage: image, hits: [], selfExcluded: false }],
    });
    assert.ok(empty.includes(`<p class="ec-empty">No results: the dataset has no other images.</p>`));
  });
});

describe("fuzz: HTML escaping", () => {
  const random = seededRandom(7);
  const alphabet = [..."<>&\"'`=/ abc</script><img src=x onerror=alert(1)>\u202e\u05d0\u0627\u{1F436}\n\t", "</td>", "<!--", "]]>", "&amp;", "&#x3C;"];
  const randomText = () => Array.from({ length: 1 + Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
  test("300 random captions, labels and alt texts never produce markup of their own", () => {
    const image = { name: "a.webp", name2x: "a@2x.webp", width: 10, height: 10 };
    for (let i = 0; i < 300; i++) {
      const caption = randomText();
      const label = randomText();
      const alt = randomText();
      const dataset = randomText();
      const html = renderComparisonTable({
        encoderId: "pixels",
        encoderLabel: label,
        datasetName: dataset,
        datasetSize: 1,
        k: 1,
        urlBase: "/x/",
        rows: [{ queryAlt: alt, queryImage: image, montage: image, hits: [{ rank: 1, score: 0.5, caption }], selfExcluded: false }],
      });
      for (const text of [caption, label, dataset]) assert.ok(html.includes(escapeHtml(text)), `missing escaped ${JSON.stringify(text)}`);
      // Remove every attribute value and every escaped text run; no "<" may come from the inputs.
      const tags = html.replace(/"[^"]*"/g, '""').match(/<[^>]*>/g) ?? [];
      for (const tag of tags)
        assert.match(
          tag,
          /^<\/?(table|caption|span|colgroup|col|thead|tr|th|tbody|td|img|ol|ul|li|data|p|a|div|figure|figcaption|strong|em|small|br)( [a-z0-9-]+(="")?)*>$/,
          `unexpected tag ${tag} for ${JSON.stringify({ caption, label, alt, dataset })}`,
        );
      assert.ok(!/\n\s*\n/.test(html));
    }
  });
});
