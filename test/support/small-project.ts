// Small Eleventy projects for the tests that build one post: a post with one shortcode, a dataset of
// three emoji and a query image beside the post, each in a fresh folder (Eleventy caches
// templates by path within a process), built with the plugin through its programmatic API.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import type { BuildSummary } from "../../plugins/encoder-compare/engine/summary.ts";
import { buildWithPlugin } from "./eleventy.ts";

export const EMOJI = (code: string) => path.join(process.cwd(), `node_modules/emoji-datasource-google/img/google/64/${code}.png`);

/**
 * A file outside the project (an emoji the datasets do not hold) that no test may see published, and the suite's
 * work folder: both made fresh before the suite and removed after it.
 */
export function outsideSecret(work: string): { outside: string; secret: string } {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), "ec-outside-"));
  const secret = path.join(outside, "secret.png");
  before(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.copyFileSync(EMOJI("1f697"), secret);
  });
  after(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });
  return { outside, secret };
}

export interface SmallProject {
  dir: string;
  dataset: string;
  post: string;
}

/** A maker of fresh projects under `work` (p1, p2, …). */
export function projectMaker(work: string): (shortcode: string) => SmallProject {
  let made = 0;
  return (shortcode) => {
    const dir = path.join(work, `p${++made}`);
    const dataset = path.join(dir, "dataset");
    const post = path.join(dir, "content/posts/p");
    fs.mkdirSync(dataset, { recursive: true });
    fs.mkdirSync(post, { recursive: true });
    for (const code of ["1f436", "1f431", "1f34e"]) fs.copyFileSync(EMOJI(code), path.join(dataset, `${code}.png`));
    fs.copyFileSync(EMOJI("1f415"), path.join(post, "query.png"));
    fs.writeFileSync(path.join(post, "index.md"), `---\ntemplateEngineOverride: njk,md\n---\n${shortcode}\n`);
    return { dir, dataset, post };
  };
}

/** The message chain of an Eleventy build error. */
export function chain(error: unknown): string {
  const messages: string[] = [];
  for (let e: any = error; e; e = e.cause ?? e.originalError) messages.push(e.message);
  return messages.join("\n");
}

/** Builds the project with the plugin (pixels only, 16 px tiles, its own dataset and cache); `options` override. */
export async function buildProject(
  dir: string,
  options: Record<string, unknown> = {},
): Promise<{ pages: Array<{ content: string }>; summary: BuildSummary }> {
  const rel = (p: string) => path.relative(process.cwd(), path.join(dir, p));
  const summaries: BuildSummary[] = [];
  const pages = await buildWithPlugin(path.join(dir, "content"), path.join(dir, "_site"), {
    dataset: rel("dataset"),
    cacheDir: rel(".cache"),
    tileSize: 16,
    encoders: ["pixels"],
    onBuildSummary: (s: BuildSummary) => summaries.push(s),
    ...options,
  });
  return { pages, summary: summaries[0] };
}
