// Debian's Chromium for the browser tests: where it is, why a suite skips without it, and a headless profile of a
// suite's own (removed again by close()).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

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

export interface OpenedPage {
  page: Page;
  /** Console errors, uncaught exceptions, failed and non-2xx requests. */
  problems: string[];
}

/** Opens `url` in a new page at `viewport` and colour scheme, collecting every problem the page runs into. */
export async function openPage(
  context: BrowserContext,
  url: string,
  viewport: { width: number; height: number } = { width: 1280, height: 900 },
  colorScheme: "light" | "dark" = "light",
): Promise<OpenedPage> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`exception: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  await page.setViewportSize(viewport);
  await page.emulateMedia({ colorScheme });
  await page.goto(url, { waitUntil: "load" });
  return { page, problems };
}
