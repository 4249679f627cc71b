// The one way the build reads a file it was pointed at (dataset members, manifests, query
// images, model files): resolve the real path, require it inside the allowed folders, open it
// once without blocking, and check the opened descriptor (a regular file, within the size limit,
// still at the checked place) before a byte is read. Hashing streams; image types come from the
// bytes, never from the name.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** A model file read into memory (source.kind "file"); Node cannot hold one file above 2 GiB in a Buffer. */
export const MAX_MODEL_FILE_BYTES = 2 * 1024 ** 3 - 1;

/** Why a file was not read: a short reason such as "not a regular file (a FIFO)". */
export class FileRefusedError extends Error {}

export interface ReadPolicy {
  maxBytes: number;
  /**
   * Real folders the file must resolve inside. Absent: the path must already be canonical (a
   * real path checked earlier), so a later read cannot be redirected by a swapped-in symlink.
   */
  roots?: readonly string[];
  /**
   * Real paths of folders already resolved while checking (one policy per listing): a member that
   * is not itself a link then needs one lstat instead of a realpath walk of every component.
   */
  realDirs?: Map<string, string>;
}

export interface OpenedFile {
  fd: number;
  /** The real path that was opened. */
  real: string;
  stat: fs.Stats;
}

export function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative === "" || (!relative.startsWith(`..${path.sep}`) && relative !== ".." && !path.isAbsolute(relative));
}

/** What a non-regular file is, for messages. */
export function describeFileKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return "a folder";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSymbolicLink()) return "a symbolic link";
  return "not a plain file";
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** The folders as real paths (a folder that does not exist is left out). */
export function realRoots(...dirs: string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    try {
      out.push(fs.realpathSync(dir));
    } catch {
      // Nothing can resolve inside a folder that is not there.
    }
  }
  return [...new Set(out)];
}

function checkPlace(real: string, file: string, policy: ReadPolicy): void {
  if (policy.roots) {
    if (!policy.roots.some((root) => isInside(root, real))) throw new FileRefusedError(`resolves to ${real}, outside ${policy.roots.join(" and ")}`);
  } else if (real !== path.resolve(file)) {
    throw new FileRefusedError(`is now a link to ${real}`);
  }
}

function checkStat(stat: fs.Stats, policy: ReadPolicy): void {
  if (!stat.isFile()) throw new FileRefusedError(`not a regular file (${describeFileKind(stat)})`);
  if (stat.size > policy.maxBytes) throw new FileRefusedError(`${formatBytes(stat.size)}, above the ${formatBytes(policy.maxBytes)} limit`);
}

