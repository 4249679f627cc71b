// Result images drawn and written: one montage per (results, tile size), one thumbnail per query, and
// the full-size image behind each result link. Names are content hashes, so a file is written
// once and never rewritten.
import fs from "node:fs";
import path from "node:path";
import type SharpFactory from "sharp";
import type { Sharp } from "sharp";
import { BROWSER_IMAGE_TYPES, readChecked, readHeadChecked, sniffImageType, type ImageType } from "../base/safe-read.ts";
import { removeDeadLeftovers, writeFileAtomic } from "../base/atomic-write.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { decodeWithinLimit } from "../base/pixel-limit.ts";
import {
  fullImageName,
  montageBaseName,
  thumbnailBaseName,
  type ImageFile,
  type MontageWriter,
  type WrittenImage,
} from "../render/result-images.ts";

let sharpLoaded: typeof SharpFactory | undefined;
/** sharp, loaded when the first image is drawn: a rebuild whose files all exist never loads it (~100 ms). */
async function loadSharp(): Promise<typeof SharpFactory> {
  return (sharpLoaded ??= (await import("sharp")).default);
}

const GAP = 8;
const BACKGROUND = { r: 255, g: 255, b: 255, alpha: 1 };

function montageWidth(count: number, tile: number): number {
  return count * tile + (count - 1) * GAP;
}

const READ_POLICY = { maxBytes: DEFAULTS.images.maxImageBytes };

/** A sharp pipeline over an image's bytes: its first frame, refused above `limitInputPixels` before a pixel is decoded. */
async function openImage(bytes: Buffer, limitInputPixels: number): Promise<Sharp> {
  return (await loadSharp())(bytes, { pages: 1, limitInputPixels });
}

async function tileBuffer(file: string, size: number, limitInputPixels: number): Promise<Buffer> {
  const bytes = await readChecked(file, READ_POLICY);
  return decodeWithinLimit(file, limitInputPixels, async () =>
    (await openImage(bytes, limitInputPixels))
      .rotate()
      .flatten({ background: BACKGROUND })
      .resize(size, size, { fit: "contain", background: BACKGROUND })
      .png()
      .toBuffer(),
  );
}

/** Temp names: `<final name>.<pid>.tmp`. */
const TEMP_NAME = /^(?:montage|query|full)-[0-9a-f]{16}[^/]*\.(\d+)\.tmp$/;

async function writeAtomically(target: string, data: Buffer, tempDir: string): Promise<void> {
  const besideTarget = `${target}.${process.pid}.tmp`;
  let temp = path.join(tempDir, path.basename(besideTarget));
  try {
    try {
      await fs.promises.mkdir(tempDir, { recursive: true });
      await writeFileAtomic(target, data, { temp });
    } catch (error) {
      if (temp === besideTarget) throw error;
      // Temp folder read-only or on another file system (EXDEV): stage next to the target instead.
      temp = besideTarget;
      await writeFileAtomic(target, data, { temp });
    }
  } catch (error) {
    throw new Error(`cannot write ${target}: ${(error as Error).message}`, { cause: error });
  }
}

export interface MontageWriterOptions {
  /**
   * Where images are written before being renamed into the output folder (default: the output
   * folder itself). The plugin uses the cache folder, so a killed build leaves nothing in _site.
   */
  tempDir?: string;
  /**
   * Images with more pixels are refused, naming the file and the option (default DEFAULTS.embedding.limitInputPixels;
   * the plugin passes its limitInputPixels option, so a page draws only what the build would embed).
   */
  limitInputPixels?: number;
}

/**
 * Full-size image names by content and file extension, for the whole process: a name is a function of the two, and a
 * map publishes every point's image on every build, so the head of each file is read for its type once, not per build.
 */
const fullImageNames = new Map<string, string>();

