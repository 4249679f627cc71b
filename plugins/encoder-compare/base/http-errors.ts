// Typed fetch errors: `kind` says what went wrong, the message says it in plain words.

export type NetErrorKind =
  /** The URL (or a redirect) breaks the URL policy. */
  | "refused"
  /** DNS, refused connection, TLS failure, reset before a reply. */
  | "unreachable"
  /** No connection within the connect deadline. */
  | "connect-timeout"
  /** Connected, but no reply (headers) within the stall deadline. */
  | "no-reply"
  /** The reply stopped sending bytes for the stall deadline. */
  | "stalled"
  /** The reply sent fewer bytes than the minimum throughput over one window. */
  | "too-slow"
  /** The whole request ran past its overall deadline. */
  | "deadline"
  /** The reply is (or declares itself) larger than the byte cap. */
  | "too-large"
  /** The connection closed before the reply ended. */
  | "interrupted"
  | "too-many-redirects"
  /** A reply that is not 2xx where only 2xx will do. */
  | "http-status";

const RETRYABLE = new Set<NetErrorKind>(["unreachable", "connect-timeout", "no-reply", "stalled", "too-slow", "deadline", "interrupted"]);

export class NetError extends Error {
  readonly kind: NetErrorKind;
  /** The URL the error happened at (after redirects); print it with displayUrl. */
  readonly url: URL;
  readonly status?: number;
  /** Server's Retry-After, in ms, when it sent one. */
  readonly retryAfterMs?: number;

  constructor(kind: NetErrorKind, url: URL, message: string, options?: { cause?: unknown; status?: number; retryAfterMs?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NetError";
    this.kind = kind;
    this.url = url;
    this.status = options?.status;
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** Worth trying again later: a network failure, a deadline, or HTTP 408/429/5xx. */
  get retryable(): boolean {
    if (this.kind === "http-status") return this.status === 408 || this.status === 429 || (this.status ?? 0) >= 500;
    return RETRYABLE.has(this.kind);
  }
}

export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}
