// <file>.verified: size, mtime and sha256 of a checked model file, so a warm build need not hash it again.
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { uniqueTemp, writeFileAtomic } from "../base/atomic-write.ts";
import { hashFileInto, isCode } from "../base/file-helpers.ts";
import { LOCK_FILE_NAME, type Pin } from "./lock-file.ts";
import { contentProblem, describeFormat, formatKey, type ModelFileFormat } from "./verify-content.ts";

export type CacheCheck =
  | { ok: true; sha256: string; bytes: number }
  | { ok: false; kind: "missing" | "size" | "unpinned" | "sha256" | "content"; problem: string; sha256?: string; bytes?: number };

interface Sidecar {
  size: number;
  mtimeMs: number;
  sha256: string;
  /** formatKey of the content check the file passed, if any. */
  content?: string;
}

export async function checkCachedFile(file: string, pin: Pin, rehash: boolean, format: ModelFileFormat | undefined): Promise<CacheCheck> {
  let stats: Stats;
  try {
    stats = await stat(file);
  } catch (error) {
    if (isCode(error, "ENOENT")) return { ok: false, kind: "missing", problem: `${file} does not exist` };
    throw error;
  }
  if (pin.bytes !== undefined && stats.size !== pin.bytes) {
    return {
      ok: false,
      kind: "size",
      problem: `size is ${stats.size} bytes, expected ${pin.bytes}`,
      bytes: stats.size,
    };
  }
  if (!pin.sha256) {
    return {
      ok: false,
      kind: "unpinned",
      problem: `no sha256 to check it against (none in the encoder spec, no entry in ${LOCK_FILE_NAME})`,
      bytes: stats.size,
    };
  }
  const { sha256, content } = await cachedSha256(file, stats, rehash);
  if (sha256 !== pin.sha256) {
    return {
      ok: false,
      kind: "sha256",
      problem: `sha256 is ${sha256}, expected ${pin.sha256} (${pin.source === "lock" ? LOCK_FILE_NAME : "encoder spec"})`,
      sha256,
      bytes: stats.size,
    };
  }
  if (format && (rehash || content !== formatKey(format))) {
    const problem = await contentProblem(file, format);
    if (problem) return { ok: false, kind: "content", problem: `not a valid ${describeFormat(format)}: ${problem}`, sha256, bytes: stats.size };
    await writeSidecar(file, sha256, formatKey(format)).catch(() => undefined);
  }
  return { ok: true, sha256, bytes: stats.size };
}

/**
 * The file's sha256, from its `.verified` sidecar while size and mtime are unchanged, else by hashing it (streamed)
 * and recording the result there.
 */
export async function cachedSha256(file: string, stats: Stats, rehash: boolean): Promise<{ sha256: string; content?: string }> {
  const sidecarPath = `${file}.verified`;
  if (!rehash) {
    const sidecar = await readSidecar(sidecarPath);
    if (sidecar && sidecar.size === stats.size && sidecar.mtimeMs === stats.mtimeMs) return sidecar;
  }
  const hash = createHash("sha256");
  await hashFileInto(hash, file);
  const sha256 = hash.digest("hex");
  await writeSidecar(file, sha256).catch(() => undefined); // only a speed-up; a read-only cache still works
  return { sha256 };
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    const value = JSON.parse(await readFile(path, "utf8")) as Partial<Sidecar>;
    if (typeof value.size === "number" && typeof value.mtimeMs === "number" && typeof value.sha256 === "string") {
      return { size: value.size, mtimeMs: value.mtimeMs, sha256: value.sha256, content: typeof value.content === "string" ? value.content : undefined };
    }
  } catch {
    // Missing or torn sidecar: fall back to hashing.
  }
  return undefined;
}

export async function writeSidecar(file: string, sha256: string, content?: string): Promise<void> {
  const stats = await stat(file);
  const sidecar: Sidecar = { size: stats.size, mtimeMs: stats.mtimeMs, sha256, content };
  await writeFileAtomic(`${file}.verified`, `${JSON.stringify(sidecar)}\n`, { temp: uniqueTemp(`${file}.verified`) });
}
