// Model files: downloaded once, verified against a pinned sha256, cached outside node_modules.
//
//   <dir>/<id>/<fileName>            the verified file (only ever placed by an atomic rename)
//   <dir>/<id>/<fileName>.part       bytes received so far; a later call resumes from it
//   <dir>/<id>/<fileName>.verified   size + mtime + sha256 of the file, so warm builds skip hashing
//   <dir>/<id>/<fileName>.lock       held by the one process downloading this file
//   <dir>/<id>/<fileName>.unavailable.json   the last failed try, so builds do not retry it every time
//   <dir>/models.lock.json           sha256 recorded on first download where no hash is pinned

import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import { dirname, join, resolve } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { openGet, type Reply } from "../net/client.ts";
import { errorCode, NetError } from "../net/errors.ts";
import type { NetLimits } from "../net/limits.ts";
import { checkUrl, displayUrl, URL_POLICY_TEXT } from "../net/url-policy.ts";
import { forgetFailure, recentFailure, rememberFailure, retryTime, DEFAULT_UNAVAILABLE_RETRY_MS, RETRY_AFTER_ENV } from "./unavailable-memo.ts";
import { formatMB, startProgress } from "./download-progress.ts";
import { acquireExclusiveLock } from "./file-lock.ts";
import { fsyncFile, hashFileInto, sizeOf } from "./file-helpers.ts";
import { LOCK_FILE_NAME, recordLockEntry, removeLockEntry, resolvePin, type Pin } from "./lock-file.ts";
import { SharedTask } from "./shared-task.ts";
import { checkCachedFile, writeSidecar } from "./verified-sidecar.ts";
import { contentProblem, describeFormat, formatKey, type ModelFileFormat } from "./verify-content.ts";

export interface ModelFileRequest {
  /** Model id; also the cache sub-directory. */
  id: string;
  url: string;
  fileName: string;
  /** Pinned sha256 (hex). Without it, models.lock.json pins the hash seen on first download. */
  sha256?: string;
  /** Pinned size in bytes. */
  bytes?: number;
  /** Largest acceptable size of an unpinned file (default 4 GiB); a download stops at it. */
  maxBytes?: number;
  /** What the file must parse as before it is placed and pinned (unchecked when absent). */
  format?: ModelFileFormat;
}

export interface EnsureOptions {
  /** Models directory (see modelsDir()). */
  dir: string;
  /** Never touch the network (the caller maps ENCODER_COMPARE_OFFLINE=1 to this). */
  offline?: boolean;
  /** Mirror (ENCODER_COMPARE_MODEL_BASE_URL): replaces the URL's origin, keeps its path. */
  baseUrl?: string;
  /** "auto" (default): an updating line when stderr is a TTY, else `log` lines. */
  progress?: "auto" | "tty" | "none";
  signal?: AbortSignal;
  /** Receives one line when a download starts and one when it ends (non-TTY progress). */
  log?: (line: string) => void;
  /** Accept a new upstream hash for an entry in models.lock.json and re-record it. */
  updateLock?: boolean;
  /** Abort a connection that delivers no bytes for this long (default 30 s). */
  stallTimeoutMs?: number;
  /** Connect, reply and throughput deadlines (net/limits.ts; stallTimeoutMs above wins over limits.stallTimeoutMs). */
  limits?: Partial<NetLimits>;
  /** A failed try is remembered for this long and not repeated (default 1 h; 0 always tries). */
  unavailableRetryMs?: number;
  /** Try the network now even if a recent try failed (`models pull`). */
  retryUnavailable?: boolean;
  /** Automatic resumes after a dropped or stalled connection within one call (default 2). */
  retries?: number;
  /** Wait before the n-th automatic resume: n × this (default 1 s). */
  retryDelayMs?: number;
  /** A download lock untouched for this long is taken over (default 10 min). */
  lockStaleMs?: number;
  /** How often to look at a lock held by another process (default 500 ms). */
  lockPollMs?: number;
  /** Where the TTY progress line goes (default process.stderr). */
  progressOutput?: { write(chunk: string): unknown };
}

export interface EnsuredModelFile {
  path: string;
  sha256: string;
  bytes: number;
  /** True when this call (or the in-process call it joined) fetched the file. */
  downloaded: boolean;
}

export interface VerifyResult {
  ok: boolean;
  problem?: string;
  path: string;
  sha256?: string;
  bytes?: number;
}

