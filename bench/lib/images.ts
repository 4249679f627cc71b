// Synthetic image data sets: deterministic pictures (a gradient and a few rectangles), written
// once under .cache/bench and reused. Content matters little for throughput; size and format do.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { ensureDir, seededRandom } from "./common.ts";

export interface ImageSetOptions {
  count: number;
  width: number;
  height: number;
  format: "png" | "jpeg";
  seed?: number;
  /** Also write a manifest.json (default: none, the folder listing is the dataset). */
  manifest?: boolean;
}

export function imageName(i: number, format: "png" | "jpeg"): string {
  return `img-${String(i).padStart(6, "0")}.${format === "jpeg" ? "jpg" : "png"}`;
}

/** Raw RGB pixels of picture `i` of a set; `variant` changes it (for "edited image" runs). */
export function picture(i: number, width: number, height: number, seed: number, variant = 0): Buffer {
  const random = seededRandom(seed * 1_000_003 + i * 7919 + variant * 104_729);
  const data = Buffer.alloc(width * height * 3);
  const base = [random() * 255, random() * 255, random() * 255];
  const slope = [random() - 0.5, random() - 0.5, random() - 0.5];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = Math.max(0, Math.min(255, base[c] + slope[c] * (x + y) * (255 / (width + height)) * 2));
    }
  }
  for (let r = 0; r < 4; r++) {
    const [x0, y0] = [Math.floor(random() * width), Math.floor(random() * height)];
    const [w, h] = [Math.ceil((random() * width) / 3), Math.ceil((random() * height) / 3)];
    const colour = [random() * 255, random() * 255, random() * 255];
    for (let y = y0; y < Math.min(height, y0 + h); y++) {
      for (let x = x0; x < Math.min(width, x0 + w); x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = colour[c];
    }
  }
  return data;
}

export async function writePicture(file: string, pixels: Buffer, options: Pick<ImageSetOptions, "width" | "height" | "format">): Promise<void> {
  const image = sharp(pixels, { raw: { width: options.width, height: options.height, channels: 3 } });
  await (options.format === "jpeg" ? image.jpeg({ quality: 85 }) : image.png({ compressionLevel: 6 })).toFile(file);
}

/**
 * A dataset folder `dir` with `images/img-000000.png …` (ids = paths, from the folder listing),
 * generated on first use (a marker file records the parameters).
 */
export async function ensureImageSet(dir: string, options: ImageSetOptions): Promise<string[]> {
  const seed = options.seed ?? 1;
  const marker = path.join(dir, `.complete-${options.count}-${options.width}x${options.height}-${options.format}-${seed}`);
  const files = Array.from({ length: options.count }, (_, i) => path.join("images", imageName(i, options.format)));
  if (fs.existsSync(marker)) return files;
  fs.rmSync(dir, { recursive: true, force: true });
  ensureDir(path.join(dir, "images"));
  const concurrency = 8;
  for (let start = 0; start < options.count; start += concurrency) {
    await Promise.all(
      files
        .slice(start, start + concurrency)
        .map((file, j) => writePicture(path.join(dir, file), picture(start + j, options.width, options.height, seed), options)),
    );
  }
  if (options.manifest) writeManifest(dir, files);
  fs.writeFileSync(marker, "");
  return files;
}

export function writeManifest(dir: string, files: readonly string[]): void {
  const images = files.map((file) => ({ id: path.basename(file).replace(/\.\w+$/, ""), file, caption: path.basename(file) }));
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify({ name: path.basename(dir), images }));
}
