// The result images a page shows, as names and sizes: what a montage, a query thumbnail and a full-size image are
// called (content hashes, so a file is written once and never rewritten) and the writer's interface. The writer
// itself, which decodes and draws with sharp, is compose/montage-writer.ts.
import crypto from "node:crypto";
import path from "node:path";
import { BROWSER_IMAGE_TYPES, imageExtension, type ImageType } from "../base/safe-read.ts";

/** Bump when the drawing (compose/montage-writer.ts) changes, so old files are not reused. */
export const MONTAGE_VERSION = 1;

export interface ImageFile {
  /** Absolute real path, checked by the caller (dataset listing, query resolution); read only while it stays that. */
  file: string;
  sha256: string;
}

export interface WrittenImage {
  /** File name under the output folder, e.g. "montage-1a2b3c4d5e6f.webp". */
  name: string;
  name2x: string;
  width: number;
  height: number;
}

export interface MontageWriter {
  montage(images: readonly ImageFile[], tile: number): Promise<WrittenImage>;
  thumbnail(image: ImageFile, tile: number): Promise<WrittenImage>;
  /** Publishes the image at full size; returns its file name under the output folder. */
  fullImage(image: ImageFile): Promise<string>;
  /** Files written by this writer since the last reset (for the build summary). */
  written: number;
}

function contentName(prefix: string, parts: readonly string[]): string {
  const hash = crypto.createHash("sha256").update([MONTAGE_VERSION, ...parts].join("\n")).digest("hex").slice(0, 16);
  return `${prefix}-${hash}`;
}

/** File name stem of the montage of these images (by content hash) at this tile size. */
export function montageBaseName(sha256s: readonly string[], tile: number): string {
  return contentName("montage", [String(tile), ...sha256s]);
}

export function thumbnailBaseName(sha256: string, tile: number): string {
  return contentName("query", [String(tile), sha256]);
}

/**
 * File name of the published full-size image, e.g. "full-1a2b3c4d5e6f7a8b.png": browser formats
 * (by content) keep their bytes and an extension naming that format; anything else becomes webp.
 */
export function fullImageName(sha256: string, sourceFile: string, type: ImageType): string {
  const own = path.extname(sourceFile).slice(1).toLowerCase();
  const ext = !BROWSER_IMAGE_TYPES.has(type) ? "webp" : own === "jpeg" && type === "jpeg" ? own : imageExtension(type);
  return `full-${sha256.slice(0, 16)}.${ext}`;
}
