// What the montage writer (compose/montage-writer.ts) leaves in the output folder: full-size copies byte for byte
// or re-encoded, an SVG drawn without its references, and no file that looks valid after a full disk.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { createMontageWriter } from "../../plugins/encoder-compare/compose/montage-writer.ts";
import { EMOJI } from "../support/small-project.ts";

const ROOT = process.cwd();

const WORK = path.join(ROOT, "test/.output/compose-montage-writer-outputs");

const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex");

after(() => fs.rmSync(WORK, { recursive: true, force: true }));

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
  before(async () => {
    fs.mkdirSync(dir, { recursive: true });
    await sharp({ create: { width: 32, height: 32, channels: 3, background: "#f00" } }).png().toFile(path.join(dir, "sibling.bin"));
    fs.writeFileSync(
      evil,
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="32" height="32">` +
        `<rect width="32" height="32" fill="#fff"/><image xlink:href="sibling.bin" width="32" height="32"/></svg>`,
    );
  });

  const isRed = (data: Uint8Array) => data[0] > 200 && data[1] < 60 && data[2] < 60;

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
