// A generated Eleventy site for build benchmarks: N posts, each with one encoderCompare
// shortcode and its own query image, over a dataset of synthetic images.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BENCH_CACHE, ensureDir, ROOT } from "./common.ts";
import { ensureImageSet, picture, writePicture } from "./images.ts";

export const SITE_CONFIG = path.join(ROOT, "bench/fixtures/site.config.ts");
const ELEVENTY_CMD = path.join(ROOT, "node_modules/@11ty/eleventy/cmd.cjs");
export const DATASET_IMAGE = { width: 64, height: 64, format: "png" as const };

export interface Site {
  dir: string;
  datasetDir: string;
  posts: number;
  images: number;
}

export function postFile(site: Site, i: number): string {
  return path.join(site.dir, "content/posts", `post-${String(i).padStart(4, "0")}`, "index.md");
}

export function postText(i: number, extra = ""): string {
  return `---\ntitle: Post ${i}\n---\n# Post ${i}\n\nA paragraph of text for post ${i}.${extra}\n\n<% encoderCompare "query.png", k=3 %>\n`;
}

/** Creates (once) the site folder with `posts` posts over an `images`-image dataset. */
export async function ensureSite(name: string, posts: number, images: number): Promise<Site> {
  const dir = path.join(BENCH_CACHE, name);
  const site: Site = { dir, datasetDir: path.join(dir, "dataset"), posts, images };
  await ensureImageSet(site.datasetDir, { count: images, ...DATASET_IMAGE, seed: 1 });
  const marker = path.join(dir, `.posts-${posts}`);
  if (!fs.existsSync(marker)) {
    fs.rmSync(path.join(dir, "content"), { recursive: true, force: true });
    for (let i = 0; i < posts; i++) {
      const file = postFile(site, i);
      ensureDir(path.dirname(file));
      fs.writeFileSync(file, postText(i));
      await writePicture(path.join(path.dirname(file), "query.png"), picture(i, DATASET_IMAGE.width, DATASET_IMAGE.height, 99), DATASET_IMAGE);
    }
    fs.writeFileSync(marker, "");
  }
  return site;
}

export interface BuildRun {
  ms: number;
  summaries: any[];
  output: string;
}

/** One `eleventy` build of the site in a fresh process (what `npm run build` does). */
export function buildInChild(site: Site, mode: "on" | "stub", env: NodeJS.ProcessEnv = {}): BuildRun {
  const summaryFile = path.join(site.dir, `.summary-${process.pid}.jsonl`);
  fs.rmSync(summaryFile, { force: true });
  const started = performance.now();
  const child = spawnSync(process.execPath, ["--import", "tsx", ELEVENTY_CMD, `--config=${SITE_CONFIG}`, "--quiet"], {
    cwd: site.dir,
    env: { ...process.env, ...env, BENCH_PLUGIN: mode, BENCH_SUMMARY_FILE: summaryFile },
    encoding: "utf8",
  });
  const ms = performance.now() - started;
  const output = `${child.stdout}${child.stderr}`;
  if (child.status !== 0) throw new Error(`eleventy build (${mode}) failed:\n${output}`);
  const summaries = fs.existsSync(summaryFile) ? fs.readFileSync(summaryFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
  fs.rmSync(summaryFile, { force: true });
  return { ms, summaries, output };
}

/**
 * The shortcode HTML of one post of the last plugin build, saved for the stub (so the stub
 * build renders as much HTML as the plugin build); returns the file.
 */
export function saveStubHtml(site: Site): string {
  const page = fs.readFileSync(path.join(site.dir, "_site/posts/post-0000/index.html"), "utf8");
  const start = page.indexOf("<table");
  const end = page.lastIndexOf("</table>");
  if (start < 0 || end < 0) throw new Error("no encoder-compare table in the built post");
  const file = path.join(site.dir, ".stub.html");
  fs.writeFileSync(file, page.slice(start, end + "</table>".length));
  return file;
}

export { spawn, ELEVENTY_CMD };
