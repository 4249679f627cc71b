// The 2021 presets against an independent PIL reference that decodes as 2021 decoded,
// Image.open(path).convert("RGB") (scripts/reference/preprocess_2021_reference.py wrote the goldens
// in test/fixtures/preprocess-2021), over the image classes where that decoding differs from the
// plugin's usual one: alpha, EXIF orientation, CMYK, 16-bit, greyscale, and the dark photos and
// near-4× shrinks where a resampler one level off shows. Differences are in the model's normalised
// input units, both sides through the same pixelsToTensor.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { decodeForModel, pixelsToTensor } from "../../plugins/encoder-compare/encoders/preprocess.ts";
import { ALL_KNOWN_ENCODERS, PRESETS_2021 } from "../../plugins/encoder-compare/encoders/registry.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import { absDiff, decodeGolden, identitySpec, sha256 } from "../support/preprocess-goldens.ts";

const DECODE = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };
const FIXTURES = fileURLToPath(new URL("../fixtures/preprocess-2021/", import.meta.url));
/** Largest allowed mean |Δ| per image and preset, in normalised units. */
const MEAN_TOLERANCE = 0.002;

interface ReferenceCase {
  image: string;
  pil_mode: string;
  spec: string;
  golden: string;
  sha256: string;
}

const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, "meta.json"), "utf8")) as {
  pil_version: string;
  images: Record<string, string>;
  cases: ReferenceCase[];
};
/** Leaves the pixels as they are, decoded the 2021 way. */
const PILLOW_2021 = { decoding: "pillow-2021" } as const;
const specById = new Map(PRESETS_2021.map((encoder) => [encoder.id, encoder.preprocess]));

describe("2021 presets decode as Pillow's convert('RGB') (scripts/reference/preprocess_2021_reference.py)", () => {
  const cells = new Map<string, Map<string, number>>();

  test("the fixtures are the ones the reference wrote, every image × every 2021 preset", () => {
    for (const [image, digest] of Object.entries(meta.images)) assert.equal(sha256(path.join(FIXTURES, image)), digest, image);
    for (const c of meta.cases) assert.equal(sha256(path.join(FIXTURES, c.golden)), c.sha256, c.golden);
    const expected = Object.keys(meta.images).flatMap((image) => PRESETS_2021.map((preset) => `${image} ${preset.id}`)).sort();
    assert.deepEqual(meta.cases.map((c) => `${c.image} ${c.spec}`).sort(), expected);
    const modes = new Set(meta.cases.map((c) => c.pil_mode));
    for (const mode of ["RGBA", "LA", "P", "CMYK", "I", "L", "1", "RGB"]) assert.ok(modes.has(mode), `no fixture opens as Pillow mode ${mode}`);
  });

  test("every 2021 preset, the legacy aliases included, decodes the 2021 way and resizes in TypeScript", () => {
    for (const encoder of ALL_KNOWN_ENCODERS.filter((e) => /-2021(-|$)/.test(e.id))) {
      assert.equal(encoder.preprocess.decoding, "pillow-2021", encoder.id);
      assert.equal(encoder.preprocess.portableResize, true, encoder.id);
    }
    for (const encoder of ALL_KNOWN_ENCODERS.filter((e) => !/-2021(-|$)/.test(e.id))) {
      assert.notEqual(encoder.preprocess.decoding, "pillow-2021", encoder.id);
    }
  });

  test("the BiT presets' labels (every table caption) say which BiT weights ran and that it is a reconstruction", () => {
    const label = (id: string) => ALL_KNOWN_ENCODERS.find((e) => e.id === id)!.label;
    for (const id of ["bit-m-r50x1-2021-jul", "bit-m-r50x1-2021-sep", "bit-m-r50x1-2021"]) {
      assert.match(label(id), /BiT-M ImageNet-21k weights; a reconstruction/, id);
    }
    assert.match(label("bit-m-r50x1-2021-jul"), /BiT is commented out of this flow/);
    assert.match(label("bit-m-r50x1-2021-sep"), /commented-out line names BiT-S Imagenet1k\/R50x1/);
    assert.doesNotMatch(label("clip-vit-b32-2021-sep"), /BiT/);
  });

  for (const c of meta.cases) {
    const name = `${path.basename(c.image)} × ${c.spec}`;
    test(name, async (t) => {
      const spec = specById.get(c.spec);
      assert.ok(spec, `no preset "${c.spec}"`);
      const ours = await decodeForModel(path.join(FIXTURES, c.image), spec, DECODE);
      const golden = await decodeGolden(path.join(FIXTURES, c.golden));
      assert.deepEqual([ours.width, ours.height], [golden.width, golden.height], "crop size");
      const { mean } = absDiff(pixelsToTensor(ours, spec), pixelsToTensor(golden, spec));
      t.diagnostic(`mean |Δ| ${mean.toFixed(4)} (normalised), Pillow mode ${c.pil_mode}`);
      const row = cells.get(path.basename(c.image)) ?? new Map<string, number>();
      row.set(c.spec, mean);
      cells.set(path.basename(c.image), row);
      assert.ok(mean <= MEAN_TOLERANCE, `${name}: mean |Δ| ${mean.toFixed(4)}, tolerance ${MEAN_TOLERANCE}`);
    });
  }

  after(() => {
    if (cells.size === 0) return;
    const ids = PRESETS_2021.map((p) => p.id);
    const lines = [...cells].sort(([a], [b]) => a.localeCompare(b)).map(([image, row]) =>
      `${image.padEnd(22)}${ids.map((id) => (row.get(id)?.toFixed(4) ?? "-").padStart(24)).join("")}`);
    const heading = `${"image".padEnd(22)}${ids.map((id) => id.padStart(24)).join("")}`;
    console.log(`\n2021 presets vs PIL ${meta.pil_version} convert('RGB'), mean |Δ| normalised\n${heading}\n${lines.join("\n")}`);
  });
});

