// Our sharp preprocessing (encoders/preprocess.ts) against an independent PIL reference of each
// model's own preprocessing: scripts/reference/preprocess_reference.py wrote the golden uint8 RGB
// crops in test/fixtures/preprocess/golden; both sides go through the same pixelsToTensor, so the
// differences below are in the model's normalised input units. Plus decoding edge cases: alpha
// onto the background colour, 16-bit PNG, CMYK JPEG, grayscale.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { decodeForModel, pixelsToTensor, resizedSize, tensorShape, type RgbPixels } from "../../plugins/encoder-compare/encoders/preprocess.ts";
import { ALL_KNOWN_ENCODERS, MODEL_ENCODERS, PRESETS_2021 } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import { absDiff, decodeGolden, identitySpec, sha256 } from "../support/preprocess-goldens.ts";

/** What the engine passes every decode: the plugin's default pixel limit. */
const DECODE = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };

const FIXTURES = fileURLToPath(new URL("../fixtures/preprocess/", import.meta.url));
/** Largest allowed mean |Δ| between our tensor and the reference's, in normalised units. */
const MEAN_TOLERANCE = 0.02;
/** The 2021 presets resize in TypeScript with PIL's rule, so they are held tighter (see preprocess-2021-parity.test.ts). */
const PRESET_MEAN_TOLERANCE = 0.002;

/** Cases allowed to miss MEAN_TOLERANCE, with the reason (none since the resize matches PIL). */
const KNOWN_DEVIATIONS: Record<string, string> = {};

interface ReferenceStep {
  from: [number, number];
  resized: [number, number];
  crop: [number, number, number, number];
}

interface ReferenceCase {
  image: string;
  spec: string;
  golden: string;
  steps: ReferenceStep[];
  sha256: string;
}

interface ReferenceMeta {
  pil_version: string;
  command: string;
  images: Record<string, string>;
  cases: ReferenceCase[];
}

const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, "meta.json"), "utf8")) as ReferenceMeta;
const ENCODERS: readonly EncoderSpec[] = [...MODEL_ENCODERS, ...PRESETS_2021];
const specById = new Map(ENCODERS.map((encoder) => [encoder.id, encoder.preprocess]));

function stem(file: string): string {
  return path.basename(file, path.extname(file));
}

function pixelAt(pixels: RgbPixels, x: number, y: number): number[] {
  const i = (y * pixels.width + x) * 3;
  return [pixels.data[i], pixels.data[i + 1], pixels.data[i + 2]];
}

