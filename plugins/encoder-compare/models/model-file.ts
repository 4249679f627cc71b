// What the download steps share: a request for a model file, the options, the answer, the error when it cannot be had.
import type { NetLimits } from "../base/net-limits.ts";
import type { ModelFileFormat } from "./verify-content.ts";

export interface ModelFileRequest {
  /** Model id; also the cache sub-directory. */
  id: string;
  url: string;
  fileName: string;
  /** Pinned sha256 (hex). Without it, models.lock.json pins the hash seen on first download. */
  sha256?: string;
  /** Pinned size in bytes. */
  bytes?: number;
  /** Largest acceptable size of an unpinned file (default DEFAULTS.downloads.maxUnpinnedBytes); a download stops at it. */
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
  /** Abort a connection that delivers no bytes for this long (default DEFAULTS.net.stallTimeoutMs). */
  stallTimeoutMs?: number;
  /** Connect, reply and throughput deadlines (base/net-limits.ts; stallTimeoutMs above wins over limits.stallTimeoutMs). */
  limits?: Partial<NetLimits>;
  /** A failed try is remembered for this long and not repeated (default DEFAULTS.downloads.unavailableRetryMs; 0 always tries). */
  unavailableRetryMs?: number;
  /** Try the network now even if a recent try failed (`models pull`). */
  retryUnavailable?: boolean;
  /** Automatic resumes after a dropped or stalled connection within one call (default DEFAULTS.downloads.retries). */
  retries?: number;
  /** Wait before the n-th automatic resume: n × this (default DEFAULTS.downloads.retryDelayMs). */
  retryDelayMs?: number;
  /** A download lock untouched for this long is taken over (default DEFAULTS.downloads.lockStaleMs). */
  lockStaleMs?: number;
  /** How often to look at a lock held by another process (default DEFAULTS.downloads.lockPollMs). */
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

/** Why a model cannot be had. Pages, the CLI and the log word each kind one way (render/encoder-run.ts). */
export type ModelUnavailableKind =
  /** Offline, and the file is not in the cache. */
  | "offline-not-cached"
  /** Offline, and the cached file cannot be verified or is not valid. */
  | "offline-cache-unusable"
  /** Nothing arrived from the host: DNS, a refused or timed-out connection, no reply. */
  | "unreachable"
  /** The host answered with an error status. */
  | "http-status"
  /** The file's sha256 or size is not what the spec or models.lock.json pins. */
  | "checksum-mismatch"
  /** The model cache could not be written. */
  | "cache-unwritable"
  /** A model file on disk could not be read. */
  | "unreadable"
  /** The URL (or a redirect) breaks the URL policy. */
  | "refused-url"
  | "too-many-redirects"
  /** Larger than its pinned size or cap. */
  | "too-large"
  /** Slower than the minimum speed, or past the overall deadline. */
  | "too-slow"
  /** The connection stalled or dropped, and resuming did not finish the file. */
  | "connection-lost"
  /** The file arrived but is not a valid file of its format. */
  | "invalid-file"
  /** The graph holds operators that are not run (loops bounded only by a tensor). */
  | "unsafe-graph"
  /** Downloaded weights could not be converted to a graph. */
  | "conversion-failed";

const UNAVAILABLE_KINDS: Record<ModelUnavailableKind, true> = {
  "offline-not-cached": true,
  "offline-cache-unusable": true,
  unreachable: true,
  "http-status": true,
  "checksum-mismatch": true,
  "cache-unwritable": true,
  unreadable: true,
  "refused-url": true,
  "too-many-redirects": true,
  "too-large": true,
  "too-slow": true,
  "connection-lost": true,
  "invalid-file": true,
  "unsafe-graph": true,
  "conversion-failed": true,
};

/** A kind read back from a file (the remembered failure) is one this version words. */
export function isUnavailableKind(value: unknown): value is ModelUnavailableKind {
  return typeof value === "string" && Object.hasOwn(UNAVAILABLE_KINDS, value);
}

/** The model cannot be had; `kind` says why, `reason` says it in a short technical phrase (the log, a title attribute). */
export class ModelUnavailableError extends Error {
  readonly modelId: string;
  readonly kind: ModelUnavailableKind;
  readonly reason: string;
  /** For the log, not the page: e.g. that this is a remembered failure and how to retry now. */
  readonly note?: string;

  constructor(modelId: string, kind: ModelUnavailableKind, reason: string, message: string, options?: { cause?: unknown; note?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ModelUnavailableError";
    this.modelId = modelId;
    this.kind = kind;
    this.reason = reason;
    this.note = options?.note;
  }
}

export const DISK_WRITE_REASON = "cannot write to the model cache";
/** Failures the next build should try again (bytes were arriving; it resumes): not remembered. */
export const resumable = new WeakSet<ModelUnavailableError>();

/** Where one model file and its companions live. */
export interface Target {
  dir: string;
  file: string;
  part: string;
  sidecar: string;
  lock: string;
  lockFile: string;
  label: string;
}
