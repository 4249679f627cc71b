// A dataset = a folder of images plus an optional manifest.json (id, file, caption, group).
// Loading lists the images, hashes each file (memoised by size+mtime in the store) and drops
// byte-identical duplicates so each content is indexed once.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { FileStat } from "../store/embedding-store.ts";

export const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif", ".tif", ".tiff"]);

export interface DatasetImage {
  id: string;
  /** Absolute path. */
  file: string;
  /** Path relative to the dataset folder, for messages. */
  relativeFile: string;
  caption: string;
  group?: string;
  sha256: string;
}

export interface Dataset {
  name: string;
  dir: string;
  images: DatasetImage[];
  /** Files listed but not indexed, with the reason (missing, duplicate content). */
  skipped: Array<{ file: string; reason: string }>;
  /** sha256 of the ordered (id, sha256) list: changes when any image changes. */
  fingerprint: string;
}

interface ManifestEntry {
  id?: unknown;
  file?: unknown;
  caption?: unknown;
  group?: unknown;
}

export interface HashMemo {
  knownHash(filePath: string, stat: FileStat): string | undefined;
  rememberHashes(entries: ReadonlyArray<{ path: string; stat: FileStat; sha256: string }>): void;
}

export function sha256File(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Reads the manifest (or lists the folder) without hashing. */
export function listDataset(dir: string): { name: string; entries: Array<Omit<DatasetImage, "sha256">> } {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`dataset folder "${dir}" does not exist; set the plugin's \`dataset\` option or the shortcode's dataset= to a folder of images (run \`npm run dataset\` for the demo one)`);
  }
  const manifestFile = path.join(dir, "manifest.json");
  if (!fs.existsSync(manifestFile)) {
    const files = fs
      .readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase()))
      .sort();
    return {
      name: path.basename(dir),
      entries: files.map((f) => ({ id: f.replaceAll(path.sep, "/"), file: path.join(dir, f), relativeFile: f, caption: path.basename(f) })),
    };
  }
  let manifest: { name?: unknown; images?: unknown };
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
  } catch (error) {
    throw new Error(`dataset manifest ${manifestFile} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(manifest.images)) throw new Error(`dataset manifest ${manifestFile} has no "images" array`);
  const seenIds = new Set<string>();
  const entries = (manifest.images as ManifestEntry[]).map((entry, index) => {
    if (typeof entry.file !== "string" || entry.file === "") {
      throw new Error(`dataset manifest ${manifestFile}: images[${index}] has no "file"`);
    }
    const file = path.resolve(dir, entry.file);
    if (path.relative(dir, file).startsWith("..") || path.isAbsolute(path.relative(dir, file))) {
      throw new Error(`dataset manifest ${manifestFile}: images[${index}].file "${entry.file}" points outside the dataset folder`);
    }
    const id = typeof entry.id === "string" && entry.id !== "" ? entry.id : entry.file;
    if (seenIds.has(id)) throw new Error(`dataset manifest ${manifestFile}: id "${id}" appears twice`);
    seenIds.add(id);
    return {
      id,
      file,
      relativeFile: entry.file,
      caption: typeof entry.caption === "string" && entry.caption !== "" ? entry.caption : path.basename(entry.file),
      group: typeof entry.group === "string" && entry.group !== "" ? entry.group : undefined,
    };
  });
  entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { name: typeof manifest.name === "string" ? manifest.name : path.basename(dir), entries };
}

export function loadDataset(dir: string, memo?: HashMemo): Dataset {
  const { name, entries } = listDataset(dir);
  const images: DatasetImage[] = [];
  const skipped: Dataset["skipped"] = [];
  const firstIdBySha = new Map<string, string>();
  const newHashes: Array<{ path: string; stat: FileStat; sha256: string }> = [];
  for (const entry of entries) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(entry.file);
    } catch {
      skipped.push({ file: entry.relativeFile, reason: "file not found" });
      continue;
    }
    if (!stat.isFile()) {
      skipped.push({ file: entry.relativeFile, reason: "not a file" });
      continue;
    }
    let sha256 = memo?.knownHash(entry.file, stat);
    if (!sha256) {
      sha256 = sha256File(entry.file);
      newHashes.push({ path: entry.file, stat, sha256 });
    }
    const firstId = firstIdBySha.get(sha256);
    if (firstId) {
      skipped.push({ file: entry.relativeFile, reason: `same content as "${firstId}"` });
      continue;
    }
    firstIdBySha.set(sha256, entry.id);
    images.push({ ...entry, sha256 });
  }
  if (newHashes.length) memo?.rememberHashes(newHashes);
  const fingerprint = crypto
    .createHash("sha256")
    .update(images.map((i) => `${i.id}\0${i.sha256}`).join("\n"))
    .digest("hex");
  return { name, dir, images, skipped, fingerprint };
}
