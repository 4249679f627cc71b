// A model file that could not be fetched is not fetched again on every build: the failure is
// remembered next to where the file would be (`<file>.unavailable.json`) with its time and URL,
// and builds within the window reuse it without touching the network. A different URL (another
// mirror), `models pull`, or a window of 0 tries again.
import { readFile, rm, writeFile } from "node:fs/promises";
import { isUnavailableKind, type ModelUnavailableKind } from "./model-file.ts";

export interface UnavailableMemo {
  /** ISO time of the failed try. */
  at: string;
  /** The URL that was tried (origin and path). */
  url: string;
  kind: ModelUnavailableKind;
  reason: string;
  message: string;
}

export const RETRY_AFTER_ENV = "ENCODER_COMPARE_MODEL_RETRY_AFTER";

export function memoPath(file: string): string {
  return `${file}.unavailable.json`;
}

/** The remembered failure for `url` if it is younger than `windowMs`. */
export async function recentFailure(file: string, url: string, windowMs: number, now = Date.now()): Promise<UnavailableMemo | undefined> {
  if (windowMs <= 0) return undefined;
  let memo: Partial<UnavailableMemo>;
  try {
    memo = JSON.parse(await readFile(memoPath(file), "utf8")) as Partial<UnavailableMemo>;
  } catch {
    return undefined; // none, or torn: try the network
  }
  const at = Date.parse(memo.at ?? "");
  if (memo.url !== url || !Number.isFinite(at) || now - at >= windowMs || now < at) return undefined;
  // A memo without its kind (or with a kind this version does not know) is tried again rather than misworded.
  if (typeof memo.reason !== "string" || typeof memo.message !== "string" || !isUnavailableKind(memo.kind)) return undefined;
  return memo as UnavailableMemo;
}

export async function rememberFailure(file: string, memo: UnavailableMemo): Promise<void> {
  // Only saves time; a read-only cache just means the next build tries again.
  await writeFile(memoPath(file), `${JSON.stringify(memo, null, 2)}\n`).catch(() => undefined);
}

export async function forgetFailure(file: string): Promise<void> {
  await rm(memoPath(file), { force: true }).catch(() => undefined);
}

/** When the remembered failure stops applying, for messages ("06:40 UTC"). */
export function retryTime(memo: UnavailableMemo, windowMs: number): string {
  return new Date(Date.parse(memo.at) + windowMs).toISOString().slice(11, 16) + " UTC";
}
