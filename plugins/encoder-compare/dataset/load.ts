// A dataset = a folder of images plus an optional manifest.json or manifest.csv (id, file,
// caption, group; see manifest.ts).
// Loading lists the images, hashes each file (memoised by size+mtime in the store) and drops
// byte-identical duplicates so each content is indexed once. Every member is opened through
// safe-read.ts: one outside the dataset folder and the project, not a regular file, too large or
// not an image by its bytes is skipped with its reason.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { FileStat } from "../store/embedding-store.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { cutText } from "../base/shown-item.ts";
import { TextCaps } from "./dataset-text.ts";
import { readManifest, type RawManifestEntry } from "./manifest.ts";
import {
  FileRefusedError,
  hashOpened,
  isInside,
  openChecked,
  readHead,
  realRoots,
  sniffImageType,
  statChecked,
  type ReadPolicy,
} from "../base/safe-read.ts";

export const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif", ".tif", ".tiff"]);

export interface DatasetImage {
  id: string;
  /** Absolute real path (checked to be inside the dataset folder or the project when listed). */
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
  /** Lines the build warns with once (strings cut to their caps, entries dropped). */
  warnings: string[];
  /** sha256 of the ordered (id, sha256) list: changes when any image changes. */
  fingerprint: string;
}

export interface HashMemo {
  knownHash(filePath: string, stat: FileStat): string | undefined;
  rememberHashes(entries: ReadonlyArray<{ path: string; stat: FileStat; sha256: string }>): void;
}

export interface FileHash {
  real: string;
  stat: fs.Stats;
  sha256: string;
}

/**
 * The real path, stat and sha256 of an image file opened through safe-read.ts; the hash comes
 * from `memo` when size and mtime match, else from streaming the file. Throws FileRefusedError,
 * also when the bytes are not an image (before hashing them).
 */
export function hashImageFile(file: string, policy: ReadPolicy, memo?: HashMemo, fresh?: Array<{ path: string; stat: FileStat; sha256: string }>): FileHash {
  if (memo) {
    // Only images are remembered, so a remembered hash needs no open (warm builds of large datasets).
    const { real, stat } = statChecked(file, policy);
    const sha256 = memo.knownHash(real, stat);
    if (sha256) return { real, stat, sha256 };
  }
  const opened = openChecked(file, policy);
  try {
    if (!sniffImageType(readHead(opened))) throw new FileRefusedError(`unsupported content: not a PNG, JPEG, GIF, WebP, AVIF, HEIF, TIFF or SVG image`);
    let sha256 = memo?.knownHash(opened.real, opened.stat);
    if (!sha256) {
      sha256 = hashOpened(opened);
      if (fresh) fresh.push({ path: opened.real, stat: opened.stat, sha256 });
      else memo?.rememberHashes([{ path: opened.real, stat: opened.stat, sha256 }]);
    }
    return { real: opened.real, stat: opened.stat, sha256 };
  } finally {
    fs.closeSync(opened.fd);
  }
}

export interface LoadOptions {
  /** Members may also resolve inside this folder (besides the dataset's own). */
  projectRoot?: string;
  /** Members larger than this are skipped (default DEFAULTS.images.maxImageBytes). */
  maxImageBytes?: number;
}

/** Characters of an unlisted folder's path shown: enough to find it, short enough that the reason shows too. */
const SHOWN_FOLDER_CHARS = 48;

/** A folder below the dataset folder that was not listed, and why. */
interface UnlistedFolder {
  file: string;
  reason: string;
}

/**
 * Paths of all entries under `dir` that are not folders, relative to it (symlinked folders are
 * not entered). Same result as readdirSync(dir, { recursive: true }) minus the folders, which on
 * Node 20 is ~10× slower (30 ms for 5,000 files). A folder that cannot be listed (a path too long
 * for the system, no permission) or lies deeper than maxFolderDepth is left out and reported;
 * the rest of the dataset is listed.
 */
