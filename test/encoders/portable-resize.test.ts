// The portable resize the browser runs (encoders/portable-resize.ts) gives the build's geometry.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import sharp from "sharp";
import { flattenRgba, portableGeometry } from "../../plugins/encoder-compare/encoders/portable-resize.ts";
import { decodeForModel } from "../../plugins/encoder-compare/encoders/preprocess.ts";
import { BUILTIN_ENCODERS, MODEL_ENCODERS, PRESETS_2021 } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { PreprocessSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import { seededRandom } from "../support/prng.ts";

/** What the engine passes every decode: the plugin's default pixel limit. */
const DECODE = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };

describe("portable geometry (what the browser runs) equals the build's", () => {
  const specs: Array<[string, PreprocessSpec]> = [
    ...BUILTIN_ENCODERS.map((e): [string, PreprocessSpec] => [e.id, e.preprocess]),
    ...MODEL_ENCODERS.map((e): [string, PreprocessSpec] => [e.id, { ...e.preprocess, portableResize: true }]),
    // Geometry only: a browser cannot decode as Pillow did (its canvas loses the RGB under transparent pixels).
    ...PRESETS_2021.map((e): [string, PreprocessSpec] => [e.id, { ...e.preprocess, portableResize: true, decoding: "standard" }]),
  ];
  test("on opaque, transparent, wide, tall and small images", async () => {
    const random = seededRandom(9);
    const images: Buffer[] = [];
    for (const [width, height, channels] of [[300, 200, 3], [90, 333, 4], [17, 23, 3], [640, 480, 4]] as const) {
      const data = Buffer.from(
        Array.from({ length: width * height * channels }, (_, i) => (channels === 4 && i % 4 === 3 ? (i % 8 === 3 ? 255 : 0) : Math.floor(random() * 256))),
      );
      images.push(await sharp(data, { raw: { width, height, channels } }).png().toBuffer());
    }
    for (const image of images) {
      const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      for (const [name, spec] of specs) {
        const full = flattenRgba(new Uint8Array(data), info.width, info.height, spec.background);
        const browser = portableGeometry(full, spec);
        const build = await decodeForModel(image, spec, DECODE);
        assert.deepEqual([browser.width, browser.height], [build.width, build.height], name);
        assert.ok(Buffer.from(browser.data).equals(Buffer.from(build.data)), `${name}: ${info.width}×${info.height} pixels differ`);
      }
    }
  });
});
