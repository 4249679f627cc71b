// Names of the images a result table links to (render/result-images.ts): content-hashed, in a format browsers show.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fullImageName } from "../../plugins/encoder-compare/render/result-images.ts";

describe("full-size images", () => {
  const sha = "ab".repeat(32);
  test("are named by content hash and keep a format browsers show", () => {
    assert.equal(fullImageName(sha, "/d/x.png", "png"), `full-${"ab".repeat(8)}.png`);
    assert.equal(fullImageName(sha, "/d/X.JPG", "jpeg"), `full-${"ab".repeat(8)}.jpg`);
    assert.equal(fullImageName(sha, "/d/scan.tiff", "tiff"), `full-${"ab".repeat(8)}.webp`);
    // The content decides: an SVG named .png is re-encoded, a PNG named .gif keeps ".png".
    assert.equal(fullImageName(sha, "/d/x.png", "svg"), `full-${"ab".repeat(8)}.webp`);
    assert.equal(fullImageName(sha, "/d/x.gif", "png"), `full-${"ab".repeat(8)}.png`);
  });
});
