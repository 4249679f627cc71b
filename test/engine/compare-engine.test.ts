// The CompareEngine over datasets whose files are not what they claim (skipped with a reason, never fatal), and
// over a model file that changes on disk (its embeddings are not reused).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { BUILTIN_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { buildBuiltinGraph } from "../../plugins/encoder-compare/models/builtin-graphs.ts";
import { testEngine } from "../support/engine.ts";

const ROOT = process.cwd();
const EMOJI = (code: string) => path.join(ROOT, `node_modules/emoji-datasource-google/img/google/64/${code}.png`);

describe("dataset files that are not what they claim", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-hard-"));
  const data = path.join(dir, "data");
  const valid: string[] = [];
  const invalid: Record<string, RegExp> = {};

  before(async () => {
    fs.mkdirSync(data);
    const png = fs.readFileSync(EMOJI("1f436"));
    fs.writeFileSync(path.join(data, "ok.png"), png);
    valid.push("ok.png");
    // 16-bit, grayscale, CMYK, alpha, animated: all valid, embedded like any image.
    await sharp(EMOJI("1f431")).toColourspace("rgb16").png().toFile(path.join(data, "sixteen-bit.png"));
    await sharp(EMOJI("1f34e")).grayscale().png().toFile(path.join(data, "gray.png"));
    await sharp(EMOJI("1f697")).flatten({ background: "#fff" }).toColourspace("cmyk").jpeg().toFile(path.join(data, "cmyk.jpg"));
    await sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.3 } } }).png().toFile(path.join(data, "alpha.png"));
    const frame = (r: number) => sharp({ create: { width: 32, height: 32, channels: 3, background: { r, g: 40, b: 40 } } }).raw().toBuffer();
    const frames = Buffer.concat([await frame(250), await frame(10)]);
    await sharp(frames, { raw: { width: 32, height: 64, channels: 3 } }).gif({ loop: 0 }).toFile(path.join(data, "animated-src.gif"));
    await sharp(path.join(data, "animated-src.gif")).toFile(path.join(data, "animated.gif"));
    fs.rmSync(path.join(data, "animated-src.gif"));
    valid.push("sixteen-bit.png", "gray.png", "cmyk.jpg", "alpha.png", "animated.gif");
    // An SVG with a script and a reference to a file outside: rendered as a picture, nothing run or read.
    fs.writeFileSync(
      path.join(data, "scripted.svg"),
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="48" height="48">` +
        `<script>alert(1)</script><rect width="48" height="48" fill="#36c"/><image xlink:href="file:///etc/hostname" width="10" height="10"/></svg>`,
    );
    // Invalid ones: skipped and reported, never fatal.
    fs.writeFileSync(path.join(data, "zero.png"), "");
    fs.writeFileSync(path.join(data, "text.jpg"), "this is not an image at all\n".repeat(20));
    fs.writeFileSync(path.join(data, "truncated.png"), png.subarray(0, 120));
    fs.writeFileSync(path.join(data, "garbage.webp"), Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 256)));
    await sharp({ create: { width: 2500, height: 2000, channels: 3, background: "#888" } }).png({ compressionLevel: 9 }).toFile(path.join(data, "bomb.png"));
    Object.assign(invalid, {
      "zero.png": /./,
      "text.jpg": /not a supported image|unsupported/i,
      "truncated.png": /./,
      "garbage.webp": /./,
      "bomb.png": /pixel limit/,
    });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("valid ones are embedded, invalid ones skipped with a reason, the index still works", async () => {
    const engine = testEngine(dir);
    engine.startBuild();
    const { dataset, index } = await engine.datasetIndex("pixels", data);
    assert.deepEqual(dataset.images.map((i) => i.id).sort(), [...valid].sort());
    assert.equal(index.size, valid.length);
    const skipped = new Map([...engine.build.skippedImages].map(([file, reason]) => [path.basename(file), reason]));
    assert.deepEqual([...skipped.keys()].sort(), Object.keys(invalid).sort());
    for (const [file, reason] of Object.entries(invalid)) assert.match(skipped.get(file)!, reason, file);
    const result = await engine.query("pixels", data, path.join(data, "ok.png"), { k: 3, includeSelf: true });
    assert.equal(result.hits[0].image.id, "ok.png");
    await engine.close();
  });

  test("an SVG with a script is embedded as a picture", async () => {
    const engine = testEngine(dir);
    const result = await engine.query("pixels", data, path.join(data, "scripted.svg"), { k: 1, includeSelf: false });
    assert.equal(result.hits.length, 1);
    await engine.close();
  });

  test("an animated GIF is read from its first frame", async () => {
    const engine = testEngine(dir);
    const first = await engine.query("pixels", data, path.join(data, "animated.gif"), { k: 1, includeSelf: true });
    assert.equal(first.hits[0].image.id, "animated.gif");
    await engine.close();
  });

  test("a query image that is not an image fails with the path and the reason", async () => {
    const engine = testEngine(dir);
    await assert.rejects(engine.query("pixels", data, path.join(data, "text.jpg"), { k: 1, includeSelf: false }), /cannot read query image .*text\.jpg: /);
    await engine.close();
  });
});

describe("a model file that changes on disk", () => {
  test("its embeddings are not reused", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-model-change-"));
    const data = path.join(dir, "data");
    fs.mkdirSync(data);
    for (const code of ["1f436", "1f431"]) fs.copyFileSync(EMOJI(code), path.join(data, `${code}.png`));
    const modelFile = path.join(dir, "model.onnx");
    fs.writeFileSync(modelFile, buildBuiltinGraph("pixels"));
    const custom: EncoderSpec = { ...BUILTIN_ENCODERS[0], id: "mine", source: { kind: "file", path: modelFile } };
    const run = async () => {
      const engine = testEngine(dir, {}, [custom]);
      engine.startBuild();
      await engine.datasetIndex("mine", data);
      const stats = engine.statsFor("mine");
      await engine.close();
      return stats;
    };
    assert.equal((await run()).embedded, 2);
    assert.equal((await run()).embedded, 0);
    // Same graph, different bytes (another producer name): a different model as far as the key goes.
    const bytes = Buffer.from(buildBuiltinGraph("pixels"));
    const at = bytes.indexOf("encoder-compare");
    bytes.write("encoder-comparX", at);
    fs.writeFileSync(modelFile, bytes);
    assert.equal((await run()).embedded, 2);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
