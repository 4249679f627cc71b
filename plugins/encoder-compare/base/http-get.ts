// Small HTTP GET for the dataset importer and embeddings-folder images, on the plugin's one client (http-client.ts):
// its URL policy, deadlines and byte cap; plus retries with backoff (retry.ts) for failures that may pass (network
// errors, deadlines, 408, 429, 5xx). Failures are NetErrors worded "<url>: <what happened>".
import { DEFAULTS } from "./defaults.ts";
import { getBytes } from "./http-client.ts";
import { NetError } from "./http-errors.ts";
import { doubling, withRetries } from "./retry.ts";
import { checkUrl, displayUrl } from "./url-policy.ts";

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

/** The client's NetError reworded "<url>: <what happened>"; policy errors already name their URLs and stay as they are. */
function worded(error: unknown): unknown {
  if (!(error instanceof NetError) || error.kind === "refused" || error.kind === "too-many-redirects") return error;
  const what = error.kind === "http-status" ? `HTTP ${error.status}` : error.message;
  return new NetError(error.kind, error.url, `${displayUrl(error.url)}: ${what}`, { cause: error, status: error.status, retryAfterMs: error.retryAfterMs });
}

/** One GET (following allowed redirects); the body as a Buffer, or a NetError. */
export async function httpGetOnce(url: URL, options: GetOptions): Promise<Buffer> {
  try {
    return await getBytes({
      url,
      what: options.what,
      signal: options.signal,
      maxBytes: options.maxBytes,
      fromData: options.fromData,
      configuredHosts: options.configuredHosts,
      limits: { totalTimeoutMs: options.timeoutMs, connectTimeoutMs: Math.min(options.timeoutMs, DEFAULTS.net.connectTimeoutMs) },
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw worded(error);
  }
}

export interface RetryOptions extends GetOptions {
  /** Tries in all (1 = no retry). */
  attempts: number;
  /** Wait before the second try; doubles for each later one. */
  backoffMs: number;
}

/** A server's Retry-After is honoured up to this long, so one reply cannot stall an import for hours. */
const MAX_RETRY_AFTER_MS = 30_000;

export async function httpGetWithRetries(url: URL, options: RetryOptions): Promise<Buffer> {
  const backoff = doubling(options.backoffMs);
  return withRetries(() => httpGetOnce(url, options), {
    tries: options.attempts,
    retryable: (error) => error instanceof NetError && error.retryable,
    waitMs: (failedTry, error) => Math.max(backoff(failedTry), Math.min((error as NetError).retryAfterMs ?? 0, MAX_RETRY_AFTER_MS)),
    signal: options.signal,
  });
}
