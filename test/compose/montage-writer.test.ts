// The montage writer decodes under limitInputPixels: an image small in bytes but over the limit in pixels is refused
// by every drawing (a montage tile, a query thumbnail, a full-size image published as it is or converted), with one
// message naming the file and the option, and nothing is written; under the default limit the same images are drawn.
// And what it leaves in the output folder: full-size copies byte for byte or re-encoded, an SVG drawn without its
// references, and no file that looks valid after a full disk.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import { PixelLimitError } from "../../plugins/encoder-compare/base/pixel-limit.ts";
import { createMontageWriter } from "../../plugins/encoder-compare/compose/montage-writer.ts";
import type { ImageFile, MontageWriter } from "../../plugins/encoder-compare/render/result-images.ts";
import { EMOJI } from "../support/small-project.ts";
import { isRed, writeSvgDrawingSibling } from "../support/svg-fixture.ts";

const WORK = path.join(process.cwd(), "test/.output/compose-montage-writer");
const LIMIT = 1_000_000;
/** 3000×3000 = 9,000,000 pixels of one colour: a few kilobytes that decode to 27 MB. */
const SIDE = 3000;

let png: ImageFile;
let tiff: ImageFile;

const drawings: Array<[string, (writer: MontageWriter) => Promise<unknown>]> = [
  ["a montage tile", (writer) => writer.montage([png], 16)],
  ["a query thumbnail", (writer) => writer.thumbnail(png, 16)],
  ["a full-size PNG (published as it is)", (writer) => writer.fullImage(png)],
  ["a full-size TIFF (converted to webp)", (writer) => writer.fullImage(tiff)],
];

/** A fresh, empty output folder for one writer. */
function outputDir(name: string): string {
  const dir = path.join(WORK, name);
  fs.rmSync(dir, { recursive: true, force: true });
  return dir;
}

before(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  const flat = { create: { width: SIDE, height: SIDE, channels: 3 as const, background: { r: 40, g: 120, b: 200 } } };
  const pngFile = path.join(WORK, "flat.png");
  const tiffFile = path.join(WORK, "flat.tiff");
  await sharp(flat).png({ compressionLevel: 9 }).toFile(pngFile);
  await sharp(flat).tiff({ compression: "deflate" }).toFile(tiffFile);
  png = { file: fs.realpathSync(pngFile), sha256: "a".repeat(64) };
  tiff = { file: fs.realpathSync(tiffFile), sha256: "b".repeat(64) };
  // The point of the fixture: far under the byte cap, far over the pixel limit.
  for (const image of [png, tiff]) assert.ok(fs.statSync(image.file).size < 1024 ** 2, `${image.file} is small in bytes`);
  assert.ok(SIDE * SIDE > LIMIT && SIDE * SIDE < DEFAULTS.embedding.limitInputPixels);
});
after(() => fs.rmSync(WORK, { recursive: true, force: true }));

describe("the montage writer and limitInputPixels", () => {
  for (const [what, draw] of drawings) {
    test(`${what}: refused over the limit, naming the file and the option; nothing written`, async () => {
      const out = outputDir(`refused-${what.replace(/\W+/g, "-")}`);
      const writer = createMontageWriter(out, { limitInputPixels: LIMIT });
      const file = what.includes("TIFF") ? tiff.file : png.file;
      await assert.rejects(draw(writer), (error: unknown) => {
        assert.ok(error instanceof PixelLimitError, String(error));
        assert.equal(error.file, file);
        assert.equal(error.limit, LIMIT);
        assert.ok(error.message.startsWith(`${file}: `), error.message);
        assert.match(error.message, /larger than the pixel limit \(limitInputPixels\): it has more than 1,000,000 pixels/);
        assert.match(error.message, /raise the plugin option embedding\.limitInputPixels/);
        return true;
      });
      assert.equal(writer.written, 0);
      assert.deepEqual(fs.existsSync(out) ? fs.readdirSync(out) : [], []);
    });
  }

  test("with the default limit every drawing succeeds and writes its files", async () => {
    const out = outputDir("default");
    const writer = createMontageWriter(out);
    const montage = await writer.montage([png], 16);
    const thumbnail = await writer.thumbnail(png, 16);
    const fullPng = await writer.fullImage(png);
    const fullTiff = await writer.fullImage(tiff);
    const written = [montage.name, montage.name2x, thumbnail.name, thumbnail.name2x, fullPng, fullTiff];
    assert.deepEqual(fs.readdirSync(out).sort(), [...written].sort());
    assert.equal(writer.written, written.length);
    assert.deepEqual(fs.readFileSync(path.join(out, fullPng)), fs.readFileSync(png.file), "a PNG is published as it is");
    const converted = await sharp(path.join(out, fullTiff)).metadata();
    assert.deepEqual([converted.format, converted.width, converted.height], ["webp", SIDE, SIDE]);
    const tile = await sharp(path.join(out, montage.name2x)).metadata();
    assert.deepEqual([tile.width, tile.height], [32, 32]);
  });

  test("a limit just above the image's pixel count draws it: the limit is the option's value, not a fixed one", async () => {
    const out = outputDir("at-limit");
    const writer = createMontageWriter(out, { limitInputPixels: SIDE * SIDE });
    await writer.thumbnail(png, 16);
    await assert.rejects(createMontageWriter(outputDir("below-limit"), { limitInputPixels: SIDE * SIDE - 1 }).thumbnail(png, 16), PixelLimitError);
  });
});