describe("preprocessing parity with the PIL reference (scripts/reference/preprocess_reference.py)", () => {
  const rows: string[] = [];

  test("the fixtures are the ones the reference wrote, one golden crop per image × spec", () => {
    const images = Object.keys(meta.images);
    assert.ok(images.length >= 5, "expected at least five fixture images");
    for (const [image, digest] of Object.entries(meta.images)) {
      assert.equal(sha256(path.join(FIXTURES, image)), digest, `${image} changed since the goldens were written`);
    }
    for (const c of meta.cases) {
      assert.equal(sha256(path.join(FIXTURES, c.golden)), c.sha256, `${c.golden} changed since meta.json was written`);
    }
    const expected = images.flatMap((image) => ENCODERS.map((encoder) => `${image} ${encoder.id}`)).sort();
    assert.deepEqual(meta.cases.map((c) => `${c.image} ${c.spec}`).sort(), expected);
  });

  test("resizedSize agrees with the reference's resize step (long edge truncated)", () => {
    for (const c of meta.cases) {
      const spec = specById.get(c.spec)!;
      const step = c.steps[c.steps.length - 1];
      const [width, height] = step.from;
      assert.deepEqual(resizedSize(width, height, spec), { width: step.resized[0], height: step.resized[1] }, `${c.image} ${c.spec}`);
    }
  });

  for (const c of meta.cases) {
    const name = `${stem(c.image)} × ${c.spec}`;
    const todo = KNOWN_DEVIATIONS[name];
    test(name, todo ? { todo } : {}, async (t) => {
      const spec = specById.get(c.spec);
      assert.ok(spec, `no encoder spec "${c.spec}"`);
      const ours = await decodeForModel(path.join(FIXTURES, c.image), spec, DECODE);
      const golden = await decodeGolden(path.join(FIXTURES, c.golden));
      assert.deepEqual([ours.width, ours.height], [golden.width, golden.height], "crop size");
      assert.deepEqual([ours.width, ours.height], [spec.cropWidth, spec.cropHeight], "crop size from the spec");
      const a = pixelsToTensor(ours, spec);
      const b = pixelsToTensor(golden, spec);
      const [, channels, height, width] = tensorShape(spec, 1);
      assert.equal(a.length, channels * height * width, "tensor length from tensorShape");
      assert.equal(a.length, b.length, "tensor lengths");
      const normalised = absDiff(a, b);
      const bytes = absDiff(ours.data, golden.data);
      const figures = `mean |Δ| ${normalised.mean.toFixed(4)}, max |Δ| ${normalised.max.toFixed(3)} (normalised); ` +
        `uint8 mean ${bytes.mean.toFixed(2)}, max ${bytes.max}`;
      t.diagnostic(figures);
      rows.push(`${name.padEnd(36)} ${normalised.mean.toFixed(4).padStart(7)} ${normalised.max.toFixed(3).padStart(7)}` +
        `${bytes.mean.toFixed(2).padStart(8)} ${String(bytes.max).padStart(5)}${todo ? "  (known deviation)" : ""}`);
      assert.ok(normalised.mean <= MEAN_TOLERANCE, `${name}: ${figures}; tolerance ${MEAN_TOLERANCE}`);
      if (spec.firstPass) assert.ok(normalised.mean <= PRESET_MEAN_TOLERANCE, `${name}: ${figures}; 2021 preset tolerance ${PRESET_MEAN_TOLERANCE}`);
    });
  }

  after(() => {
    if (rows.length === 0) return;
    console.log(
      `\npreprocess parity against PIL ${meta.pil_version} (|Δ| normalised; uint8 = raw 0..255 levels)\n` +
        `${"case".padEnd(36)} ${"mean".padStart(7)} ${"max".padStart(7)}${"u8 mean".padStart(8)} ${"u8max".padStart(5)}\n` +
        rows.sort().join("\n"),
    );
  });
});

describe("2021 presets", () => {
  test("the ids from before the two flows were told apart name the September flow", () => {
    for (const model of MODEL_ENCODERS) {
      const legacy = ALL_KNOWN_ENCODERS.find((encoder) => encoder.id === `${model.id}-2021`);
      const september = PRESETS_2021.find((encoder) => encoder.id === `${model.id}-2021-sep`);
      assert.ok(legacy && september, model.id);
      assert.deepEqual(legacy.preprocess, september.preprocess);
      assert.match(legacy.label, new RegExp(`alias of ${september.id}`));
    }
  });

  test("July CLIP saw the crafter's floats below −1 wrapped to 254/255 (numpy's astype(uint8)), as the reference does", async () => {
    const golden = await decodeGolden(path.join(FIXTURES, "golden", "photo--clip-vit-b32-2021-jul.png"));
    const ours = await decodeForModel(path.join(FIXTURES, "images", "photo.jpg"), specById.get("clip-vit-b32-2021-jul")!, DECODE);
    const wrapped = (pixels: RgbPixels) => pixels.data.filter((v) => v >= 250).length;
    assert.ok(wrapped(golden) > 0, "the photo's dark pixels wrap in the reference");
    assert.ok(Math.abs(wrapped(ours) - wrapped(golden)) <= wrapped(golden) / 10, `${wrapped(ours)} wrapped values, reference ${wrapped(golden)}`);
  });
});

