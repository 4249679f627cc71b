// Imports a sample of the meme dataset the 2021 posts used (Jina's memes.json, scraped from
// imgflip) as a dataset folder: images/ plus manifest.json with group = meme template.
//
// memes.json, as read here: a JSON array of templates, each { "name": "<template>",
// "generated_memes": [{ "image_url": "//i.imgflip.com/abc123.jpg", "caption_text": "…" }, …] }.
// The reader is tolerant: the array may also sit under "templates", "data" or "memes"; a
// template's name may be "name", "template" or "title"; its memes "generated_memes", "memes" or
// "generatedMemes"; a meme's image "image_url", "imageUrl", "url" or "src"; its caption
// "caption_text", "caption", "text" or "title" (a list of strings is joined with " / ").
// A meme without an image URL stays in the list (so sampling matches the original) and is
// reported as failed.
//
// Sampling: all memes are listed template by template in file order, shuffled with CPython's
// algorithm (random.seed(seed); random.shuffle(memes)) and the first `limit` kept — the same
// procedure and seed (42) as the 2021 backend, so the same memes.json yields the same sample.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomicSync } from "../base/atomic-write.ts";
import { shownItem } from "../base/shown-item.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { httpGetWithRetries } from "../base/http-get.ts";
import { checkUrl, displayUrl } from "../base/url-policy.ts";
import { NetError } from "../base/http-errors.ts";
import { PythonRandom } from "./python-random.ts";

export const DATASET_URL_ENV = "ENCODER_COMPARE_DATASET_URL";
const SOURCE_STATE = "import-source.json";
const REPORT_FILE = "import-report.json";

export interface Meme {
  template: string;
  /** Absent when the entry has no usable image URL. */
  imageUrl?: string;
  caption?: string;
  /** Position in memes.json's flattened list (template order, then meme order). */
  position: number;
}

function firstString(record: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = record[key];
    if (typeof value === "string" && value.trim() !== "") return value.trim();
    if (Array.isArray(value) && value.length && value.every((v) => typeof v === "string")) {
      const joined = value.map((v: string) => v.trim()).filter(Boolean).join(" / ");
      if (joined) return joined;
    }
  }
  return undefined;
}

