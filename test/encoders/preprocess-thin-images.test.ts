// Thin images (1×10000, 1×100000 strips) through preprocessing: only the part of the enlarged
// image that survives the centre crop is ever computed, so the work per image stays within a
// fixed pixel budget (injected here, small) instead of growing with the strip's length.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import sharp from "sharp";
import { decodeForModel, type RgbPixels } from "../../plugins/encoder-compare/encoders/preprocess.ts";
import { BUILTIN_ENCODERS, MODEL_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";

/** What the engine passes every decode: the plugin's default pixel limit. */
const DECODE = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };

/** A strip `width` × `height` in bands of 1000 rows centred on multiples of 1000, band k coloured (k·40 mod 256, 200, 100). */
async function strip(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([(Math.floor((y + 500) / 1000) * 40) % 256, 200, 100], (y * width + x) * 3);
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

function rowsAreUniform(pixels: RgbPixels): boolean {
  for (let y = 0; y < pixels.height; y++) {
    const first = pixels.data.subarray(y * pixels.width * 3, y * pixels.width * 3 + 3);
    for (let x = 1; x < pixels.width; x++) {
      const i = (y * pixels.width + x) * 3;
      if (pixels.data[i] !== first[0] || pixels.data[i + 1] !== first[1] || pixels.data[i + 2] !== first[2]) return false;
    }
  }
  return true;
}

// Four times the largest crop (224×224): what a normal image needs, far below a whole enlarged strip.
const BUDGET = 224 * 224 * 4;
const SPECS = [...MODEL_ENCODERS, ...BUILTIN_ENCODERS];

describe("thin images are prepared within a fixed pixel budget", () => {
  for (const height of [10_000, 100_000]) {
    test(`1×${height} strip, every encoder`, async () => {
      const png = await strip(1, height);
      for (const encoder of SPECS) {
        const spec = encoder.preprocess;
        const pixels = await decodeForModel(png, spec, { ...DECODE, maxWorkPixels: BUDGET });
        const expected = [spec.cropWidth, spec.cropHeight, spec.cropWidth * spec.cropHeight * 3];
        assert.deepEqual([pixels.width, pixels.height, pixels.data.length], expected, encoder.id);
        // A one-pixel-wide source enlarged sideways gives rows of one colour each.
        assert.ok(rowsAreUniform(pixels), encoder.id);
        if (spec.resizeMode === "shortest-edge") {
          // The centre crop lies inside the middle band: one colour, the middle band's.
          const band = Math.floor((height / 2 + 500) / 1000);
          assert.deepEqual([...pixels.data.subarray(0, 3)], [(band * 40) % 256, 200, 100], encoder.id);
        }
      }
    });
  }

  test("a sideways strip (100000×1) is cropped before it is enlarged too", async () => {
    const png = await sharp(Buffer.alloc(100_000 * 3, 90), { raw: { width: 100_000, height: 1, channels: 3 } }).png().toBuffer();
    const pixels = await decodeForModel(png, MODEL_ENCODERS[0].preprocess, { ...DECODE, maxWorkPixels: BUDGET });
    assert.equal(pixels.data.length, 224 * 224 * 3);
    assert.ok(pixels.data.every((v) => v === 90));
  });

  test("work beyond the budget is refused with a reason, not attempted", async () => {
    const png = await strip(1, 10_000);
    // The pixels baseline squashes the whole strip, so all 10000 rows are decoded.
    await assert.rejects(
      decodeForModel(png, BUILTIN_ENCODERS[0].preprocess, { ...DECODE, maxWorkPixels: 5_000 }),
      /image is 1×10000; .*over the 5000 limit \(aspect ratio too extreme\)/,
    );
  });
});
