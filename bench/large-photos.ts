// Decode + resize of large dataset photos for the built-in encoders, one way per process, for
// paired whole-process timing:
//   farm-bench --vs 'npx tsx bench/large-photos.ts sharp' -- npx tsx bench/large-photos.ts shrink
// shrink: what dataset embedding runs (libvips shrinks on load, the exact resampler finishes);
// whole: the whole frame decoded into JS and resized in TypeScript (what queries and the browser run);
// sharp: libvips alone to the final size, the yardstick. Photos (2400×1800 JPEGs) are made once
// under .cache/bench-large-photos. Prints the CPU ms per image of the decode+resize loop.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { decodeForModel } from "../plugins/encoder-compare/encoders/preprocess.ts";
import { BUILTIN_ENCODERS } from "../plugins/encoder-compare/encoders/registry.ts";
import { DEFAULTS } from "../plugins/encoder-compare/base/defaults.ts";

const MODES = ["shrink", "whole", "sharp"] as const;
const mode = process.argv[2] as (typeof MODES)[number];
if (!MODES.includes(mode)) throw new Error(`usage: tsx bench/large-photos.ts ${MODES.join("|")}`);
const COUNT = Number(process.env.PHOTOS ?? 16);
const DIR = path.resolve(".cache/bench-large-photos");
const SOURCE = path.resolve("test/fixtures/preprocess-2021/images/shrink-2050x2047.jpg");

async function photos(): Promise<string[]> {
  fs.mkdirSync(DIR, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const file = path.join(DIR, `photo-${i}.jpg`);
    if (!fs.existsSync(file)) {
      const image = sharp(SOURCE).extract({ left: i * 40, top: i * 30, width: 1400, height: 1050 }).resize(2400, 1800, { fit: "fill" });
      await image.modulate({ hue: i * 20 }).jpeg({ quality: 90 }).toFile(file);
    }
    files.push(file);
  }
  return files;
}

const files = await photos();
const decode = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };
const started = process.cpuUsage();
let checksum = 0;
for (const file of files) {
  for (const encoder of BUILTIN_ENCODERS) {
    const spec = encoder.preprocess;
    const data =
      mode === "sharp"
        ? await sharp(file).rotate().resize(spec.cropWidth, spec.cropHeight, { fit: "fill" }).removeAlpha().raw().toBuffer()
        : (await decodeForModel(file, spec, { ...decode, shrinkOnLoad: mode === "shrink" })).data;
    checksum += data[0];
  }
}
const cpu = process.cpuUsage(started);
const images = files.length * BUILTIN_ENCODERS.length;
process.stdout.write(`${mode}: ${((cpu.user + cpu.system) / 1000 / images).toFixed(1)} CPU ms per image (${images} decodes, checksum ${checksum})\n`);