export function createMontageWriter(outputDir: string, writerOptions: MontageWriterOptions = {}): MontageWriter {
  const inFlight = new Map<string, Promise<void>>();
  const tempDir = writerOptions.tempDir ?? outputDir;
  const limitInputPixels = writerOptions.limitInputPixels ?? DEFAULTS.embedding.limitInputPixels;
  for (const dir of new Set([outputDir, tempDir])) removeDeadLeftovers(dir, TEMP_NAME);

  async function ensure(name: string, draw: () => Promise<Buffer>): Promise<void> {
    let pending = inFlight.get(name);
    if (!pending) {
      const target = path.join(outputDir, name);
      pending = (async () => {
        if (fs.existsSync(target)) return;
        await fs.promises.mkdir(outputDir, { recursive: true });
        await writeAtomically(target, await draw(), tempDir);
        writer.written++;
      })();
      inFlight.set(name, pending);
      pending.catch(() => inFlight.delete(name));
    }
    await pending;
  }

  async function drawMontage(images: readonly ImageFile[], tile: number, scale: number): Promise<Buffer> {
    const size = tile * scale;
    const gap = GAP * scale;
    const tiles = await Promise.all(images.map((image) => tileBuffer(image.file, size, limitInputPixels)));
    const sharp = await loadSharp();
    return sharp({ create: { width: montageWidth(images.length, tile) * scale, height: size, channels: 4, background: BACKGROUND } })
      .composite(tiles.map((input, i) => ({ input, left: i * (size + gap), top: 0 })))
      .webp({ quality: 82, effort: 4 })
      .toBuffer();
  }

  const writer: MontageWriter = {
    written: 0,
    async montage(images, tile) {
      const base = montageBaseName(images.map((i) => i.sha256), tile);
      if (images.length === 0) throw new Error("a montage needs at least one image");
      const result = { name: `${base}.webp`, name2x: `${base}@2x.webp`, width: montageWidth(images.length, tile), height: tile };
      await Promise.all([
        ensure(result.name, () => drawMontage(images, tile, 1)),
        ensure(result.name2x, () => drawMontage(images, tile, 2)),
      ]);
      return result;
    },
    async thumbnail(image, tile) {
      const base = thumbnailBaseName(image.sha256, tile);
      const result = { name: `${base}.webp`, name2x: `${base}@2x.webp`, width: tile, height: tile };
      const draw = (size: number) => async () =>
        (await openImage(await tileBuffer(image.file, size, limitInputPixels), limitInputPixels)).webp({ quality: 82, effort: 4 }).toBuffer();
      await Promise.all([ensure(result.name, draw(tile)), ensure(result.name2x, draw(tile * 2))]);
      return result;
    },
    async fullImage(image) {
      const known = `${image.sha256}:${path.extname(image.file).toLowerCase()}`;
      let name = fullImageNames.get(known);
      let type: ImageType | undefined;
      if (name === undefined) {
        type = sniffImageType(readHeadChecked(image.file, READ_POLICY).head);
        if (!type) throw new Error(`${image.file} is not an image (unrecognised content)`);
        name = fullImageName(image.sha256, image.file, type);
        fullImageNames.set(known, name);
      }
      await ensure(name, async () => {
        type ??= sniffImageType(readHeadChecked(image.file, READ_POLICY).head);
        if (!type) throw new Error(`${image.file} is not an image (unrecognised content)`);
        const bytes = await readChecked(image.file, READ_POLICY);
        // Published as they are, but only within the limit: the reader's browser decodes them.
        if (BROWSER_IMAGE_TYPES.has(type)) {
          await decodeWithinLimit(image.file, limitInputPixels, async () => (await openImage(bytes, limitInputPixels)).metadata());
          return bytes;
        }
        const decode = async () => (await openImage(bytes, limitInputPixels)).rotate().webp({ quality: 90 }).toBuffer();
        return decodeWithinLimit(image.file, limitInputPixels, decode);
      });
      return name;
    },
  };
  return writer;
}