function listFilesRecursively(dir: string, unlisted: UnlistedFolder[], prefix = "", depth = 0): string[] {
  const out: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(dir, prefix), { withFileTypes: true });
  } catch (error) {
    if (!prefix) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    const why = code === "ENAMETOOLONG" ? "its path is longer than the system allows" : "it cannot be read";
    unlisted.push({ file: cutText(prefix, SHOWN_FOLDER_CHARS), reason: `folder not listed: ${why} (${code})` });
    return out;
  }
  for (const entry of entries) {
    const relative = prefix ? path.join(prefix, entry.name) : entry.name;
    if (!entry.isDirectory()) out.push(relative);
    else if (depth + 1 < DEFAULTS.datasetLimits.maxFolderDepth) out.push(...listFilesRecursively(dir, unlisted, relative, depth + 1));
    else {
      const limit = DEFAULTS.datasetLimits.maxFolderDepth;
      unlisted.push({ file: cutText(relative, SHOWN_FOLDER_CHARS), reason: `folder not listed: nested deeper than ${limit} folders` });
    }
  }
  return out;
}

export interface DatasetListing {
  name: string;
  entries: Array<Omit<DatasetImage, "sha256">>;
  /** Members left out while listing (folders that cannot be listed). */
  skipped: Array<{ file: string; reason: string }>;
  /** One line per thing the build should warn about (strings cut to their caps). */
  warnings: string[];
}

/** A string as messages show it: JSON quoting, every character outside printable ASCII as \uXXXX (lookalikes differ). */
function spelled(text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Remembers ids (as kept: NFC, capped) with the position of the entry that gave each; a second one equal to an earlier
 * one is an error naming both. `describe` gives an entry's place and id as written, only when a message needs them.
 */
function idRegistry(source: string, describe: (at: number) => { raw: string; where: string }): (id: string, at: number) => void {
  const seen = new Map<string, number>();
  return (id, at) => {
    const firstAt = seen.get(id);
    if (firstAt === undefined) return void seen.set(id, at);
    const [first, second] = [describe(firstAt), describe(at)];
    const raw = (d: { raw: string }) => spelled(cutText(d.raw, DEFAULTS.datasetLimits.maxIdChars));
    const place = (d: { where: string }) => d.where.replace(/ id$/, "");
    const same = first.raw === second.raw ? `id ${raw(first)} appears twice (${place(first)} and ${place(second)})` :
      `${first.where} ${raw(first)} and ${second.where} ${raw(second)} are the same id once normalised (Unicode NFC, ` +
        `${DEFAULTS.datasetLimits.maxIdChars}-character cap)`;
    throw new Error(`${source}: ${same}; give each image its own id`);
  };
}

/** Reads the manifest (or lists the folder) without hashing. */
export function listDataset(dir: string): DatasetListing {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(
      `dataset folder "${dir}" does not exist; set the plugin's \`dataset\` option or the shortcode's dataset= to a folder of images ` +
        `(run \`npm run dataset\` for the demo one)`,
    );
  }
  const caps = new TextCaps();
  const manifest = readManifest(dir);
  const warnings = () => {
    const warning = caps.warning(manifest ? `dataset manifest ${manifest.file}` : `dataset folder ${dir}`);
    return warning ? [warning] : [];
  };
  if (!manifest) {
    const unlisted: UnlistedFolder[] = [];
    const files = listFilesRecursively(dir, unlisted)
      .filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase()))
      .sort();
    const remember = idRegistry(`dataset folder ${dir}`, (at) => ({ raw: files[at].replaceAll(path.sep, "/"), where: "file" }));
    const entries = files.map((f, at) => {
      const raw = f.replaceAll(path.sep, "/");
      const id = caps.keep(raw, "id", () => `file ${cutText(raw, 60)}`);
      remember(id, at);
      const caption = caps.keep(path.basename(f), "caption", () => `file ${cutText(raw, 60)}`);
      return { id, file: path.join(dir, f), relativeFile: cutText(f, DEFAULTS.datasetLimits.maxIdChars), caption };
    });
    return { name: path.basename(dir), entries, skipped: unlisted, warnings: warnings() };
  }
  const manifestFile = manifest.file;
  const rawId = (entry: RawManifestEntry) => (typeof entry.id === "string" && entry.id !== "" ? entry.id : String(entry.file));
  const remember = idRegistry(`dataset manifest ${manifestFile}`, (at) => ({ raw: rawId(manifest.entries[at]), where: `${manifest.entries[at].where} id` }));
  // Each file is listed once however many entries name it (in any spelling): work grows with distinct files.
  const resolved = new Map<string, string>();
  const firstByFile = new Map<string, { id: string; relativeFile: string; more: number }>();
  const entries: DatasetListing["entries"] = [];
  for (const [at, entry] of manifest.entries.entries()) {
    if (typeof entry.file !== "string" || entry.file === "") {
      throw new Error(`dataset manifest ${manifestFile}: ${entry.where} has no "file"`);
    }
    const shownFile = cutText(entry.file, DEFAULTS.datasetLimits.maxIdChars);
    let file = resolved.get(entry.file);
    if (file === undefined) {
      file = path.resolve(dir, entry.file);
      if (!isInside(dir, file)) {
        throw new Error(`dataset manifest ${manifestFile}: ${entry.where} file ${JSON.stringify(shownFile)} points outside the dataset folder`);
      }
      resolved.set(entry.file, file);
    }
    const where = () => entry.where;
    const id = caps.keep(rawId(entry), "id", where);
    remember(id, at);
    const first = firstByFile.get(file);
    if (first) {
      first.more++;
      continue;
    }
    firstByFile.set(file, { id, relativeFile: shownFile, more: 0 });
    entries.push({
      id,
      file,
      relativeFile: shownFile,
      caption: caps.keep(typeof entry.caption === "string" && entry.caption !== "" ? entry.caption : path.basename(entry.file), "caption", where),
      group: typeof entry.group === "string" && entry.group !== "" ? caps.keep(entry.group, "group", where) : undefined,
    });
  }
  entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const repeated = [...firstByFile.values()].filter((f) => f.more > 0);
  const dropped = repeated.reduce((sum, f) => sum + f.more, 0);
  const lines = warnings();
  if (dropped > 0) {
    const count = (n: number) => n.toLocaleString("en-US");
    lines.push(
      `dataset manifest ${manifestFile}: ${count(dropped)} entries dropped: they name ${count(repeated.length)} file(s) that an earlier entry ` +
        `already names (e.g. ${JSON.stringify(repeated[0].relativeFile)}, kept once as ${JSON.stringify(repeated[0].id)}); each file is read once`,
    );
  }
  const name = manifest.name ? cutText(manifest.name, DEFAULTS.datasetLimits.maxIdChars) : path.basename(dir);
  return { name, entries, skipped: [], warnings: lines };
}