describe("2021 decoding, classes beyond the goldens", () => {
  let tmp = "";
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "preprocess-2021-"));
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("an embedded ICC profile is ignored, as Pillow's convert ignores it (the standard decoding converts by it)", async () => {
    const raw = Buffer.alloc(8 * 8 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 53) % 256;
    for (const [name, format] of [["p3.png", "png"], ["p3.jpg", "jpeg"]] as const) {
      const file = path.join(tmp, name);
      await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).withIccProfile("p3").toFormat(format, { quality: 100 }).toFile(file);
      const stored = await sharp(file, { ignoreIcc: true }).raw().toBuffer();
      const ours = await decodeForModel(file, identitySpec(8, 8, PILLOW_2021), DECODE);
      assert.deepEqual([...ours.data], [...stored], `${name}: the stored samples`);
      const standard = await decodeForModel(file, { ...identitySpec(8, 8, PILLOW_2021), decoding: "standard" }, DECODE);
      assert.ok(absDiff(standard.data, stored).mean > 2, `${name}: the standard decoding converts from P3`);
    }
  });

  test("alpha is dropped, not composited, for 8-bit RGBA, grey+alpha and palette transparency", async () => {
    const rgba = Buffer.from([12, 200, 40, 0, 250, 10, 90, 128, 0, 0, 0, 0]);
    const file = path.join(tmp, "alpha.png");
    await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } }).png().toFile(file);
    assert.deepEqual([...(await decodeForModel(file, identitySpec(3, 1, PILLOW_2021), DECODE)).data], [12, 200, 40, 250, 10, 90, 0, 0, 0]);
    const la = path.join(tmp, "la.png");
    await sharp(Buffer.from([77, 0, 130, 255, 5, 9]), { raw: { width: 3, height: 1, channels: 2 } }).png().toFile(la);
    assert.deepEqual([...(await decodeForModel(la, identitySpec(3, 1, PILLOW_2021), DECODE)).data], [77, 77, 77, 130, 130, 130, 5, 5, 5]);
  });

  test("formats Pillow 8 could not open are refused for the 2021 presets, with a reason", async () => {
    const svg = path.join(tmp, "shape.svg");
    fs.writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="red"/></svg>');
    const preset = specById.get("clip-vit-b32-2021-sep")!;
    const refusal = /Pillow 8 could not open svg images; the 2021 presets decode as Pillow 8's convert\('RGB'\) did, so they refuse it/;
    await assert.rejects(decodeForModel(svg, preset, DECODE), refusal);
    const avif = path.join(tmp, "tiny.avif");
    await sharp({ create: { width: 8, height: 8, channels: 3, background: "red" } }).avif().toFile(avif);
    await assert.rejects(decodeForModel(avif, preset, DECODE), /Pillow 8 could not open heif images; /);
    // The same files still decode for the other encoders.
    const clip = ALL_KNOWN_ENCODERS.find((e) => e.id === "clip-vit-b32")!.preprocess;
    assert.equal((await decodeForModel(svg, clip, DECODE)).width, 224);
  });
});