const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex");

describe("full-size images", () => {
  const sha = "ab".repeat(32);
  test("are copied byte for byte, or re-encoded to webp, once", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-full-"));
    const png = path.join(dir, "a.png");
    const tiff = path.join(dir, "b.tif");
    const pixels = sharp({ create: { width: 4, height: 3, channels: 3, background: "#c0ffee" } });
    await pixels.clone().png().toFile(png);
    await pixels.clone().tiff().toFile(tiff);
    const writer = createMontageWriter(path.join(dir, "out"));
    const pngName = await writer.fullImage({ file: png, sha256: sha });
    assert.ok(fs.readFileSync(path.join(dir, "out", pngName)).equals(fs.readFileSync(png)));
    const tiffName = await writer.fullImage({ file: tiff, sha256: "cd".repeat(32) });
    const meta = await sharp(path.join(dir, "out", tiffName)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["webp", 4, 3]);
    await writer.fullImage({ file: png, sha256: sha });
    assert.equal(writer.written, 2);
  });
});

describe("a full disk while writing outputs", () => {
  test("gives a clear error and leaves no file that looks valid", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "ec-full-"));
    const writer = createMontageWriter(out);
    const image = { file: EMOJI("1f436"), sha256: "a".repeat(64) };
    // The writer writes <name>.<pid>.tmp and renames it; point that temp name at /dev/full.
    const { thumbnailBaseName } = await import("../../plugins/encoder-compare/render/result-images.ts");
    const base = thumbnailBaseName(image.sha256, 16);
    fs.symlinkSync("/dev/full", path.join(out, `${base}.webp.${process.pid}.tmp`));
    await assert.rejects(writer.thumbnail(image, 16), /cannot write .*\.webp: ENOSPC/);
    assert.deepEqual(fs.readdirSync(out).filter((f) => f === `${base}.webp`), []);
    fs.rmSync(out, { recursive: true, force: true });
  });
});

describe("image type by content", () => {
  // An SVG named .png that draws a sibling file: red if librsvg follows the reference.
  const dir = path.join(WORK, "svg");
  const evil = path.join(dir, "evil.png");
  before(() => writeSvgDrawingSibling(dir));

  test("thumbnails and full-size copies decide by content: the SVG is drawn without its reference and published as webp", async () => {
    const out = path.join(dir, "out");
    const writer = createMontageWriter(out);
    const image = { file: fs.realpathSync(evil), sha256: sha256(fs.readFileSync(evil)) };
    const thumb = await writer.thumbnail(image, 16);
    const { data } = await sharp(path.join(out, thumb.name)).raw().toBuffer({ resolveWithObject: true });
    assert.ok(!isRed(data), "the sibling file was drawn in the thumbnail");
    const full = await writer.fullImage(image);
    assert.match(full, /\.webp$/);
    assert.notEqual(sha256(fs.readFileSync(path.join(out, full))), image.sha256, "SVG bytes published as a .png");
  });
});

describe("full-size names across builds", () => {
  test("an image already published is named again without reading its file (a map names every point on every build)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-names-"));
    const source = path.join(dir, "kept.png");
    await sharp({ create: { width: 5, height: 4, channels: 3, background: "#123456" } }).png().toFile(source);
    const image = { file: source, sha256: sha256(fs.readFileSync(source)) };
    const out = path.join(dir, "out");
    const name = await createMontageWriter(out).fullImage(image);
    // The next build's writer: the source is now unreadable, so any read of it would fail.
    fs.chmodSync(source, 0o000);
    fs.renameSync(source, `${source}.gone`);
    try {
      assert.equal(await createMontageWriter(out).fullImage(image), name);
      // Once the published copy is gone, the file must be read again, and its absence is reported.
      fs.rmSync(path.join(out, name));
      await assert.rejects(createMontageWriter(out).fullImage(image), /ENOENT|no such file|not found/i);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
