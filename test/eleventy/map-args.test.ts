// encoderMap's arguments (eleventy/map-args.ts) read with the same keyword parsers as encoderCompare: what a post
// writes means the same in both shortcodes, down to the Unicode form of a group name.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseMapArgs } from "../../plugins/encoder-compare/eleventy/map-args.ts";
import { parseCompareArgs } from "../../plugins/encoder-compare/eleventy/shortcode-args.ts";

const defaults = { k: 3, maxK: 50, encoders: ["pixels"], dataset: "data", includeSelf: false, knownEncoders: ["pixels", "phash"] };
const kw = (keywords: Record<string, unknown>) => ({ ...keywords, __keywords: true });

describe("parseMapArgs", () => {
  // Groups are stored in NFC when a dataset is read; a post may be typed in decomposed form.
  const spellings: Array<[string, string]> = [
    ["café (e + combining acute)", "cafe\u0301"],
    ["한국 (Hangul jamo)", "\u1112\u1161\u11ab\u1100\u116e\u11a8"],
    ["Ångström (A + ring, o + diaeresis)", "A\u030angstro\u0308m"],
  ];
  for (const [name, written] of spellings) {
    test(`expect= in decomposed form is compared in NFC, as encoderCompare does: ${name}`, () => {
      const map = parseMapArgs(["q.png", kw({ expect: written })], defaults);
      assert.deepEqual(map.expect, [written.normalize("NFC")]);
      assert.deepEqual(map.expect, parseCompareArgs(["q.png", kw({ expect: written })], defaults).expect);
    });
  }

  test("two spellings of one group are one group", () => {
    assert.deepEqual(parseMapArgs(["q.png", kw({ expect: ["café", "cafe\u0301"] })], defaults).expect, ["café"]);
  });

  test("queries, includeSelf and k read as encoderCompare reads them", () => {
    const args = [["a.png", "b.png"], "c.png", kw({ includeSelf: true, k: "5", encoders: "phash" })];
    const map = parseMapArgs(args, defaults);
    const compare = parseCompareArgs(args, defaults);
    assert.deepEqual(
      [map.queries, map.includeSelf, map.k, map.encoders],
      [compare.queries, compare.includeSelf, compare.k, compare.encoders],
    );
    assert.throws(() => parseMapArgs([kw({ includeSelf: "yes" })], defaults), /includeSelf must be true or false, got "yes"/);
    assert.throws(() => parseMapArgs([""], defaults), /query images must be non-empty path strings, got ""/);
  });

  test("a map without queries is a map of the dataset; expect= then has nothing to mark", () => {
    assert.deepEqual(parseMapArgs([], defaults).queries, []);
    assert.throws(() => parseMapArgs([kw({ expect: "dog" })], defaults), /expect= marks a query's neighbours/);
  });
});
