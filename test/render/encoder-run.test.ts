// How an encoder run is worded on a page (render/encoder-run.ts): stand-ins, merged runs, reasons in plain words.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ModelUnavailableKind } from "../../plugins/encoder-compare/models/model-file.ts";
import { describeRun, mergeRuns, plainReason, standInNotice } from "../../plugins/encoder-compare/render/encoder-run.ts";

const clip = { id: "clip-vit-b32", label: "CLIP ViT-B/32", kind: "unreachable" as const, reason: "cannot reach huggingface.co (ENOTFOUND)" };
const pixels = { id: "pixels", label: "pixels (16×16 thumbnail)" };

describe("display strings of an encoder run", () => {
  test("a stand-in: what ran leads, the mark follows, the reason in words, the detail in the title", () => {
    const d = describeRun({ ran: pixels, standingInFor: [clip] });
    assert.equal(d.name, "pixels (16×16 thumbnail), stand-in for CLIP ViT-B/32");
    assert.equal(d.shortName, "pixels (stand-in for clip-vit-b32)");
    assert.equal(d.reason, "the model hub could not be reached");
    assert.equal(
      d.html,
      `<span class="ec-encoder">pixels (16×16 thumbnail)</span> ` +
        `<span class="ec-standin" title="the model hub could not be reached (CLIP ViT-B/32: cannot reach huggingface.co (ENOTFOUND))">` +
        `stand-in for CLIP ViT-B/32</span>`,
    );
    assert.deepEqual(describeRun({ ran: pixels, standingInFor: [] }), {
      id: "pixels",
      label: pixels.label,
      mark: "",
      name: pixels.label,
      shortName: "pixels",
      reason: "",
      detail: "",
      html: `<span class="ec-encoder">pixels (16×16 thumbnail)</span>`,
    });
  });

  test("a stand-in that duplicates a listed encoder becomes one entry saying both", () => {
    const runs = mergeRuns([
      { requestedId: "clip-vit-b32", ran: pixels, standingInFor: clip },
      { requestedId: "phash", ran: { id: "phash", label: "phash" } },
      { requestedId: "pixels", ran: pixels },
    ]);
    assert.deepEqual(runs.map((r) => [r.ran.id, r.requestedIds, describeRun(r).shortName]), [
      ["pixels", ["clip-vit-b32", "pixels"], "pixels (also standing in for clip-vit-b32)"],
      ["phash", ["phash"], "phash"],
    ]);
  });

  test("reasons from the model loader in plain words", () => {
    const cases: Array<[ModelUnavailableKind, string]> = [
      ["offline-not-cached", "the build ran offline and the model was not in the cache"],
      ["offline-cache-unusable", "the build ran offline and the cached model file could not be used"],
      ["unreachable", "the model hub could not be reached"],
      ["http-status", "the model hub did not serve the file"],
      ["checksum-mismatch", "the downloaded model did not match its pinned checksum"],
      ["cache-unwritable", "the model cache could not be written"],
      ["connection-lost", "the model could not be downloaded"],
    ];
    for (const [technical, plain] of cases) assert.equal(plainReason(technical), plain, technical);
  });

  test("the page notice names every replaced model once", () => {
    const bit = { id: "bit-m-r50x1", label: "BiT-M R50x1", kind: "unreachable" as const, reason: "cannot reach huggingface.co (ECONNREFUSED)" };
    const notice = standInNotice([clip, bit]);
    assert.equal(
      notice?.text,
      "Built with stand-ins for CLIP ViT-B/32 and BiT-M R50x1: the model hub could not be reached, so their tables show simple built-in encoders instead.",
    );
    assert.equal(standInNotice([]), undefined);
  });
});
