// Small HTTP GET for the dataset importer: https only (plain http only to a loopback host),
// redirects followed under the same rule, a size cap, a timeout, and retries with backoff for
// failures that may pass (network errors, timeouts, 408, 429, 5xx).

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

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

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return LOOPBACK_HOSTS.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Origin and path only: query strings may carry tokens that should not reach logs. */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** Throws unless the URL is https, or http to a loopback host. */
export function assertAllowedUrl(url: URL, what: string): void {
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname))) return;
  throw new HttpGetError(`${what} ${displayUrl(url)} refused: only https URLs are allowed (plain http only to 127.0.0.1, ::1 or localhost)`, false);
}

export interface GetOptions {
  what: string;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

async function readCapped(response: Response, maxBytes: number, url: URL): Promise<Buffer> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new HttpGetError(`${displayUrl(url)} is ${declared} bytes, above the ${maxBytes}-byte limit`, false);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      total += chunk.byteLength;
      if (total > maxBytes) throw new HttpGetError(`${displayUrl(url)} is larger than the ${maxBytes}-byte limit`, false);
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks);
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

/** One GET (following allowed redirects); the body as a Buffer, or an HttpGetError. */
export async function httpGetOnce(url: URL, options: GetOptions): Promise<Buffer> {
  let current = url;
  let previous: URL | undefined;
  for (let hop = 0; ; hop++) {
    assertAllowedUrl(current, previous ? `redirect from ${displayUrl(previous)} to` : options.what);
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(current, { redirect: "manual", signal });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const reason = timeout.aborted ? `no reply within ${options.timeoutMs / 1000} s` : `network error (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message})`;
      throw new HttpGetError(`${displayUrl(current)}: ${reason}`, true, { cause: error });
    }
    const location = response.headers.get("location");
    if (REDIRECTS.has(response.status) && location) {
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new HttpGetError(`${displayUrl(url)} redirected more than ${MAX_REDIRECTS} times`, false);
      previous = current;
      current = new URL(location, current);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
      throw new HttpGetError(`${displayUrl(current)}: HTTP ${response.status}`, retryable, { retryAfterMs: retryAfterMs(response.headers.get("retry-after")) });
    }
    try {
      return await readCapped(response, options.maxBytes, current);
    } catch (error) {
      if (error instanceof HttpGetError || options.signal?.aborted) throw error;
      const reason = timeout.aborted ? `download stalled past ${options.timeoutMs / 1000} s` : `connection lost (${(error as Error).message})`;
      throw new HttpGetError(`${displayUrl(current)}: ${reason}`, true, { cause: error });
    }
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