describe("decoding edge cases", () => {
  let tmp = "";
  const clip = MODEL_ENCODERS.find((encoder) => encoder.id === "clip-vit-b32")!.preprocess;
  const landscape = path.join(FIXTURES, "images", "landscape.png");

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "preprocess-parity-"));
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("transparency is composited onto the spec's background colour", async () => {
    // 3×1 RGBA: transparent with black stored, transparent with green stored, half-transparent black.
    const rgba = Buffer.from([0, 0, 0, 0, 12, 200, 40, 0, 0, 0, 0, 128]);
    const file = path.join(tmp, "alpha.png");
    await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } }).png().toFile(file);
    const white = await decodeForModel(file, identitySpec(3, 1, { background: [255, 255, 255] }), DECODE);
    assert.deepEqual(pixelAt(white, 0, 0), [255, 255, 255]);
    assert.deepEqual(pixelAt(white, 1, 0), [255, 255, 255]);
    for (const v of pixelAt(white, 2, 0)) assert.ok(Math.abs(v - 127) <= 1, `half-transparent black on white: ${v}`);
    const tinted = await decodeForModel(file, identitySpec(3, 1, { background: [10, 20, 30] }), DECODE);
    assert.deepEqual(pixelAt(tinted, 0, 0), [10, 20, 30]);
    assert.deepEqual(pixelAt(tinted, 1, 0), [10, 20, 30]);
  });

  test("the emoji's transparent corners become white through the whole CLIP pipeline", async () => {
    const emoji = await decodeForModel(path.join(FIXTURES, "images", "emoji-1f436.png"), clip, DECODE);
    for (const [x, y] of [[0, 0], [223, 0], [0, 223], [223, 223]]) assert.deepEqual(pixelAt(emoji, x, y), [255, 255, 255], `(${x}, ${y})`);
  });

  test("a 16-bit PNG decodes to the same 8-bit RGB as its 8-bit source (±1)", async () => {
    const file = path.join(tmp, "landscape-16.png");
    await sharp(landscape).toColourspace("rgb16").png().toFile(file);
    const info = await sharp(file).metadata();
    assert.equal(info.depth, "ushort", "the fixture really is 16-bit");
    const d = absDiff((await decodeForModel(file, clip, DECODE)).data, (await decodeForModel(landscape, clip, DECODE)).data);
    assert.ok(d.max <= 1, `16-bit vs 8-bit: mean ${d.mean.toFixed(3)}, max ${d.max}`);
  });

  test("a 16-bit PNG with alpha is composited onto white, not onto a 16-bit-scaled colour", async () => {
    const file = path.join(tmp, "emoji-16.png");
    await sharp(path.join(FIXTURES, "images", "emoji-1f436.png")).toColourspace("rgb16").png().toFile(file);
    const info = await sharp(file).metadata();
    assert.deepEqual([info.depth, info.hasAlpha], ["ushort", true]);
    const ours = await decodeForModel(file, clip, DECODE);
    assert.deepEqual(pixelAt(ours, 0, 0), [255, 255, 255]);
    const d = absDiff(ours.data, (await decodeForModel(path.join(FIXTURES, "images", "emoji-1f436.png"), clip, DECODE)).data);
    assert.ok(d.max <= 2, `16-bit vs 8-bit emoji: mean ${d.mean.toFixed(3)}, max ${d.max}`);
  });

  test("a CMYK JPEG decodes to sensible RGB (not inverted, colours kept within CMYK's gamut)", async () => {
    const file = path.join(tmp, "landscape-cmyk.jpg");
    await sharp(landscape).toColourspace("cmyk").jpeg({ quality: 95 }).toFile(file);
    const info = await sharp(file).metadata();
    assert.deepEqual([info.space, info.channels], ["cmyk", 4], "the fixture really is CMYK");
    const ours = await decodeForModel(file, clip, DECODE);
    const source = await decodeForModel(landscape, clip, DECODE);
    assert.equal(ours.data.length, source.data.length);
    // sRGB → CMYK → sRGB through a print profile clips saturated colours (the sky's blue most),
    // so a loose bound: an inverted or channel-swapped decode is off by ~100 levels.
    const d = absDiff(ours.data, source.data);
    assert.ok(d.mean <= 12, `CMYK vs RGB source: mean ${d.mean.toFixed(2)}, max ${d.max}`);
    const [r, g, b] = pixelAt(ours, 10, 10); // sky, top left
    assert.ok(b > g && g > r && b > 150, `sky should stay blue, got ${[r, g, b]}`);
  });

  test("a grayscale PNG becomes RGB with equal channels", async () => {
    const gray = await decodeForModel(path.join(FIXTURES, "images", "gray.png"), clip, DECODE);
    assert.equal(gray.data.length, 224 * 224 * 3);
    for (let p = 0; p < gray.data.length; p += 3) {
      assert.ok(gray.data[p] === gray.data[p + 1] && gray.data[p] === gray.data[p + 2], `pixel ${p / 3} is not gray`);
    }
  });
});
