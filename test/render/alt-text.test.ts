// Alt text, tallies and captions read as English (render/alt-text.ts, render/relevance.ts, the demo dataset's captions).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { humanFileName } from "../../plugins/encoder-compare/render/alt-text.ts";
import { tallySentence } from "../../plugins/encoder-compare/render/relevance.ts";
import { withArticle } from "../../scripts/make-demo-dataset.ts";

describe("display strings of an encoder run", () => {
  test("alt text, tallies and captions read as English", () => {
    assert.equal(humanFileName("inputs/buff-doge.png"), "Buff doge");
    assert.equal(humanFileName("IMG_0042.final.jpeg"), "IMG 0042 final");
    assert.equal(tallySentence([{ group: "dog" }, { group: "cat" }, {}], { groups: ["dog"] }), "1 of 3 results are dog");
    assert.equal(tallySentence([{ group: "dog" }], { groups: ["dog", "cat"] }), "1 of 1 result is dog or cat");
    assert.deepEqual(["orange", "teal", "apple", "blue"].map(withArticle), ["an orange", "a teal", "an apple", "a blue"]);
  });
});
