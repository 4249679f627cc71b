// The disagreement rows of an evaluation (render/disagreements.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { renderDisagreements } from "../../plugins/encoder-compare/render/disagreements.ts";
import { joinRegExp } from "../support/regexp.ts";

const clip = { id: "clip-vit-b32", label: "CLIP ViT-B/32", kind: "unreachable" as const, reason: "cannot reach huggingface.co (ENOTFOUND)" };
const pixels = { id: "pixels", label: "pixels (16×16 thumbnail)" };

describe("renderDisagreements", () => {
  test("scores, links, a styled group label, marks and tallies; the stand-in leads its column", () => {
    const image = { name: "t.webp", name2x: "t@2x.webp", width: 8, height: 8 };
    const html = renderDisagreements({
      pair: [
        { requestedId: "clip-vit-b32", ran: pixels, standingInFor: [clip] },
        { requestedId: "phash", ran: { id: "phash", label: "phash" }, standingInFor: [] },
      ],
      datasetName: "set",
      shown: 1,
      urlBase: "/ec/",
      rows: [
        {
          queryId: "cheese--twitter",
          queryCaption: "Cheese <b>",
          group: "cheese",
          queryImage: image,
          queryFullImage: "q.png",
          columns: [
            { encoderId: "clip-vit-b32", firstRelevantRank: 434, results: [{ rank: 1, score: 0.5, caption: "Fire", fullImage: "f.png", group: "fire" }] },
            { encoderId: "phash", firstRelevantRank: 1, results: [{ rank: 1, score: -0.25, caption: "Cheese", fullImage: "c.png", group: "cheese" }] },
          ],
        },
      ],
    });
    const start = html.indexOf("<tr data-query");
    const row = html.slice(start, html.indexOf("</tr>", start) + 5);
    assert.equal(
      row,
      [
        `<tr data-query="cheese--twitter">`,
        `<td class="ec-query"><a href="/ec/q.png"><img class="ec-query-image" src="/ec/t.webp" srcset="/ec/t.webp 1x, /ec/t@2x.webp 2x" ` +
          `width="8" height="8" alt="Cheese &lt;b&gt;" loading="lazy" decoding="async"></a>` +
          `<p><span class="ec-caption">Cheese &lt;b&gt;</span> ` +
          `<span class="ec-group"><span class="ec-group-word">group</span> <span class="ec-group-name">cheese</span></span></p></td>`,
        `<td class="ec-results">`,
        `<p class="ec-first-relevant">First cheese result under pixels (16×16 thumbnail): #434</p>`,
        `<ol class="ec-hits">`,
        `<li class="ec-miss"><span class="ec-mark" aria-hidden="true">✗</span><span class="ec-sr">not a match: </span>` +
          `<a class="ec-caption" href="/ec/f.png">Fire</a> <span class="ec-score">cosine <data value="0.500">0.500</data></span></li>`,
        `</ol>`,
        `<p class="ec-tally">0 of 1 result is cheese</p>`,
        `</td>`,
        `<td class="ec-results">`,
        `<p class="ec-first-relevant">First cheese result under phash: #1</p>`,
        `<ol class="ec-hits">`,
        `<li class="ec-match"><span class="ec-mark" aria-hidden="true">✓</span><span class="ec-sr">match: </span>` +
          `<a class="ec-caption" href="/ec/c.png">Cheese</a> <span class="ec-score">cosine <data value="-0.250">-0.250</data></span></li>`,
        `</ol>`,
        `<p class="ec-tally">1 of 1 result is cheese</p>`,
        `</td>`,
        `</tr>`,
      ].join("\n"),
    );
    assert.match(
      html,
      joinRegExp(
        /<thead><tr><th scope="col">Query<\/th><th scope="col">/,
        /<span class="ec-encoder">pixels \(16×16 thumbnail\)<\/span> <span class="ec-standin" [^>]*>stand-in for CLIP ViT-B\/32<\/span><\/th>/,
      ),
    );
  });
});
