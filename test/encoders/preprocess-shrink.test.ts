// Large dataset photos for the portable-resize encoders (the built-ins): libvips shrinks on load
// to several times the target, then the exact TypeScript resampler finishes. Measured here
// against the full-decode path the browser widget runs (portableGeometry), on the pixels and on
// the built-in graphs' embeddings. Query images are not shrunk: their vectors stay exactly the
// browser's, which is what keeps the try-it parity tolerance.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import * as ort from "onnxruntime-node";
import sharp, { type Sharp } from "sharp";
import { flattenRgba, portableGeometry } from "../../plugins/encoder-compare/encoders/portable-resize.ts";
import { decodeForModel, pixelsToTensor, shrinkOnLoadSize, tensorShape } from "../../plugins/encoder-compare/encoders/preprocess.ts";
import { resizedSize } from "../../plugins/encoder-compare/encoders/preprocess-core.ts";
import { BUILTIN_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { buildBuiltinGraph, type BuiltinGraphName } from "../../plugins/encoder-compare/models/builtin-graphs.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";

const DECODE = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };
const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/preprocess-shrink");
const IMAGES = path.join(ROOT, "test/fixtures/preprocess-2021/images");
/** Largest mean |Δ| per pixel value (0..255) between the shrunk and the full-decode pixels. */
const MEAN_LEVELS = 0.5;
/**
 * Largest change of a dataset photo's score against another photo, shrunk vs full decode.
 * pixels: a fraction of a level moves a mean-centred, normalised 16×16 vector of a dark photo by
 * up to about 2e-3 (measured 2.2e-3). phash: a pixel value next to the block median flips its bit,
 * 1/32 of cosine per bit; the full decode itself moves bits that way under any re-encoding.
 */
const SCORE_TOLERANCE: Record<string, number> = { pixels: 3e-3, phash: 2 / 32 + 1e-6 };

/** Photos over the shrink threshold: JPEGs (DCT shrink on load), a PNG, an EXIF-rotated JPEG, a tall and a wide one. */
async function makePhotos(): Promise<string[]> {
  fs.mkdirSync(WORK, { recursive: true });
  const photo = (name: string) => path.join(IMAGES, name);
  const cases: Array<[string, Sharp]> = [
    ["large-2400x1800.jpg", sharp(photo("shrink-2050x2047.jpg")).resize(2400, 1800, { fit: "fill" }).jpeg({ quality: 90 })],
    ["large-3000x2000.jpg", sharp(photo("dusk-1000x750.jpg")).resize(3000, 2000, { fit: "fill" }).jpeg({ quality: 85 })],
    ["large-1600x1200.png", sharp(photo("shrink-1537x1024.jpg")).resize(1600, 1200, { fit: "fill" }).png()],
    ["large-exif6-2400x1600.jpg", sharp(photo("dark-1000x750.jpg")).resize(2400, 1600, { fit: "fill" }).jpeg({ quality: 92 }).withMetadata({ orientation: 6 })],
    ["large-tall-900x4000.jpg", sharp(photo("dark-480x720.jpg")).resize(900, 4000, { fit: "fill" }).jpeg({ quality: 90 })],
    ["large-wide-5000x700.webp", sharp(photo("shrink-1537x1024.jpg")).resize(5000, 700, { fit: "fill" }).webp({ quality: 90 })],
  ];
  const files: string[] = [];
  for (const [name, image] of cases) {
    const file = path.join(WORK, name);
    if (!fs.existsSync(file)) await image.toFile(file);
    files.push(file);
  }
  return files;
}

/** The browser widget's path: the whole frame decoded and flattened, every resize in TypeScript. */
async function fullDecode(file: string, spec: EncoderSpec["preprocess"]) {
  const { data, info } = await sharp(file).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return portableGeometry(flattenRgba(new Uint8Array(data), info.width, info.height, spec.background), spec);
}

async function embed(session: ort.InferenceSession, encoder: EncoderSpec, pixels: Awaited<ReturnType<typeof fullDecode>>): Promise<Float32Array> {
  const input = new ort.Tensor("float32", pixelsToTensor(pixels, encoder.preprocess), tensorShape(encoder.preprocess, 1));
  const out = await session.run({ [encoder.inputName]: input });
  return out[encoder.outputName].data as Float32Array;
}

