// The one HTTP(S) client: every fetch the plugin makes goes through `openGet`, which applies the
// URL policy to the URL and to every redirect, and the deadlines and byte cap of NetLimits.
// A deadline or the cap ends the reply with a NetError; nothing past the cap is ever delivered.
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction, type Socket } from "node:net";
import { Readable } from "node:stream";
import { AddressRefusedError, isPublicAddress, publicOnlyLookup } from "./address-policy.ts";
import { errorCode, NetError } from "./http-errors.ts";
import { DEFAULTS } from "./defaults.ts";
import type { NetLimits } from "./net-limits.ts";
import { checkUrl, displayUrl } from "./url-policy.ts";

export interface GetRequest {
  url: URL;
  /** What is fetched, for messages ("model file clip/vision_model.onnx", "image URL"). */
  what: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  limits?: Partial<NetLimits>;
  /** Most body bytes accepted, given the final reply's status (a resumed 206 needs fewer than a 200). */
  maxBytes: number | ((status: number) => number);
  /** Called when a TCP connection is opened (tests count them). */
  onConnect?: () => void;
  /**
   * The URL comes from data (a dataset's url column, a downloaded list): it may connect only to public addresses
   * unless its host is in `configuredHosts`. Otherwise the caller configured it, and its own host may be anything.
   * Either way a redirect to another host reaches only public addresses, or a configured host.
   */
  fromData?: boolean;
  /** Hosts (host:port as in URL.host) the user configured: these may be loopback or private. */
  configuredHosts?: readonly string[];
  /** Name resolution (default dns.lookup); tests inject names that resolve where they choose. */
  lookup?: LookupFunction;
}

