// The demo site built as `npm run build` builds it (the compiled package, the config compiled, Eleventy under plain
// node) into a folder of a test's own, offline with an empty model cache: a stand-in build, whatever this machine has
// downloaded. The browser tests serve it to Chromium (openDemoSite).
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { BrowserContext } from "playwright-core";
import { openChromium } from "./chromium.ts";
import { ensureDemoDataset } from "./demo-dataset.ts";
import { serveStatic } from "./static-server.ts";

const run = promisify(execFile);

/** Builds the demo site into `site` (emptied first). */
export async function buildDemoSite(site: string, root = process.cwd()): Promise<void> {
  fs.rmSync(site, { recursive: true, force: true });
  ensureDemoDataset(root);
  const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-demo-site-models-"));
  const env = { ...process.env, ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: models };
  try {
    for (const args of [["scripts/build-package.mjs"], ["scripts/eleventy.mjs", `--output=${path.relative(root, site)}`]]) {
      try {
        await run(process.execPath, args, { cwd: root, env, maxBuffer: 16 * 1024 * 1024 });
      } catch (error) {
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`node ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`, { cause: error });
      }
    }
  } finally {
    fs.rmSync(models, { recursive: true, force: true });
  }
}

/** The demo site built into `site`, served on loopback and open in a fresh Chromium: what a browser suite starts with. */
export interface DemoSiteInChromium {
  /** The static server's origin, e.g. "http://127.0.0.1:43210". */
  origin: string;
  context: BrowserContext;
  /** Ends Chromium (deleting its profile) and the server. */
  close(): Promise<void>;
}

export async function openDemoSite(site: string): Promise<DemoSiteInChromium> {
  await buildDemoSite(site);
  const server = await serveStatic(site);
  const chromium = await openChromium().catch(async (error) => {
    await server.close();
    throw error;
  });
  return {
    origin: server.origin,
    context: chromium.context,
    async close() {
      await chromium.close();
      await server.close();
    },
  };
}
