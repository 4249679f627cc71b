// Which encoders a page's shortcodes ask for (eleventy/page-stand-ins.ts), read from the page's source.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodersInSource } from "../../plugins/encoder-compare/eleventy/page-stand-ins.ts";

describe("display strings of an encoder run", () => {
  test("page data finds the encoders a page's shortcodes ask for", () => {
    const source = `<% encoderCompare "a.png", encoders=["clip-vit-b32"] %>\n<% encoderEval k=3 %>\n<% encoderScoreboard "a.png", encoders="phash,nope" %>`;
    assert.deepEqual(encodersInSource(source, ["bit-m-r50x1"], ["clip-vit-b32", "bit-m-r50x1", "phash"]), ["clip-vit-b32", "bit-m-r50x1", "phash"]);
    assert.deepEqual(encodersInSource("no shortcodes", ["pixels"], ["pixels"]), []);
  });
});
