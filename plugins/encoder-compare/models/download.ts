// Model files: downloaded once, verified against a pinned sha256, cached outside node_modules.
//
//   <dir>/<source>/<revision>/<file>            the verified file (only ever placed by an atomic rename); see cache-layout.ts
//   <dir>/<source>/<revision>/<file>.part       bytes received so far; a later call resumes from it
//   <dir>/<source>/<revision>/<file>.verified   size + mtime + sha256 of the file, so warm builds skip hashing
//   <dir>/<source>/<revision>/<file>.lock       held by the one process downloading this file
//   <dir>/<source>/<revision>/<file>.unavailable.json   the last failed try, so builds do not retry it every time
//   <dir>/models.lock.json           sha256 recorded on first download where no hash is pinned (keyed by id + fileName)

import { mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { DEFAULTS } from "../base/defaults.ts";
import { checkUrl, displayUrl, URL_POLICY_TEXT } from "../base/url-policy.ts";
import { forgetFailure, recentFailure, rememberFailure, retryTime, RETRY_AFTER_ENV } from "./unavailable-memo.ts";
import { acquireExclusiveLock } from "../base/process-lock.ts";
import { LOCK_FILE_NAME, removeLockEntry, resolvePin, type Pin } from "./lock-file.ts";
import {
  ModelUnavailableError, resumable,
  type EnsuredModelFile, type EnsureOptions, type ModelFileRequest, type Target, type VerifyResult,
} from "./model-file.ts";
import { cachedFilePath, legacyFilePath } from "./cache-layout.ts";
import { migrateLegacyFile } from "./legacy-cache.ts";
import { SharedTask } from "./shared-task.ts";
import { checkCachedFile } from "./verified-sidecar.ts";

export { LOCK_FILE_NAME, ModelUnavailableError, type EnsuredModelFile, type EnsureOptions, type ModelFileRequest, type VerifyResult };

const SAFE_PATH_SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._@+-]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** Returns the verified local file for `req`, downloading it first if needed. */
export async function ensureModelFile(req: ModelFileRequest, options: EnsureOptions): Promise<EnsuredModelFile> {
  const target = targetFor(req, options.dir);
  await migrateLegacyFile(legacyFilePath(target.dir, req.id, req.fileName), target.file, options.log);
  if (options.offline) return ensureOffline(req, target);

  options.signal?.throwIfAborted();
  let task = inFlight.get(target.file);
  if (!task || task.cancelled) {
    const created = new SharedTask((signal) => ensureOnline(req, target, options, signal));
    inFlight.set(target.file, created);
    const forget = () => inFlight.get(target.file) === created && inFlight.delete(target.file);
    created.promise.then(forget, forget);
    task = created;
  }
  return task.join(options.signal);
}

/** Checks the cached file against its pin (size, then sha256; the sidecar avoids re-hashing). */
export async function verifyModelFile(
  req: ModelFileRequest,
  options: { dir: string; rehash?: boolean; log?: (line: string) => void },
): Promise<VerifyResult> {
  const target = targetFor(req, options.dir);
  await migrateLegacyFile(legacyFilePath(target.dir, req.id, req.fileName), target.file, options.log);
  const pin = await resolvePin(req, target.lockFile, false);
  const check = await checkCachedFile(target.file, pin, options.rehash ?? false, req.format);
  if (check.ok) return { ok: true, path: target.file, sha256: check.sha256, bytes: check.bytes };
  return { ok: false, problem: check.problem, path: target.file, sha256: check.sha256, bytes: check.bytes };
}

/** The URL a request is fetched from once the mirror (if any) is applied. */
export function effectiveUrl(url: string, baseUrl?: string): string {
  if (!baseUrl) return url;
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch (cause) {
    throw new Error(
      `The model mirror base URL "${baseUrl}" (ENCODER_COMPARE_MODEL_BASE_URL) is not a valid URL; ` +
        `use e.g. https://mirror.example.org or unset it.`,
      { cause },
    );
  }
  const original = new URL(url);
  const mirrored = new URL(base.origin);
  mirrored.pathname = base.pathname.replace(/\/+$/, "") + original.pathname;
  mirrored.search = original.search;
  return mirrored.toString();
}

// ---------------------------------------------------------------------------------------------
// Offline and online paths
// ---------------------------------------------------------------------------------------------

function targetFor(req: ModelFileRequest, dir: string): Target {
  for (const [what, value] of [["id", req.id], ["fileName", req.fileName]] as const) {
    if (!SAFE_PATH_SEGMENT.test(value)) {
      throw new Error(
        `Model ${what} "${value}" (model "${req.id}", ${req.url}) cannot be used as a file name: ` +
          `use letters, digits and . _ - @ + only, with no path separators.`,
      );
    }
  }
  if (req.sha256 !== undefined && !SHA256_HEX.test(req.sha256.toLowerCase())) {
    throw new Error(
      `Model "${req.id}" pins sha256 "${req.sha256}" for ${req.url}, which is not 64 hex digits; ` +
        `fix the encoder spec's sha256.`,
    );
  }
  const root = resolve(dir);
  const file = cachedFilePath(root, req.url);
  return {
    dir: root,
    file,
    part: `${file}.part`,
    sidecar: `${file}.verified`,
    lock: `${file}.lock`,
    lockFile: join(root, LOCK_FILE_NAME),
    label: `${req.id}/${req.fileName}`,
  };
}