export function loadDataset(dir: string, memo?: HashMemo, options: LoadOptions = {}): Dataset {
  const listing = listDataset(dir);
  const { name, entries } = listing;
  const images: DatasetImage[] = [];
  const skipped: Dataset["skipped"] = [...listing.skipped];
  const warnings = [...listing.warnings];
  const policy: ReadPolicy = {
    roots: realRoots(dir, ...(options.projectRoot ? [options.projectRoot] : [])),
    maxBytes: options.maxImageBytes ?? DEFAULTS.images.maxImageBytes,
    realDirs: new Map(),
  };
  const firstIdBySha = new Map<string, string>();
  const newHashes: Array<{ path: string; stat: FileStat; sha256: string }> = [];
  for (const entry of entries) {
    let hashed: FileHash;
    try {
      hashed = hashImageFile(entry.file, policy, memo, newHashes);
    } catch (error) {
      if (!(error instanceof FileRefusedError)) throw error;
      skipped.push({ file: entry.relativeFile, reason: error.message });
      continue;
    }
    const { sha256 } = hashed;
    const firstId = firstIdBySha.get(sha256);
    if (firstId) {
      skipped.push({ file: entry.relativeFile, reason: `same content as "${firstId}"` });
      continue;
    }
    firstIdBySha.set(sha256, entry.id);
    images.push({ ...entry, file: hashed.real, sha256 });
  }
  if (newHashes.length) memo?.rememberHashes(newHashes);
  const fingerprint = crypto
    .createHash("sha256")
    .update(images.map((i) => `${i.id}\0${i.sha256}`).join("\n"))
    .digest("hex");
  return { name, dir, images, skipped, warnings, fingerprint };
}
