// The one URL policy for everything the plugin fetches: https anywhere, plain http only to this
// machine (loopback), so nothing on the network path can read or change what a build downloads.
import { BlockList, isIP } from "node:net";
import { NetError } from "./http-errors.ts";

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** The one definition of loopback: 127.0.0.0/8, ::1 (also IPv4-mapped), and the name `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (host === "localhost") return true;
  const family = isIP(host);
  if (family === 4) return LOOPBACK.check(host, "ipv4");
  if (family === 6) return LOOPBACK.check(host, "ipv6");
  return false;
}

const UNSPECIFIED = new BlockList();
UNSPECIFIED.addSubnet("0.0.0.0", 8, "ipv4");
UNSPECIFIED.addAddress("::", "ipv6");

/**
 * Hosts a connection to which reaches this machine: loopback, and also the "this host" addresses
 * 0.0.0.0/8 and :: (Linux connects them to the local host) and names under .localhost (RFC 6761).
 * Only loopback may be fetched over plain http; none of these may be the target of a redirect
 * from a remote host.
 */
export function isThisMachine(hostname: string): boolean {
  if (isLoopbackHost(hostname)) return true;
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (host.endsWith(".localhost")) return true;
  const family = isIP(host);
  return family !== 0 && UNSPECIFIED.check(host, family === 4 ? "ipv4" : "ipv6");
}

/** Origin and path only: query strings of signed URLs carry tokens that must not reach pages or logs. */
export function displayUrl(url: URL): string {
  if (url.origin !== "null") return `${url.origin}${url.pathname}`;
  // file:, data: and other schemes without an origin: the URL itself, less credentials, query and fragment.
  const shown = new URL(url.href);
  for (const part of ["username", "password", "search", "hash"] as const) shown[part] = "";
  return shown.href;
}

export const URL_POLICY_TEXT = "only https URLs are allowed (plain http only to loopback: 127.0.0.0/8, ::1, localhost)";

/**
 * Throws a `refused` NetError unless `url` is https, or http to a loopback host; and a remote
 * host may not redirect to this machine (a reply from the internet must not reach local services).
 */
export function checkUrl(url: URL, what: string, redirectedFrom?: URL): void {
  const subject = redirectedFrom ? `redirect from ${displayUrl(redirectedFrom)} to` : what;
  if (redirectedFrom && !isThisMachine(redirectedFrom.hostname) && isThisMachine(url.hostname)) {
    throw new NetError("refused", url, `${subject} ${displayUrl(url)} refused: a remote host may not redirect to this machine`);
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname))) return;
  throw new NetError("refused", url, `${subject} ${displayUrl(url)} refused: ${URL_POLICY_TEXT}`);
}