export interface Reply {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  /** The URL that answered, after redirects. */
  url: URL;
  /** The body under the deadlines and cap: it errors with a NetError when one trips. */
  body: Readable;
  /** Stops reading and frees the connection (for replies the caller does not want). */
  discard(): void;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** GET `request.url`, following redirects that pass the URL policy. */
export async function openGet(request: GetRequest): Promise<Reply> {
  const limits: NetLimits = { ...DEFAULTS.net, ...definedOnly(request.limits) };
  const started = Date.now();
  let url = request.url;
  let previous: URL | undefined;
  const configured = new Set([...(request.configuredHosts ?? []), ...(request.fromData ? [] : [request.url.host])]);
  for (let hop = 0; ; hop++) {
    checkUrl(url, request.what, previous);
    const anyAddress = configured.has(url.host);
    checkAddressLiteral(url, request.what, previous, anyAddress);
    const reply = await getOnce(url, request, limits, started, anyAddress, previous);
    const location = reply.headers.location;
    if (!REDIRECT_STATUSES.has(reply.status) || !location) return reply;
    reply.discard();
    const next = new URL(location, url);
    if (hop >= limits.maxRedirects) {
      throw new NetError(
        "too-many-redirects",
        url,
        `${displayUrl(request.url)} redirected more than ${limits.maxRedirects} times (last to ${displayUrl(next)})`,
      );
    }
    previous = url;
    url = next;
  }
}

/** GET and read the whole (capped) body; any status but 2xx is an `http-status` NetError. */
export async function getBytes(request: GetRequest): Promise<Buffer> {
  const reply = await openGet(request);
  if (reply.status < 200 || reply.status > 299) {
    reply.discard();
    throw new NetError("http-status", reply.url, `HTTP ${reply.status} from ${displayUrl(reply.url)}`, {
      status: reply.status,
      retryAfterMs: retryAfterMs(reply.headers["retry-after"]),
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of reply.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** What refused a connection to a host that is not public, for messages. */
function notPublic(url: URL, what: string, previous: URL | undefined, detail: string): NetError {
  const subject = previous ? `redirect from ${displayUrl(previous)} to` : what;
  return new NetError(
    "refused",
    url,
    `${subject} ${displayUrl(url)} refused: ${detail}; only public addresses are fetched for data and redirects ` +
      `(configure this exact host to allow it)`,
  );
}

/** A URL whose host is an IP address is judged here (no DNS lookup happens for it). */
function checkAddressLiteral(url: URL, what: string, previous: URL | undefined, anyAddress: boolean): void {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (anyAddress || isIP(host) === 0 || isPublicAddress(host)) return;
  throw notPublic(url, what, previous, `${host} is not a public address`);
}

function getOnce(url: URL, request: GetRequest, limits: NetLimits, started: number, anyAddress: boolean, previous?: URL): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const timers = new Map<string, NodeJS.Timeout>();
    const clear = (name?: string) => {
      for (const [key, timer] of timers) {
        if (name === undefined || key === name) {
          clearTimeout(timer);
          clearInterval(timer);
          timers.delete(key);
        }
      }
    };
    let body: Readable | undefined;
    let response: IncomingMessage | undefined;
    let finished = false;
    const fail = (error: unknown) => {
      if (finished) return;
      finished = true;
      clear();
      request.signal?.removeEventListener("abort", onAbort);
      if (body) body.destroy(error as Error);
      else reject(error);
      response?.destroy();
      outgoing.destroy();
    };
    const onAbort = () => fail(request.signal!.reason);
    const seconds = (ms: number) => `${ms / 1000} s`;

    request.signal?.throwIfAborted();
    const client = url.protocol === "https:" ? https : http;
    // agent: false — a fresh connection per request, so a deadline never hits a reused socket.
    // Names are judged on the addresses they resolve to, at connect time (no second lookup can differ).
    const lookup = anyAddress ? request.lookup : publicOnlyLookup(request.lookup);
    const outgoing = client.get(url, { headers: request.headers, agent: false, ...(lookup ? { lookup } : {}) });
    request.signal?.addEventListener("abort", onAbort, { once: true });

    if (limits.totalTimeoutMs !== undefined) {
      const left = Math.max(0, limits.totalTimeoutMs - (Date.now() - started));
      timers.set(
        "total",
        setTimeout(() => fail(new NetError("deadline", url, `${displayUrl(url)} did not finish within ${seconds(limits.totalTimeoutMs!)}`)), left),
      );
    }
    timers.set(
      "connect",
      setTimeout(
        () => fail(new NetError("connect-timeout", url, `no connection to ${url.host} within ${seconds(limits.connectTimeoutMs)}`)),
        limits.connectTimeoutMs,
      ),
    );
    outgoing.on("socket", (socket: Socket) => {
      const connected = () => {
        request.onConnect?.();
        clear("connect");
        if (response) return;
        timers.set(
          "reply",
          setTimeout(
            () => fail(new NetError("no-reply", url, `${url.host} accepted the connection but sent no reply within ${seconds(limits.replyTimeoutMs)}`)),
            limits.replyTimeoutMs,
          ),
        );
      };
      socket.once(url.protocol === "https:" ? "secureConnect" : "connect", connected);
    });
    outgoing.on("error", (error) => {
      if (error instanceof AddressRefusedError) fail(notPublic(url, request.what, previous, error.message));
      else if (response) fail(new NetError("interrupted", url, `the connection to ${url.host} dropped (${errorCode(error)})`, { cause: error }));
      else fail(new NetError("unreachable", url, `cannot reach ${url.host} (${errorCode(error)})`, { cause: error }));
    });

    outgoing.on("response", (incoming) => {
      if (finished) return void incoming.destroy(); // a deadline ended the request first
      response = incoming;
      clear("connect");
      clear("reply");
      const status = incoming.statusCode ?? 0;
      const cap = typeof request.maxBytes === "function" ? request.maxBytes(status) : request.maxBytes;
      const declared = Number(incoming.headers["content-length"]);
      const tooLarge = (detail: string) =>
        new NetError("too-large", url, `${displayUrl(url)} ${detail}, above the ${cap}-byte limit for ${request.what}`);
      const wanted = status >= 200 && status <= 299;
      if (wanted && Number.isSafeInteger(declared) && declared > cap) {
        fail(tooLarge(`declares ${declared} bytes`));
        return;
      }
      let received = 0;
      let windowStart = 0;
      const armStall = () => {
        clear("stall");
        timers.set("stall", setTimeout(() => fail(new NetError("stalled", url, `no data for ${seconds(limits.stallTimeoutMs)}`)), limits.stallTimeoutMs));
      };
      armStall();
      timers.set(
        "throughput",
        setInterval(() => {
          const got = received - windowStart;
          windowStart = received;
          const floor = (limits.minBytesPerSecond * limits.throughputWindowMs) / 1000;
          if (got < floor) {
            fail(
              new NetError(
                "too-slow",
                url,
                `${url.host} sent ${got} bytes in ${seconds(limits.throughputWindowMs)}, below the minimum of ${limits.minBytesPerSecond} bytes/s`,
              ),
            );
          }
        }, limits.throughputWindowMs),
      );

      body = new Readable({ read: () => void incoming.resume() });
      body.on("close", () => {
        if (finished) return;
        // The consumer stopped reading (destroyed the body): let the connection go.
        finished = true;
        clear();
        request.signal?.removeEventListener("abort", onAbort);
        incoming.destroy();
        outgoing.destroy();
      });
      incoming.on("data", (chunk: Buffer) => {
        if (finished) return;
        armStall();
        if (received + chunk.length > cap) {
          const room = cap - received;
          received = cap;
          if (room > 0) body!.push(chunk.subarray(0, room));
          fail(tooLarge("sent more bytes"));
          return;
        }
        received += chunk.length;
        if (!body!.push(chunk)) incoming.pause();
      });
      incoming.on("end", () => {
        if (finished) return;
        finished = true;
        clear();
        request.signal?.removeEventListener("abort", onAbort);
        body!.push(null);
      });
      incoming.on("error", (error) => fail(new NetError("interrupted", url, `the connection dropped after ${received} bytes`, { cause: error })));
      incoming.on("close", () => {
        if (!incoming.complete) fail(new NetError("interrupted", url, `the connection dropped after ${received} bytes`));
      });
      resolve({
        status,
        statusMessage: incoming.statusMessage ?? "",
        headers: incoming.headers,
        url,
        body,
        discard: () => body!.destroy(),
      });
    });
  });
}

function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