async function ensureOffline(req: ModelFileRequest, target: Target): Promise<EnsuredModelFile> {
  const pin = await resolvePin(req, target.lockFile, false);
  const check = await checkCachedFile(target.file, pin, false, req.format);
  if (check.ok) return { path: target.file, sha256: check.sha256, bytes: check.bytes, downloaded: false };
  const why = "offline mode is on (offline: true / ENCODER_COMPARE_OFFLINE=1), so it was not downloaded";
  if (check.kind === "missing") {
    throw new ModelUnavailableError(
      req.id,
      "offline-not-cached",
      "offline and not in the cache",
      `Model "${req.id}": ${target.file} is not in the cache and ${why} from ${req.url}. ` +
        `Run once with network access (e.g. \`encoder-compare models pull ${req.id}\`) or copy the file there.`,
    );
  }
  throw new ModelUnavailableError(
    req.id,
    "offline-cache-unusable",
    check.kind === "unpinned" ? "offline and the cached file cannot be verified" : "offline and the cached file is invalid",
    `Model "${req.id}": the cached ${target.file} cannot be used (${check.problem}) and ${why} again from ` +
      `${req.url}. Run once with network access to replace it.`,
  );
}

async function ensureOnline(
  req: ModelFileRequest,
  target: Target,
  options: EnsureOptions,
  signal: AbortSignal,
): Promise<EnsuredModelFile> {
  const updateLock = options.updateLock ?? false;
  const firstPin = await resolvePin(req, target.lockFile, updateLock);
  const cached = await checkCachedFile(target.file, firstPin, false, req.format);
  if (cached.ok) return { path: target.file, sha256: cached.sha256, bytes: cached.bytes, downloaded: false };
  if (cached.kind === "content") await discardInvalidFile(req, target, firstPin, cached.problem, options, signal);

  const sourceUrl = new URL(effectiveUrl(req.url, options.baseUrl));
  try {
    checkUrl(sourceUrl, `${req.fileName} for model "${req.id}"`);
  } catch (error) {
    throw new ModelUnavailableError(
      req.id,
      "refused-url",
      `insecure URL refused: ${displayUrl(sourceUrl)}`,
      `Model "${req.id}": refusing to download ${req.fileName} from ${displayUrl(sourceUrl)}: ${URL_POLICY_TEXT}. ` +
        `Use an https URL or mirror (ENCODER_COMPARE_MODEL_BASE_URL).`,
      { cause: error },
    );
  }

  const windowMs = options.unavailableRetryMs ?? DEFAULTS.downloads.unavailableRetryMs;
  const memoUrl = displayUrl(sourceUrl);
  const tryNow = options.retryUnavailable || updateLock;
  const remembered = tryNow ? undefined : await recentFailure(target.file, memoUrl, windowMs);
  if (remembered) {
    throw new ModelUnavailableError(req.id, remembered.kind, remembered.reason, remembered.message, {
      note:
        `not tried again: the last try at ${remembered.at.slice(11, 16)} UTC failed; the next build after ` +
        `${retryTime(remembered, windowMs)} tries again. To retry now: \`npx encoder-compare models pull ${req.id}\` ` +
        `or ${RETRY_AFTER_ENV}=0`,
    });
  }

  await mkdir(dirname(target.file), { recursive: true });
  try {
    const result = await downloadUnderLock(req, target, sourceUrl, options, signal);
    await forgetFailure(target.file);
    return result;
  } catch (error) {
    if (error instanceof ModelUnavailableError && !signal.aborted && error.kind !== "cache-unwritable" && !resumable.has(error)) {
      const { kind, reason, message } = error;
      await rememberFailure(target.file, { at: new Date().toISOString(), url: memoUrl, kind, reason, message });
    }
    throw error;
  }
}

async function downloadUnderLock(
  req: ModelFileRequest,
  target: Target,
  sourceUrl: URL,
  options: EnsureOptions,
  signal: AbortSignal,
): Promise<EnsuredModelFile> {
  const updateLock = options.updateLock ?? false;
  const staleMs = options.lockStaleMs ?? DEFAULTS.downloads.lockStaleMs;
  const release = await acquireExclusiveLock(target.lock, {
    staleMs,
    pollMs: options.lockPollMs ?? DEFAULTS.downloads.lockPollMs,
    signal,
    onWait: (holder) =>
      options.log?.(
        `${target.label}: waiting for ${holder ? `pid ${holder.pid} on ${holder.hostname}` : "another process"} ` +
          `to finish downloading it (lock ${target.lock}; taken over after ${Math.round(staleMs / 1000)} s without progress)`,
      ),
  });
  try {
    // Another process may have finished (and recorded a pin) while we waited for the lock.
    const pin = await resolvePin(req, target.lockFile, updateLock);
    const again = await checkCachedFile(target.file, pin, false, req.format);
    if (again.ok) return { path: target.file, sha256: again.sha256, bytes: again.bytes, downloaded: false };
    // The HTTP client and the resuming writer load only when a file must be fetched: a warm build never needs them.
    const { downloadWithResumes } = await import("./resumable-download.ts");
    return await downloadWithResumes({ req, target, pin, url: sourceUrl, options, signal });
  } finally {
    await release();
  }
}

// ---------------------------------------------------------------------------------------------
// Pins: request sha256, else models.lock.json
// ---------------------------------------------------------------------------------------------

/** A cached file that is not what it claims (pinned by an older version without the check) goes, with its lock entry. */
async function discardInvalidFile(req: ModelFileRequest, target: Target, pin: Pin, problem: string, options: EnsureOptions, signal: AbortSignal) {
  options.log?.(`${target.label}: the cached file is not usable (${problem}); removing it and downloading it again`);
  await rm(target.file, { force: true });
  await rm(target.sidecar, { force: true });
  if (pin.source === "lock") await removeLockEntry(target.lockFile, req, signal);
}

// ---------------------------------------------------------------------------------------------
// Concurrency: one shared promise per file in this process (a lock file across processes: file-lock.ts)
// ---------------------------------------------------------------------------------------------

const inFlight = new Map<string, SharedTask<EnsuredModelFile>>();