function unit(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

describe("large photos shrink on load before the portable resize", () => {
  let photos: string[] = [];
  before(async () => {
    photos = await makePhotos();
  });

  test("the shrink applies to large photos only, never to an enlarged axis or past the work limit", () => {
    const target = { width: 32, height: 32 };
    assert.deepEqual(shrinkOnLoadSize(2400, 1800, target), { width: 256, height: 256 });
    assert.deepEqual(shrinkOnLoadSize(5000, 700, target), { width: 256, height: 256 });
    assert.deepEqual(shrinkOnLoadSize(12000, 100, target), { width: 256, height: 100 });
    assert.equal(shrinkOnLoadSize(640, 480, target), undefined, "under the threshold");
    assert.equal(shrinkOnLoadSize(1000, 1000, target), undefined, "at the threshold");
    assert.equal(shrinkOnLoadSize(4000, 300, { width: 3000, height: 400 }), undefined, "an enlarged axis");
    const clipLike = { resizeMode: "shortest-edge", resizeTo: 600, cropWidth: 224, cropHeight: 224 } as const;
    assert.equal(shrinkOnLoadSize(2000, 2000, resizedSize(2000, 2000, clipLike)), undefined, "under the margin");
    assert.equal(shrinkOnLoadSize(20000, 20000, { width: 1200, height: 1200 }, 4_000_000), undefined, "over the work limit");
  });

  test("query images (shrinkOnLoad off) are decoded whole: byte for byte the browser widget's pixels", async () => {
    for (const encoder of BUILTIN_ENCODERS) {
      for (const file of photos.slice(0, 3)) {
        const query = await decodeForModel(file, encoder.preprocess, DECODE);
        const browser = await fullDecode(file, encoder.preprocess);
        assert.ok(Buffer.from(query.data).equals(Buffer.from(browser.data)), `${encoder.id} ${path.basename(file)}`);
        const shrunk = await decodeForModel(file, encoder.preprocess, { ...DECODE, shrinkOnLoad: true });
        assert.ok(!Buffer.from(shrunk.data).equals(Buffer.from(browser.data)), `${encoder.id} ${path.basename(file)}: the shrink did not run`);
      }
    }
  });

  test("built-in dataset vectors: pixels within half a level of the full decode on average, scores within the measured bounds", async () => {
    const report: string[] = [];
    for (const encoder of BUILTIN_ENCODERS) {
      const graph = encoder.source.kind === "builtin" ? encoder.source.graph : undefined;
      const session = await ort.InferenceSession.create(buildBuiltinGraph(graph as BuiltinGraphName));
      const vectors: Array<[Float32Array, Float32Array]> = [];
      for (const file of photos) {
        const build = await decodeForModel(file, encoder.preprocess, { ...DECODE, shrinkOnLoad: true });
        const browser = await fullDecode(file, encoder.preprocess);
        assert.deepEqual([build.width, build.height], [browser.width, browser.height]);
        let sum = 0;
        let max = 0;
        for (let i = 0; i < build.data.length; i++) {
          const d = Math.abs(build.data[i] - browser.data[i]);
          sum += d;
          max = Math.max(max, d);
        }
        const mean = sum / build.data.length;
        report.push(`${encoder.id} ${path.basename(file)}: mean |Δ| ${mean.toFixed(3)} levels, max ${max}`);
        fs.writeFileSync(path.join(WORK, "report.txt"), report.join("\n") + "\n");
        assert.ok(mean <= MEAN_LEVELS, report.at(-1));
        vectors.push([unit(await embed(session, encoder, build)), unit(await embed(session, encoder, browser))]);
      }
      // Every photo's score against every other photo, build vs browser query vector.
      let worst = 0;
      for (const [i, [a, b]] of vectors.entries()) {
        for (const [j, [x]] of vectors.entries()) {
          if (i === j) continue;
          const dot = (u: Float32Array) => u.reduce((s, v, k) => s + v * x[k], 0);
          worst = Math.max(worst, Math.abs(dot(a) - dot(b)));
        }
      }
      report.push(`${encoder.id}: max |Δscore| ${worst.toExponential(2)}`);
      fs.writeFileSync(path.join(WORK, "report.txt"), report.join("\n") + "\n");
      assert.ok(worst <= SCORE_TOLERANCE[encoder.id], report.join("\n"));
      await session.release();
    }
    fs.writeFileSync(path.join(WORK, "report.txt"), report.join("\n") + "\n");
  });
});