/** The real path of `file`, checked against the policy's place rule. */
function resolveChecked(file: string, policy: ReadPolicy): string {
  let real: string;
  try {
    real = fs.realpathSync.native(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FileRefusedError(code === "ENOENT" ? "file not found" : `cannot be resolved (${code ?? (error as Error).message})`, { cause: error });
  }
  checkPlace(real, file, policy);
  return real;
}

/**
 * The checks of openChecked without opening the file (no read follows: e.g. a remembered hash
 * is enough). Whatever reads the file later goes through openChecked again.
 */
export function statChecked(file: string, policy: ReadPolicy): { real: string; stat: fs.Stats } {
  const fast = policy.realDirs && statUnlinked(file, policy, policy.realDirs);
  if (fast) return fast;
  const real = resolveChecked(file, policy);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(real);
  } catch (error) {
    throw new FileRefusedError(`cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  checkStat(stat, policy);
  return { real, stat };
}

/**
 * The stat of a file that is not a link, under a folder whose real path is known: its real path
 * is that folder's plus its name. Undefined for links (and missing files): the full check runs.
 */
function statUnlinked(file: string, policy: ReadPolicy, realDirs: Map<string, string>): { real: string; stat: fs.Stats } | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return undefined;
  }
  if (stat.isSymbolicLink()) return undefined;
  const dir = path.dirname(path.resolve(file));
  let realDir = realDirs.get(dir);
  if (realDir === undefined) {
    try {
      realDir = fs.realpathSync.native(dir);
    } catch {
      return undefined;
    }
    realDirs.set(dir, realDir);
  }
  const real = path.join(realDir, path.basename(file));
  checkPlace(real, file, policy);
  checkStat(stat, policy);
  return { real, stat };
}

/**
 * For files that trusted configuration names anywhere on disk (embeddings shards, parquet
 * metadata, faiss indexes, sidecars): no place rule, but the file must be a regular one, so a
 * later plain open never waits on a FIFO or reads a device. Throws FileRefusedError naming `file`.
 */
export function requireRegularFile(file: string): fs.Stats {
  try {
    return statChecked(file, { roots: [path.parse(path.resolve(file)).root], maxBytes: Number.MAX_SAFE_INTEGER }).stat;
  } catch (error) {
    throw error instanceof FileRefusedError ? new FileRefusedError(`${file}: ${error.message}`, { cause: error }) : error;
  }
}

/** Opens `file` for reading after the checks above; the caller closes `fd`. Throws FileRefusedError. */
export function openChecked(file: string, policy: ReadPolicy): OpenedFile {
  const real = resolveChecked(file, policy);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO with no writer must not wait; O_NOCTTY: a terminal never becomes ours.
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENXIO") throw new FileRefusedError("not a regular file (a socket)", { cause: error });
    if (code === "ENOENT") throw new FileRefusedError("file not found", { cause: error });
    throw new FileRefusedError(`cannot be opened (${code ?? (error as Error).message})`, { cause: error });
  }
  try {
    const stat = fs.fstatSync(fd);
    checkStat(stat, policy);
    // Where the descriptor really points (Linux): a component swapped for a link between the
    // realpath and the open is caught here.
    let opened: string | undefined;
    try {
      opened = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      opened = undefined;
    }
    if (opened !== undefined && opened !== real) checkPlace(opened, opened, policy.roots ? policy : { ...policy, roots: [path.dirname(real)] });
    return { fd, real, stat };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

const CHUNK = 1024 * 1024;

/** sha256 of an opened file, read in 1 MiB chunks (never the whole file at once). */
export function hashOpened(opened: OpenedFile): string {
  const hash = crypto.createHash("sha256");
  const buffer = Buffer.allocUnsafe(CHUNK);
  let position = 0;
  for (;;) {
    const n = fs.readSync(opened.fd, buffer, 0, CHUNK, position);
    if (n === 0) break;
    hash.update(buffer.subarray(0, n));
    position += n;
    if (position > opened.stat.size + CHUNK) throw new FileRefusedError("grew while it was read");
  }
  return hash.digest("hex");
}

/** The first bytes of an opened file (enough to sniff its type). */
export function readHead(opened: OpenedFile, length = 512): Buffer {
  const buffer = Buffer.alloc(Math.min(length, opened.stat.size));
  const n = buffer.length ? fs.readSync(opened.fd, buffer, 0, buffer.length, 0) : 0;
  return buffer.subarray(0, n);
}

/** The whole file, through the checks of openChecked. */
export async function readChecked(file: string, policy: ReadPolicy): Promise<Buffer> {
  const opened = openChecked(file, policy);
  try {
    return await new Promise<Buffer>((resolve, reject) => fs.readFile(opened.fd, (error, data) => (error ? reject(error) : resolve(data))));
  } finally {
    fs.closeSync(opened.fd);
  }
}

/** Reads into `bytes` from `position` until they are full or the file ends; returns how many bytes were read. */
export function readAt(fd: number, bytes: Uint8Array, position: number): number {
  let read = 0;
  while (read < bytes.length) {
    const n = fs.readSync(fd, bytes, read, bytes.length - read, position + read);
    if (n === 0) break;
    read += n;
  }
  return read;
}

/** readChecked, synchronously (small files: manifests, model files at startup). */
export function readCheckedSync(file: string, policy: ReadPolicy): Buffer {
  const opened = openChecked(file, policy);
  try {
    return fs.readFileSync(opened.fd);
  } finally {
    fs.closeSync(opened.fd);
  }
}

/** The head of a file through the checks of openChecked, plus its real path. */
export function readHeadChecked(file: string, policy: ReadPolicy): { real: string; head: Buffer } {
  const opened = openChecked(file, policy);
  try {
    return { real: opened.real, head: readHead(opened) };
  } finally {
    fs.closeSync(opened.fd);
  }
}

export type ImageType = "png" | "jpeg" | "gif" | "webp" | "avif" | "heif" | "tiff" | "svg";

/** Formats every browser shows: published byte for byte; any other type is re-encoded. */
export const BROWSER_IMAGE_TYPES: ReadonlySet<ImageType> = new Set(["png", "jpeg", "gif", "webp", "avif"]);

const ascii = (bytes: Uint8Array, start: number, end: number) => Buffer.from(bytes.subarray(start, end)).toString("latin1");

/** The image format from a file's first bytes, or undefined when it is none this project reads. */
export function sniffImageType(head: Uint8Array): ImageType | undefined {
  if (head.length >= 8 && ascii(head, 0, 8) === "\x89PNG\r\n\x1a\n") return "png";
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "jpeg";
  if (head.length >= 6 && /^GIF8[79]a$/.test(ascii(head, 0, 6))) return "gif";
  if (head.length >= 12 && ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 12) === "WEBP") return "webp";
  if (head.length >= 12 && ascii(head, 4, 8) === "ftyp") {
    const brand = ascii(head, 8, 12);
    if (brand === "avif" || brand === "avis") return "avif";
    if (["heic", "heix", "hevc", "hevx", "mif1", "msf1"].includes(brand)) return "heif";
  }
  if (head.length >= 4 && (ascii(head, 0, 4) === "II*\0" || ascii(head, 0, 4) === "MM\0*")) return "tiff";
  // Markup (SVG, or any XML that librsvg might take): the first non-blank character is "<".
  const text = Buffer.from(head).toString("utf8").replace(/^\uFEFF/, "").trimStart();
  if (text.startsWith("<")) return "svg";
  return undefined;
}

/** File extension for a published image of this type. */
export function imageExtension(type: ImageType): string {
  return type === "jpeg" ? "jpg" : type;
}
