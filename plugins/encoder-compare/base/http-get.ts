// Small HTTP GET for the dataset importer, on the plugin's one client (http-client.ts): its URL policy,
// deadlines and byte cap; plus retries with backoff for failures that may pass (network errors,
// deadlines, 408, 429, 5xx).
import { getBytes } from "./http-client.ts";
import { NetError } from "./http-errors.ts";
import { checkUrl, displayUrl, isLoopbackHost } from "./url-policy.ts";

export { displayUrl, isLoopbackHost };

export class HttpGetError extends Error {
  constructor(
    message: string,
    /** Worth trying again (network error, timeout, 408, 429, 5xx). */
    readonly retryable: boolean,
    options?: ErrorOptions & { retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
  readonly retryAfterMs?: number;
}

/** Throws unless the URL is https, or http to a loopback host. */
export function assertAllowedUrl(url: URL, what: string): void {
  try {
    checkUrl(url, what);
  } catch (error) {
    throw asHttpGetError(error);
  }
}

export interface GetOptions {
  what: string;
  /** Overall deadline for one try (the connect, reply and stall deadlines are the client's). */
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
  /** The URL comes from data: public addresses only, unless its host is one of `configuredHosts` (see http-client.ts). */
  fromData?: boolean;
  configuredHosts?: readonly string[];
}

function asHttpGetError(error: unknown): unknown {
  if (!(error instanceof NetError)) return error;
  // The importer's messages are "<url>: <what happened>"; policy errors already name their URLs.
  const at = displayUrl(error.url);
  const what = error.kind === "http-status" ? `HTTP ${error.status}` : error.message;
  const message = error.kind === "refused" || error.kind === "too-many-redirects" ? error.message : `${at}: ${what}`;
  return new HttpGetError(message, error.retryable, { cause: error, retryAfterMs: error.retryAfterMs });
}

/** One GET (following allowed redirects); the body as a Buffer, or an HttpGetError. */
export async function httpGetOnce(url: URL, options: GetOptions): Promise<Buffer> {
  try {
    return await getBytes({
      url,
      what: options.what,
      signal: options.signal,
      maxBytes: options.maxBytes,
      fromData: options.fromData,
      configuredHosts: options.configuredHosts,
      limits: { totalTimeoutMs: options.timeoutMs, connectTimeoutMs: Math.min(options.timeoutMs, 10_000) },
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw asHttpGetError(error);
  }
}

export interface RetryOptions extends GetOptions {
  /** Tries in all (1 = no retry). */
  attempts: number;
  /** Wait before the second try; doubles for each later one. */
  backoffMs: number;
}

const MAX_RETRY_AFTER_MS = 30_000;

export async function httpGetWithRetries(url: URL, options: RetryOptions): Promise<Buffer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await httpGetOnce(url, options);
    } catch (error) {
      if (!(error instanceof HttpGetError) || !error.retryable || attempt >= options.attempts) throw error;
      const backoff = options.backoffMs * 2 ** (attempt - 1);
      const wait = Math.max(backoff, Math.min(error.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
