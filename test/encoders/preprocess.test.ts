// Preprocessing (encoders/preprocess.ts): resize rounding, and an SVG named .png that may not draw a sibling file.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeForModel, resizedSize } from "../../plugins/encoder-compare/encoders/preprocess.ts";
import { BUILTIN_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import { isRed, writeSvgDrawingSibling } from "../support/svg-fixture.ts";

/** What the engine passes every decode: the plugin's default pixel limit. */
const DECODE = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/encoders-preprocess");

after(() => fs.rmSync(WORK, { recursive: true, force: true }));

test("resizedSize follows shortest-edge truncation", () => {
  const spec = { resizeMode: "shortest-edge", resizeTo: 224, cropWidth: 224, cropHeight: 224 } as never;
  assert.deepEqual(resizedSize(500, 375, spec), { width: 298, height: 224 });
  assert.deepEqual(resizedSize(375, 500, spec), { width: 224, height: 298 });
});

describe("image type by content", () => {
  // An SVG named .png that draws a sibling file: red if librsvg follows the reference.
  const dir = path.join(WORK, "svg");
  const evil = path.join(dir, "evil.png");
  before(() => writeSvgDrawingSibling(dir));

  test("preprocessing never lets an SVG named .png read a sibling file", async () => {
    const pixels = await decodeForModel(evil, BUILTIN_ENCODERS[0].preprocess, DECODE);
    assert.ok(!isRed(pixels.data), "the sibling file was drawn");
  });
});