/** The model cannot be had; `reason` is a short phrase fit for a page heading. */
export class ModelUnavailableError extends Error {
  readonly modelId: string;
  readonly reason: string;
  /** For the log, not the page: e.g. that this is a remembered failure and how to retry now. */
  readonly note?: string;

  constructor(modelId: string, reason: string, message: string, options?: { cause?: unknown; note?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ModelUnavailableError";
    this.modelId = modelId;
    this.reason = reason;
    this.note = options?.note;
  }
}

export { LOCK_FILE_NAME };

const DEFAULTS = {
  stallTimeoutMs: 30_000,
  retries: 2,
  retryDelayMs: 1_000,
  lockStaleMs: 10 * 60_000,
  lockPollMs: 500,
  maxUnpinnedBytes: 4 * 1024 ** 3,
};
const SAFE_PATH_SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._@+-]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** Returns the verified local file for `req`, downloading it first if needed. */
export async function ensureModelFile(req: ModelFileRequest, options: EnsureOptions): Promise<EnsuredModelFile> {
  const target = targetFor(req, options.dir);
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
  options: { dir: string; rehash?: boolean },
): Promise<VerifyResult> {
  const target = targetFor(req, options.dir);
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

interface Target {
  dir: string;
  file: string;
  part: string;
  sidecar: string;
  lock: string;
  lockFile: string;
  label: string;
}

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
  const file = join(root, req.id, req.fileName);
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
      "offline and not in the cache",
      `Model "${req.id}": ${target.file} is not in the cache and ${why} from ${req.url}. ` +
        `Run once with network access (e.g. \`encoder-compare models pull ${req.id}\`) or copy the file there.`,
    );
  }
  throw new ModelUnavailableError(
    req.id,
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
      `insecure URL refused: ${displayUrl(sourceUrl)}`,
      `Model "${req.id}": refusing to download ${req.fileName} from ${displayUrl(sourceUrl)}: ${URL_POLICY_TEXT}. ` +
        `Use an https URL or mirror (ENCODER_COMPARE_MODEL_BASE_URL).`,
      { cause: error },
    );
  }

  const windowMs = options.unavailableRetryMs ?? DEFAULT_UNAVAILABLE_RETRY_MS;
  const memoUrl = displayUrl(sourceUrl);
  const tryNow = options.retryUnavailable || updateLock;
  const remembered = tryNow ? undefined : await recentFailure(target.file, memoUrl, windowMs);
  if (remembered) {
    throw new ModelUnavailableError(req.id, remembered.reason, remembered.message, {
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
    if (error instanceof ModelUnavailableError && !signal.aborted && error.reason !== DISK_WRITE_REASON && !resumable.has(error)) {
      await rememberFailure(target.file, { at: new Date().toISOString(), url: memoUrl, reason: error.reason, message: error.message });
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
  const staleMs = options.lockStaleMs ?? DEFAULTS.lockStaleMs;
  const release = await acquireExclusiveLock(target.lock, {
    staleMs,
    pollMs: options.lockPollMs ?? DEFAULTS.lockPollMs,
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
// Downloading
// ---------------------------------------------------------------------------------------------

interface DownloadJob {
  req: ModelFileRequest;
  target: Target;
  pin: Pin;
  url: URL;
  options: EnsureOptions;
  signal: AbortSignal;
}

/** A connection that dropped or stalled; the part file is kept and the download can resume. */
class ConnectionLost extends Error {
  constructor(
    readonly kind: "interrupted" | "stalled",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const DISK_WRITE_REASON = "cannot write to the model cache";
/** Failures the next build should try again (bytes were arriving; it resumes): not remembered. */
const resumable = new WeakSet<ModelUnavailableError>();

async function downloadWithResumes(job: DownloadJob): Promise<EnsuredModelFile> {
  const retries = job.options.retries ?? DEFAULTS.retries;
  const retryDelayMs = job.options.retryDelayMs ?? DEFAULTS.retryDelayMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await downloadOnce(job, true);
    } catch (error) {
      if (job.signal.aborted) throw job.signal.reason;
      if (!(error instanceof ConnectionLost)) throw error;
      const have = await sizeOf(job.target.part);
      if (attempt >= retries) {
        const failure = new ModelUnavailableError(
          job.req.id,
          error.kind === "stalled" ? "download stalled" : "download interrupted",
          `Model "${job.req.id}": ${error.message} while downloading ${displayUrl(job.url)} to ${job.target.file}. ` +
            `${formatMB(have)} are kept in ${job.target.part}; run the build (or \`encoder-compare models pull ` +
            `${job.req.id}\`) again to resume.`,
          { cause: error },
        );
        if (have > 0) resumable.add(failure);
        throw failure;
      }
      job.options.log?.(
        `${job.target.label}: ${error.message}; resuming from ${formatMB(have)} (retry ${attempt + 1} of ${retries})`,
      );
      await sleep(retryDelayMs * (attempt + 1), undefined, { signal: job.signal });
    }
  }
}

/** The most bytes the file may have: its pinned size, else the spec's maximum, else the default cap. */
function sizeCap(job: DownloadJob): number {
  return job.pin.bytes ?? job.req.maxBytes ?? DEFAULTS.maxUnpinnedBytes;
}

async function downloadOnce(job: DownloadJob, mayResume: boolean): Promise<EnsuredModelFile> {
  const { req, target, pin } = job;
  if (!mayResume) await rm(target.part, { force: true });
  let offset = await sizeOf(target.part);
  const cap = sizeCap(job);
  if (offset > cap) {
    await rm(target.part, { force: true });
    offset = 0;
  }

  const hash = createHash("sha256");
  if (offset > 0) await hashFileInto(hash, target.part); // a resumed file is hashed as a whole

  const headers: Record<string, string> = { "accept-encoding": "identity", "user-agent": "encoder-compare" };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  const reply = await openReply(job, headers, (status) => (status === 206 ? cap - offset : cap));
  const { status, url } = reply;

  let append: boolean;
  let total: number | undefined;
  if (status === 206 && offset > 0) {
    const range = parseContentRange(reply.headers["content-range"]);
    if (!range || range.start !== offset) {
      reply.discard();
      job.options.log?.(`${target.label}: the server answered the resume with an unexpected range; starting over`);
      return downloadOnce(job, false);
    }
    append = true;
    total = range.total;
  } else if (status === 200) {
    if (offset > 0) job.options.log?.(`${target.label}: the server does not resume downloads; starting over`);
    append = false;
    total = contentLength(reply.headers);
  } else if (status === 416 && offset > 0) {
    // The part may already be complete; if it is not valid, fetch it again from the start.
    reply.discard();
    const serverTotal = parseUnsatisfiedRange(reply.headers["content-range"]);
    if (serverTotal === undefined || serverTotal === offset) {
      const done = await finishIfValid(job, hash.digest("hex"), offset, "restart");
      if (done) return done;
    }
    job.options.log?.(`${target.label}: the partial download is not usable; starting over`);
    return downloadOnce(job, false);
  } else {
    reply.discard();
    throw new ModelUnavailableError(
      req.id,
      `HTTP ${status} from ${displayUrl(url)}`,
      `Model "${req.id}": downloading ${req.fileName} failed with HTTP ${status} ${reply.statusMessage} ` +
        `from ${displayUrl(url)}${url.toString() === job.url.toString() ? "" : ` (redirected from ${displayUrl(job.url)})`}. ` +
        `Check the URL in the encoder spec, or set ENCODER_COMPARE_MODEL_BASE_URL to a mirror that has the file.`,
    );
  }
  if (!append) offset = 0;
  const running = append ? hash : createHash("sha256");

  if (pin.bytes !== undefined && total !== undefined && total !== pin.bytes) {
    reply.discard();
    await rm(target.part, { force: true });
    throw mismatchError(job, "size mismatch", `the server offers ${total} bytes`);
  }

  const { progress: mode, log, progressOutput: output } = job.options;
  const progress = startProgress(job.target.label, job.url, { mode, log, output }, offset, total);
  let received = offset;
  let diskError: unknown;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      running.update(chunk);
      received += chunk.length;
      progress.update(received);
      callback(null, chunk);
    },
  });
  const sink = createWriteStream(target.part, { flags: append ? "a" : "w" });
  sink.on("error", (error) => (diskError ??= error));
  try {
    await pipeline(reply.body, meter, sink, { signal: job.signal });
  } catch (error) {
    progress.stop(false);
    if (job.signal.aborted) throw job.signal.reason;
    if (diskError) throw diskWriteError(job, diskError);
    throw fetchFailure(job, error, received);
  }
  if (total !== undefined && received < total) {
    progress.stop(false);
    throw new ConnectionLost("interrupted", `the server ended the reply after ${formatMB(received)} of ${formatMB(total)}`);
  }
  await fsyncFile(target.part);
  progress.stop(true);

  // A resumed file that fails its checks may just have a bad start: fetch it whole once before giving up.
  return (await finishIfValid(job, running.digest("hex"), received, append ? "restart" : "throw")) ?? downloadOnce(job, false);
}

/**
 * Checks the complete part file against the pin and its format; places it (and records the
 * lock entry when unpinned). A part that fails is deleted, then either reported ("throw", a
 * fresh download) or answered with undefined so the caller starts over ("restart", a part
 * left by an earlier run, which may simply be corrupt).
 */
async function finishIfValid(
  job: DownloadJob,
  sha256: string,
  bytes: number,
  onMismatch: "throw" | "restart",
): Promise<EnsuredModelFile | undefined> {
  const { req, target, pin } = job;
  const sizeWrong = pin.bytes !== undefined && bytes !== pin.bytes;
  const hashWrong = pin.sha256 !== undefined && sha256 !== pin.sha256;
  if (sizeWrong || hashWrong) {
    await rm(target.part, { force: true });
    if (onMismatch === "restart") return undefined;
    throw mismatchError(
      job,
      hashWrong ? "sha256 mismatch" : "size mismatch",
      `the downloaded file has sha256 ${sha256} (${bytes} bytes)`,
    );
  }
  const problem = req.format ? await contentProblem(target.part, req.format) : undefined;
  if (req.format && problem) {
    await rm(target.part, { force: true });
    if (onMismatch === "restart") return undefined;
    throw new ModelUnavailableError(
      req.id,
      `${displayUrl(job.url)} did not send a valid ${describeFormat(req.format)}`,
      `Model "${req.id}": the file downloaded from ${displayUrl(job.url)} is not a valid ${describeFormat(req.format)}: ${problem}. ` +
        `It was deleted and nothing was pinned. Check the URL in the encoder spec or the mirror (ENCODER_COMPARE_MODEL_BASE_URL), ` +
        `then run \`npx encoder-compare models pull ${req.id}\`.`,
      { note: problem },
    );
  }
  if (pin.source === "none") await recordLockEntry(target.lockFile, req, sha256, bytes, job.signal);
  await rename(target.part, target.file);
  await writeSidecar(target.file, sha256, req.format && formatKey(req.format)).catch(() => undefined);
  return { path: target.file, sha256, bytes, downloaded: true };
}

function mismatchError(job: DownloadJob, reason: string, found: string): ModelUnavailableError {
  const { req, target, pin } = job;
  const expected = `sha256 ${pin.sha256 ?? "(any)"}${pin.bytes !== undefined ? ` (${pin.bytes} bytes)` : ""}`;
  const source = displayUrl(job.url);
  if (pin.source === "lock") {
    return new ModelUnavailableError(
      req.id,
      `${reason} with ${LOCK_FILE_NAME}`,
      `Model "${req.id}": ${source} (${req.fileName}) changed since ${LOCK_FILE_NAME} recorded it on ` +
        `${pin.lockEntry?.recordedAt ?? "an earlier download"}: ${found}, the lock file pins ${expected}. ` +
        `Nothing was cached. If the new file is expected, run \`encoder-compare models pull --update-lock ${req.id}\` ` +
        `or delete models["${req.id}"]["${req.fileName}"] from ${target.lockFile}.`,
    );
  }
  return new ModelUnavailableError(
    req.id,
    reason,
    `Model "${req.id}": ${source} (${req.fileName}) does not match the encoder spec: ${found}, expected ${expected}. ` +
      `Nothing was cached. Check the URL (a different revision?) or the mirror (ENCODER_COMPARE_MODEL_BASE_URL), ` +
      `or update the pinned sha256/bytes in the encoder spec if the file really changed.`,
  );
}

function diskWriteError(job: DownloadJob, cause: unknown): ModelUnavailableError {
  return new ModelUnavailableError(
    job.req.id,
    DISK_WRITE_REASON,
    `Model "${job.req.id}": writing ${job.target.part} failed while downloading ${displayUrl(job.url)}. ` +
      `Free disk space or point ENCODER_COMPARE_MODELS_DIR at a writable directory.`,
    { cause },
  );
}

// ---------------------------------------------------------------------------------------------
// HTTP, through the one client (net/): URL policy, deadlines and the size cap live there
// ---------------------------------------------------------------------------------------------

async function openReply(job: DownloadJob, headers: Record<string, string>, maxBytes: (status: number) => number): Promise<Reply> {
  const { limits, stallTimeoutMs } = job.options;
  try {
    return await openGet({
      url: job.url,
      what: `${job.req.fileName} for model "${job.req.id}"`,
      headers,
      signal: job.signal,
      limits: { ...limits, ...(stallTimeoutMs === undefined ? {} : { stallTimeoutMs }) },
      maxBytes,
    });
  } catch (error) {
    if (error instanceof NetError && error.kind === "too-large" && job.pin.bytes !== undefined) {
      await rm(job.target.part, { force: true });
      throw mismatchError(job, "size mismatch", error.message);
    }
    throw fetchFailure(job, error, 0);
  }
}

/** A NetError as what the download does next: resume (ConnectionLost) or give up (ModelUnavailableError). */
function fetchFailure(job: DownloadJob, error: unknown, received: number): unknown {
  if (job.signal.aborted) return job.signal.reason;
  if (!(error instanceof NetError)) return new ConnectionLost("interrupted", `the connection dropped after ${formatMB(received)}`, { cause: error });
  const { req, target } = job;
  const at = displayUrl(error.url);
  const kept = `${formatMB(received)} are kept in ${target.part}; the next build (or \`npx encoder-compare models pull ${req.id}\`) resumes from there`;
  const unavailable = (reason: string, message: string) => new ModelUnavailableError(req.id, reason, `Model "${req.id}": ${message}`, { cause: error });
  switch (error.kind) {
    case "stalled":
      return new ConnectionLost("stalled", error.message, { cause: error });
    case "interrupted":
      return new ConnectionLost("interrupted", `the connection dropped after ${formatMB(received)}`, { cause: error });
    case "refused":
      return unavailable(
        `insecure URL refused: ${at}`,
        `refusing to download ${req.fileName} from ${at} (redirected from ${displayUrl(job.url)}): ${URL_POLICY_TEXT}. ` +
          `Use an https URL or mirror (ENCODER_COMPARE_MODEL_BASE_URL).`,
      );
    case "too-many-redirects":
      return unavailable("too many redirects", `${error.message}; check the URL in the encoder spec.`);
    case "too-large":
      return unavailable(
        "download larger than expected",
        `${error.message} (${job.pin.bytes !== undefined ? "the pinned size" : "the spec's maxBytes, or the 4 GiB default"}); ` +
          `reading stopped there. ${kept}; if the file really grew, update the encoder spec.`,
      );
    case "too-slow":
    case "deadline":
      return unavailable(
        error.kind === "too-slow" ? "download too slow" : "download took too long",
        `${error.message} while downloading ${at}. ${kept}. The limit is set by ENCODER_COMPARE_MIN_SPEED (bytes/s).`,
      );
    default:
      // unreachable, connect-timeout, no-reply: nothing arrived from this host.
      return unavailable(
        `cannot reach ${error.url.host} (${error.kind === "unreachable" ? errorCode(error.cause) : error.kind === "no-reply" ? "no reply" : "no connection"})`,
        `${error.message} while asking for ${at} (${req.fileName}). Check the network, set ENCODER_COMPARE_MODEL_BASE_URL to a ` +
          `reachable mirror, or work offline (ENCODER_COMPARE_OFFLINE=1) with the file already in ${target.file}.`,
      );
  }
}

function parseContentRange(header: string | undefined): { start: number; total?: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? "");
  if (!match) return undefined;
  return { start: Number(match[1]), total: match[3] === "*" ? undefined : Number(match[3]) };
}

function parseUnsatisfiedRange(header: string | undefined): number | undefined {
  const match = /^bytes \*\/(\d+)$/.exec(header?.trim() ?? "");
  return match ? Number(match[1]) : undefined;
}

function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = Number(headers["content-length"]);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Concurrency: one shared promise per file in this process (a lock file across processes: file-lock.ts)
// ---------------------------------------------------------------------------------------------

const inFlight = new Map<string, SharedTask<EnsuredModelFile>>();
