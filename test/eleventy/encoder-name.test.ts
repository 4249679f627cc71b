// The words encoderName gives a run (eleventy/encoder-name.ts); test/integration/encoder-name.test.ts builds pages with it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runName } from "../../plugins/encoder-compare/eleventy/encoder-name.ts";

describe("encoderName", () => {
  test("words a run in three forms; a real run is its label alone", () => {
    const standIn = {
      requestedId: "clip-vit-b32",
      ran: { id: "pixels", label: "pixels (16×16 thumbnail)" },
      standingInFor: { id: "clip-vit-b32", label: "CLIP ViT-B/32", kind: "offline-not-cached" as const, reason: "offline and not in the cache" },
    };
    assert.equal(runName(standIn), "pixels (16×16 thumbnail), stand-in for CLIP ViT-B/32");
    assert.equal(runName(standIn, "short"), "pixels (standing in for CLIP ViT-B/32)");
    assert.equal(runName(standIn, "ran"), "pixels (16×16 thumbnail)");
    const real = { requestedId: "phash", ran: { id: "phash", label: "phash (64-bit DCT hash)" } };
    for (const form of ["name", "short", "ran"] as const) assert.equal(runName(real, form), "phash (64-bit DCT hash)");
  });
});
