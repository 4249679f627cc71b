// One file over HTTP into <file>.part: resumed with a Range request after a dropped or stalled connection, checked
// against its pin and format, then renamed into place.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import { dirname } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DEFAULTS } from "../base/defaults.ts";
import { openGet, type Reply } from "../base/http-client.ts";
import { errorCode, NetError } from "../base/http-errors.ts";
import { growing, withRetries } from "../base/retry.ts";
import { displayUrl, URL_POLICY_TEXT } from "../base/url-policy.ts";
import { formatMB, startProgress } from "./download-progress.ts";
import { fsyncFile, hashFileInto, sizeOf } from "../base/file-helpers.ts";
import { formatBytes } from "../base/safe-read.ts";
import { LOCK_FILE_NAME, recordLockEntry, type Pin } from "./lock-file.ts";
import {
  DISK_WRITE_REASON, ModelUnavailableError, resumable, type EnsuredModelFile, type EnsureOptions, type ModelFileRequest,
  type ModelUnavailableKind, type Target,
} from "./model-file.ts";
import { writeSidecar } from "./verified-sidecar.ts";
import { contentProblem, describeFormat, formatKey } from "./verify-content.ts";

export interface DownloadJob {
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

/** The download, resumed from its part file after a dropped or stalled connection, up to `retries` times. */
export async function downloadWithResumes(job: DownloadJob): Promise<EnsuredModelFile> {
  const retries = job.options.retries ?? DEFAULTS.downloads.retries;
  const once = async () => {
    try {
      return await downloadOnce(job, true);
    } catch (error) {
      throw job.signal.aborted ? job.signal.reason : error;
    }
  };
  return withRetries(once, {
    tries: retries + 1,
    retryable: (error) => error instanceof ConnectionLost,
    waitMs: growing(job.options.retryDelayMs ?? DEFAULTS.downloads.retryDelayMs),
    signal: job.signal,
    async beforeWait(error, failedTry) {
      const have = await sizeOf(job.target.part);
      job.options.log?.(
        `${job.target.label}: ${(error as ConnectionLost).message}; resuming from ${formatMB(have)} (retry ${failedTry} of ${retries})`,
      );
    },
    async giveUp(error) {
      const lost = error as ConnectionLost;
      const have = await sizeOf(job.target.part);
      const failure = new ModelUnavailableError(
        job.req.id,
        "connection-lost",
        lost.kind === "stalled" ? "download stalled" : "download interrupted",
        `Model "${job.req.id}": ${lost.message} while downloading ${displayUrl(job.url)} to ${job.target.file}. ` +
          `${formatMB(have)} are kept in ${job.target.part}; run the build (or \`encoder-compare models pull ` +
          `${job.req.id}\`) again to resume.`,
        { cause: lost },
      );
      if (have > 0) resumable.add(failure);
      return failure;
    },
  });
}

/** The most bytes the file may have: its pinned size, else the spec's maximum, else the default cap. */
function sizeCap(job: DownloadJob): number {
  return job.pin.bytes ?? job.req.maxBytes ?? DEFAULTS.downloads.maxUnpinnedBytes;
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
      "http-status",
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
      "invalid-file",
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
      "checksum-mismatch",
      `${reason} with ${LOCK_FILE_NAME}`,
      `Model "${req.id}": ${source} (${req.fileName}) changed since ${LOCK_FILE_NAME} recorded it on ` +
        `${pin.lockEntry?.recordedAt ?? "an earlier download"}: ${found}, the lock file pins ${expected}. ` +
        `Nothing was cached. If the new file is expected, run \`encoder-compare models pull --update-lock ${req.id}\` ` +
        `or delete models["${req.id}"]["${req.fileName}"] from ${target.lockFile}.`,
    );
  }
  return new ModelUnavailableError(
    req.id,
    "checksum-mismatch",
    reason,
    `Model "${req.id}": ${source} (${req.fileName}) does not match the encoder spec: ${found}, expected ${expected}. ` +
      `Nothing was cached. Check the URL (a different revision?) or the mirror (ENCODER_COMPARE_MODEL_BASE_URL), ` +
      `or update the pinned sha256/bytes in the encoder spec if the file really changed.`,
  );
}

function diskWriteError(job: DownloadJob, cause: unknown): ModelUnavailableError {
  return new ModelUnavailableError(
    job.req.id,
    "cache-unwritable",
    DISK_WRITE_REASON,
    `Model "${job.req.id}": writing ${job.target.part} failed while downloading ${displayUrl(job.url)}. ` +
      `Free disk space or point ENCODER_COMPARE_MODELS_DIR at a writable directory.`,
    { cause },
  );
}

// ---------------------------------------------------------------------------------------------
// HTTP, through the one client (base/http-client.ts): URL policy, deadlines and the size cap live there
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
  const unavailable = (kind: ModelUnavailableKind, reason: string, message: string) =>
    new ModelUnavailableError(req.id, kind, reason, `Model "${req.id}": ${message}`, { cause: error });
  switch (error.kind) {
    case "stalled":
      return new ConnectionLost("stalled", error.message, { cause: error });
    case "interrupted":
      return new ConnectionLost("interrupted", `the connection dropped after ${formatMB(received)}`, { cause: error });
    case "refused":
      return unavailable(
        "refused-url",
        `insecure URL refused: ${at}`,
        `refusing to download ${req.fileName} from ${at} (redirected from ${displayUrl(job.url)}): ${URL_POLICY_TEXT}. ` +
          `Use an https URL or mirror (ENCODER_COMPARE_MODEL_BASE_URL).`,
      );
    case "too-many-redirects":
      return unavailable("too-many-redirects", "too many redirects", `${error.message}; check the URL in the encoder spec.`);
    case "too-large": {
      const cap = job.pin.bytes !== undefined ? "the pinned size" : `the spec's maxBytes, or the ${formatBytes(DEFAULTS.downloads.maxUnpinnedBytes)} default`;
      return unavailable(
        "too-large",
        "download larger than expected",
        `${error.message} (${cap}); ` +
          `reading stopped there. ${kept}; if the file really grew, update the encoder spec.`,
      );
    }
    case "too-slow":
    case "deadline":
      return unavailable(
        "too-slow",
        error.kind === "too-slow" ? "download too slow" : "download took too long",
        `${error.message} while downloading ${at}. ${kept}. The limit is set by ENCODER_COMPARE_MIN_SPEED (bytes/s).`,
      );
    default:
      // unreachable, connect-timeout, no-reply: nothing arrived from this host.
      return unavailable(
        "unreachable",
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
