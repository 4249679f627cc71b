// Debian's Chromium for the browser tests: where it is, why a suite skips without it, and a headless profile of a
// suite's own (removed again by close()).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Debian's browser, or the one CHROMIUM_PATH names. */
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** Why the browser tests cannot run here, or false when they can (under `npm test` the pretest step installs it). */
export const chromiumMissing = fs.existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not found; install Debian's chromium package (or set CHROMIUM_PATH) to run the browser tests`;

/** Flags for a quiet headless run in a sandbox-less container: no GPU, no first-run or background traffic. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A headless Chromium with a fresh profile; close() ends it and deletes the profile. */
export async function openChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ["--headless", ...CHROMIUM_ARGS] });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
