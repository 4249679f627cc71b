// The one URL policy for everything the plugin fetches: https anywhere, plain http only to this
// machine (loopback), so nothing on the network path can read or change what a build downloads.
import { BlockList, isIP } from "node:net";
import { NetError } from "./errors.ts";

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

/** Origin and path only: query strings of signed URLs carry tokens that must not reach pages or logs. */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

export const URL_POLICY_TEXT = "only https URLs are allowed (plain http only to loopback: 127.0.0.0/8, ::1, localhost)";

/**
 * Throws a `refused` NetError unless `url` is https, or http to a loopback host; and a remote
 * host may not redirect to this machine (a reply from the internet must not reach local services).
 */
export function checkUrl(url: URL, what: string, redirectedFrom?: URL): void {
  const subject = redirectedFrom ? `redirect from ${displayUrl(redirectedFrom)} to` : what;
  if (redirectedFrom && !isLoopbackHost(redirectedFrom.hostname) && isLoopbackHost(url.hostname)) {
    throw new NetError("refused", url, `${subject} ${displayUrl(url)} refused: a remote host may not redirect to this machine`);
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname))) return;
  throw new NetError("refused", url, `${subject} ${displayUrl(url)} refused: ${URL_POLICY_TEXT}`);
}