function firstArray(record: Record<string, unknown>, keys: readonly string[]): unknown[] | undefined {
  for (const key of keys) if (Array.isArray(record[key])) return record[key] as unknown[];
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Flattens memes.json into memes with their template; throws if the structure is not recognisable. */
export function parseMemesJson(data: unknown, source: string): Meme[] {
  const templates = Array.isArray(data) ? data : isRecord(data) ? firstArray(data, ["templates", "data", "memes"]) : undefined;
  if (!templates) {
    throw new Error(
      `${source}: expected a JSON array of meme templates ({ "name", "generated_memes": [{ "image_url", "caption_text" }] }), ` +
        `got ${Array.isArray(data) ? "an array" : typeof data}`,
    );
  }
  const memes: Meme[] = [];
  let templatesWithMemes = 0;
  templates.forEach((template, t) => {
    if (!isRecord(template)) return;
    const list = firstArray(template, ["generated_memes", "memes", "generatedMemes"]);
    if (!list) return;
    templatesWithMemes++;
    const name = firstString(template, ["name", "template", "title"]) ?? `template-${t + 1}`;
    for (const entry of list) {
      const fields = isRecord(entry) ? entry : {};
      memes.push({
        template: name,
        imageUrl: firstString(fields, ["image_url", "imageUrl", "url", "src"]),
        caption: firstString(fields, ["caption_text", "caption", "text", "title"]),
        position: memes.length,
      });
    }
  });
  if (templatesWithMemes === 0) {
    throw new Error(`${source}: none of its ${templates.length} entries has a "generated_memes" list; is this the memes.json of the Jina meme search example?`);
  }
  return memes;
}

/** CPython-compatible seeded shuffle of all memes, first `limit` kept. */
export function sampleMemes(memes: readonly Meme[], limit: number, seed: number): Meme[] {
  return new PythonRandom(seed).shuffle([...memes]).slice(0, limit);
}

const IMAGE_SIGNATURES: Array<{ ext: string; test: (b: Buffer) => boolean }> = [
  { ext: ".jpg", test: (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { ext: ".png", test: (b) => b.length > 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { ext: ".gif", test: (b) => b.length > 6 && /^GIF8[79]a$/.test(b.subarray(0, 6).toString("latin1")) },
  { ext: ".webp", test: (b) => b.length > 12 && b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WEBP" },
  { ext: ".avif", test: (b) => b.length > 12 && b.subarray(4, 12).toString("latin1") === "ftypavif" },
];
const KNOWN_EXTENSIONS = [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"];

/** The image type's file extension from its first bytes, or undefined when it is not an image we read. */
export function sniffImageExtension(bytes: Buffer): string | undefined {
  return IMAGE_SIGNATURES.find((s) => s.test(bytes))?.ext;
}

function describeNonImage(bytes: Buffer): string {
  if (bytes.length === 0) return "not an image (empty reply)";
  const start = bytes.subarray(0, 16).toString("latin1").replace(/[^\x20-\x7e]/g, ".");
  return `not an image (starts with ${JSON.stringify(start)})`;
}

export interface PlannedImage {
  id: string;
  meme: Meme;
  /** Resolved https (or loopback http) URL, when the meme has one. */
  url?: URL;
}

/** Characters of an id taken from a URL (room is left for "-<n>" and the extension within a 255-byte file name). */
const MAX_ID_CHARS = 120;

/** A file-name-safe id from the image URL's last path segment (as the 2021 scripts named files), made unique. */
export function planImages(sample: readonly Meme[], baseUrl: URL): PlannedImage[] {
  const used = new Set<string>();
  return sample.map((meme) => {
    let url: URL | undefined;
    try {
      if (meme.imageUrl) {
        url = new URL(meme.imageUrl, baseUrl);
        // imgflip links are protocol-relative or plain http; fetch them over https.
        if (url.protocol === "http:" && baseUrl.protocol === "https:") url.protocol = "https:";
      }
    } catch {
      url = undefined;
    }
    const last = url ? decodeOrRaw(url.pathname.split("/").pop() ?? "") : "";
    // Capped: a file name is at most 255 bytes, and one record's long URL must not end the import (ENAMETOOLONG).
    const safe = last.replace(/\.[A-Za-z0-9]{1,5}$/, "").replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, MAX_ID_CHARS);
    let stem = safe.replace(/^[-.]+|[-.]+$/g, "");
    if (!stem) stem = `meme-${meme.position + 1}`;
    let id = stem;
    for (let n = 2; used.has(id); n++) id = `${stem}-${n}`;
    used.add(id);
    return { id, meme, url };
  });
}

/** A URL path segment decoded where it is valid percent-encoding, else as written (`bad%E0%A4%A.png`). */
function decodeOrRaw(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export interface ImportOptions {
  outDir: string;
  url: string;
  limit: number;
  seed: number;
  concurrency: number;
  /** Tries per download in all. */
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  maxImageBytes: number;
  /** Download memes.json again even when the copy in outDir came from the same URL. */
  refresh: boolean;
  /** Lines for the log (progress on a non-terminal, the summary, failures). */
  log: (line: string) => void;
  /** A terminal to redraw one progress line on, instead of periodic log lines. */
  tty?: { write(chunk: string): unknown };
  signal?: AbortSignal;
}

export interface ImportFailure {
  id: string;
  url?: string;
  reason: string;
}

export interface ImportResult {
  memes: number;
  sampled: number;
  downloaded: number;
  /** Already in the folder from an earlier run, and valid. */
  reused: number;
  failed: ImportFailure[];
  manifestFile: string;
}

function writeAtomically(file: string, data: string | Buffer): void {
  try {
    writeFileAtomicSync(file, data, { temp: `${file}.${process.pid}.part` });
  } catch (error) {
    throw new Error(`cannot write ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function sha256(data: Buffer): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** memes.json from the folder when an earlier run fetched it from the same URL, else downloaded. */
async function obtainMemesJson(options: ImportOptions, url: URL): Promise<Buffer> {
  const file = path.join(options.outDir, "memes.json");
  const stateFile = path.join(options.outDir, SOURCE_STATE);
  if (!options.refresh && fs.existsSync(file) && fs.existsSync(stateFile)) {
    try {
      const state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as { url?: string; sha256?: string };
      const bytes = fs.readFileSync(file);
      if (state.url === displayUrl(url) && state.sha256 === sha256(bytes)) {
        options.log(`memes.json: using the copy in ${file} (from ${state.url}; --refresh downloads it again)`);
        return bytes;
      }
    } catch {
      // Unreadable state: download again.
    }
  }
  options.log(`memes.json: downloading ${displayUrl(url)}`);
  const bytes = await httpGetWithRetries(url, {
    what: "memes.json URL",
    attempts: options.attempts,
    backoffMs: options.backoffMs,
    timeoutMs: Math.max(options.timeoutMs, DEFAULTS.importer.memesJsonTimeoutMs),
    maxBytes: DEFAULTS.importer.maxMemesJsonBytes,
    signal: options.signal,
  });
  writeAtomically(file, bytes);
  writeAtomically(stateFile, JSON.stringify({ url: displayUrl(url), sha256: sha256(bytes), bytes: bytes.length }, null, 2) + "\n");
  return bytes;
}

/** An image already in the folder under this id with a valid image signature. */
function existingImage(imagesDir: string, id: string): string | undefined {
  for (const ext of KNOWN_EXTENSIONS) {
    const file = path.join(imagesDir, id + ext);
    try {
      const fd = fs.openSync(file, "r");
      try {
        const head = Buffer.alloc(16);
        const read = fs.readSync(fd, head, 0, 16, 0);
        if (sniffImageExtension(head.subarray(0, read))) return file;
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // Not there (or unreadable): try the next extension.
    }
  }
  return undefined;
}

function progressReporter(options: ImportOptions, total: number) {
  let lastStep = 0;
  let lastLength = 0;
  let lastDraw = 0;
  return {
    update(done: number, failed: number, reused: number) {
      const line = `images: ${done}/${total} done (${reused} already here, ${failed} failed)`;
      if (options.tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        options.tty.write(`\r${line}${" ".repeat(Math.max(0, lastLength - line.length))}`);
        lastLength = line.length;
        return;
      }
      // Plain output (CI, pipes): one line per tenth of the work.
      const step = Math.floor((done / total) * 10);
      if (step > lastStep || done === total) {
        lastStep = step;
        options.log(line);
      }
    },
    end() {
      if (options.tty && lastLength) options.tty.write("\n");
    },
  };
}

export async function importJinaMemes(options: ImportOptions): Promise<ImportResult> {
  let sourceUrl: URL;
  try {
    sourceUrl = new URL(options.url);
  } catch (error) {
    throw new Error(`memes.json URL "${options.url}" is not a valid URL (set --url or ${DATASET_URL_ENV} to an https URL)`, { cause: error });
  }
  checkUrl(sourceUrl, "memes.json URL");
  const imagesDir = path.join(options.outDir, "images");
  fs.mkdirSync(imagesDir, { recursive: true });
  for (const name of fs.readdirSync(imagesDir)) if (name.endsWith(".part")) fs.rmSync(path.join(imagesDir, name), { force: true });

  const json = await obtainMemesJson(options, sourceUrl);
  let data: unknown;
  try {
    data = JSON.parse(json.toString("utf8"));
  } catch (error) {
    throw new Error(`memes.json from ${displayUrl(sourceUrl)} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const memes = parseMemesJson(data, `memes.json from ${displayUrl(sourceUrl)}`);
  const planned = planImages(sampleMemes(memes, options.limit, options.seed), sourceUrl);
  options.log(`sampled ${planned.length} of ${memes.length} memes (seed ${options.seed}); downloading into ${imagesDir} with ${options.concurrency} at a time`);

  const files = new Map<string, string>();
  const failed: ImportFailure[] = [];
  let reused = 0;
  let downloaded = 0;
  let done = 0;
  const progress = progressReporter(options, planned.length);

  async function fetchOne(image: PlannedImage): Promise<void> {
    const present = existingImage(imagesDir, image.id);
    if (present) {
      files.set(image.id, present);
      reused++;
      return;
    }
    if (!image.url) {
      failed.push({ id: image.id, reason: image.meme.imageUrl ? `image URL "${image.meme.imageUrl}" is not valid` : "no image URL in memes.json" });
      return;
    }
    let bytes: Buffer;
    try {
      // Any error of this one record (its URL, its reply) is reported and skipped; the import goes on.
      bytes = await httpGetWithRetries(image.url, {
        what: "image URL",
        attempts: options.attempts,
        backoffMs: options.backoffMs,
        timeoutMs: options.timeoutMs,
        maxBytes: options.maxImageBytes,
        signal: options.signal,
        // memes.json names the images: only public addresses, or the host the user named for memes.json.
        fromData: true,
        configuredHosts: [sourceUrl.host],
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const reason = error instanceof NetError ? message.replace(`${displayUrl(image.url)}: `, "") : `cannot fetch it (${message})`;
      failed.push({ id: image.id, url: displayUrl(image.url), reason });
      return;
    }
    const ext = sniffImageExtension(bytes);
    if (!ext) {
      failed.push({ id: image.id, url: displayUrl(image.url), reason: describeNonImage(bytes) });
      return;
    }
    const file = path.join(imagesDir, image.id + ext);
    writeAtomically(file, bytes);
    files.set(image.id, file);
    downloaded++;
  }

  let next = 0;
  const worker = async () => {
    while (next < planned.length) {
      const image = planned[next++];
      await fetchOne(image);
      done++;
      progress.update(done, failed.length, reused);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, planned.length)) }, worker));
  } finally {
    progress.end();
  }

  const images = planned
    .filter((image) => files.has(image.id))
    .map((image) => ({
      id: image.id,
      file: path.relative(options.outDir, files.get(image.id)!).split(path.sep).join("/"),
      caption: image.meme.caption ?? image.meme.template,
      group: image.meme.template,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const manifest = {
    name: "jina-memes",
    description:
      `A sample of ${planned.length} memes from memes.json (imgflip memes grouped by template), drawn as the 2021 posts did: ` +
      `every meme listed template by template, shuffled with Python's random.seed(${options.seed}) + random.shuffle, first ${options.limit} kept. ` +
      `group = meme template. Images that could not be downloaded are left out (see ${REPORT_FILE}).`,
    source: { url: displayUrl(sourceUrl), memesJsonSha256: sha256(json), seed: options.seed, limit: options.limit, memes: memes.length },
    license: "Not granted by encoder-compare: the memes and memes.json belong to their authors and publishers; using them is your responsibility.",
    images,
  };
  const manifestFile = path.join(options.outDir, "manifest.json");
  writeAtomically(manifestFile, JSON.stringify(manifest, null, 2) + "\n");
  failed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  writeAtomically(path.join(options.outDir, REPORT_FILE), JSON.stringify({ sampled: planned.length, imported: images.length, failed }, null, 2) + "\n");

  options.log(
    `imported ${images.length} of ${planned.length} sampled memes (${downloaded} downloaded, ${reused} already here) into ${options.outDir}; ` +
      `manifest: ${manifestFile}`,
  );
  if (failed.length) {
    const shown = failed.slice(0, 20).map((f) => `  ${shownItem(`${f.id}: ${f.reason}${f.url ? ` (${f.url})` : ""}`)}`);
    const more = failed.length > shown.length ? `\n  … and ${failed.length - shown.length} more` : "";
    options.log(`${failed.length} image(s) failed:\n${shown.join("\n")}${more}\n  full list: ${path.join(options.outDir, REPORT_FILE)}`);
  }
  return { memes: memes.length, sampled: planned.length, downloaded, reused, failed, manifestFile };
}
