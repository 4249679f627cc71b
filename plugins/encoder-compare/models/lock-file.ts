// models.lock.json: the sha256 recorded on first download for a file no spec pins, and how a request's pin is found.
import { readFile } from "node:fs/promises";
import { uniqueTemp, writeFileAtomic } from "../base/atomic-write.ts";
import { isCode } from "../base/file-helpers.ts";
import { acquireExclusiveLock } from "../base/process-lock.ts";

export const LOCK_FILE_NAME = "models.lock.json";

/** Which entry of the lock file a request is (and its URL, for messages and the record). */
export interface LockedFile {
  id: string;
  fileName: string;
  url: string;
}

/** A request's own pins, which win over the lock file. */
export interface PinnedFile extends LockedFile {
  sha256?: string;
  bytes?: number;
}

export interface LockEntry {
  url: string;
  sha256: string;
  bytes: number;
  recordedAt: string;
}

interface LockFileContent {
  lockfileVersion: 1;
  comment?: string;
  models: Record<string, Record<string, LockEntry>>;
}

export interface Pin {
  sha256?: string;
  bytes?: number;
  /** Where the sha256 came from; "none" means the download will record one. */
  source: "request" | "lock" | "none";
  lockEntry?: LockEntry;
}

export async function resolvePin(req: PinnedFile, lockFile: string, ignoreLock: boolean): Promise<Pin> {
  if (req.sha256) return { sha256: req.sha256.toLowerCase(), bytes: req.bytes, source: "request" };
  if (!ignoreLock) {
    const entry = (await readLockFile(lockFile, req)).models[req.id]?.[req.fileName];
    if (entry) return { sha256: entry.sha256, bytes: req.bytes ?? entry.bytes, source: "lock", lockEntry: entry };
  }
  return { bytes: req.bytes, source: "none" };
}

async function readLockFile(path: string, req: LockedFile): Promise<LockFileContent> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isCode(error, "ENOENT")) return emptyLockFile();
    throw new Error(`Cannot read ${path} while checking model "${req.id}" (${req.url}).`, { cause: error });
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockFileContent>;
    if (typeof parsed !== "object" || parsed === null || typeof parsed.models !== "object" || parsed.models === null) {
      throw new Error('missing "models" object');
    }
    return { ...emptyLockFile(), models: parsed.models };
  } catch (cause) {
    // Never overwrite a broken lock file: its pins are what makes downloads trustworthy.
    throw new Error(
      `${path} is not a valid model lock file, needed to check model "${req.id}" (${req.url}). ` +
        `Fix the JSON by hand, or delete the file to re-record every hash on the next download.`,
      { cause },
    );
  }
}

function emptyLockFile(): LockFileContent {
  return {
    lockfileVersion: 1,
    comment: "sha256 of model files recorded on first download; delete an entry to accept a new upstream file",
    models: {},
  };
}

export async function recordLockEntry(lockFile: string, req: LockedFile, sha256: string, bytes: number, signal: AbortSignal) {
  await editLockEntries(lockFile, req, signal, (entries) => {
    entries[req.fileName] = { url: req.url, sha256, bytes, recordedAt: new Date().toISOString() };
  });
}

/** Forgets the hash recorded for a file found not to be what it claims, so a new download can pin the real one. */
export async function removeLockEntry(lockFile: string, req: LockedFile, signal: AbortSignal) {
  await editLockEntries(lockFile, req, signal, (entries) => {
    delete entries[req.fileName];
  });
}

async function editLockEntries(lockFile: string, req: LockedFile, signal: AbortSignal, edit: (entries: Record<string, LockEntry>) => void) {
  // Other processes may be recording other models into the same file.
  const release = await acquireExclusiveLock(`${lockFile}.lock`, { staleMs: 60_000, pollMs: 50, signal });
  try {
    const content = await readLockFile(lockFile, req);
    const entries = { ...(content.models[req.id] ?? {}) };
    edit(entries);
    const { [req.id]: _old, ...others } = content.models;
    content.models = sortedKeys(Object.keys(entries).length ? { ...others, [req.id]: sortedKeys(entries) } : others);
    await writeFileAtomic(lockFile, `${JSON.stringify(content, null, 2)}\n`, { temp: uniqueTemp(lockFile) });
  } finally {
    await release();
  }
}

function sortedKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
