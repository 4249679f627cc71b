// Both shortcodes fail the same way: a build stops with one line that names the post and the shortcode; while
// previewing (`npm start`), the page shows that line in an error box and the other shortcodes still render.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { buildWithPlugin } from "../support/eleventy.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/shortcode-failures");
const EMOJI = (code: string) => path.join(ROOT, `node_modules/emoji-datasource-google/img/google/64/${code}.png`);

function site(name: string, post: string): string {
  const dir = path.join(WORK, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "content"), { recursive: true });
  fs.mkdirSync(path.join(dir, "dataset"), { recursive: true });
  for (const code of ["1f436", "1f431", "1f98a"]) fs.copyFileSync(EMOJI(code), path.join(dir, "dataset", `${code}.png`));
  fs.copyFileSync(EMOJI("1f436"), path.join(dir, "content", "q.png"));
  fs.writeFileSync(path.join(dir, "content", "post.md"), `---\ntemplateEngineOverride: njk,md\n---\n${post}`);
  return dir;
}

function build(dir: string, runMode: "build" | "serve") {
  const rel = (p: string) => path.relative(ROOT, path.join(dir, p));
  const options = { dataset: rel("dataset"), cacheDir: rel(".cache"), tileSize: 16, encoders: ["pixels"] };
  return buildWithPlugin(path.join(dir, "content"), path.join(dir, "_site"), options, { runMode });
}

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

/** Our line in the error Eleventy rejects with (its own wrappers lead the chain). */
function ourLine(error: unknown): string {
  const chain: string[] = [];
  for (let e: any = error; e; e = e.cause ?? e.originalError) chain.push(String(e.message));
  const ours = chain.find((m) => m.startsWith("[encoder-compare] "));
  assert.ok(ours, `no [encoder-compare] line in ${JSON.stringify(chain)}`);
  return ours.slice("[encoder-compare] ".length);
}

const CASES = [
  { name: "a query image that is not there", line: '<% encoderCompare "missing.png", k=2 %>', lead: 'encoderCompare "missing.png": file not found' },
  { name: "an unknown keyword of encoderScoreboard", line: '<% encoderScoreboard "q.png", colour="red" %>', lead: "encoderScoreboard: " },
  { name: "a dataset encoderEval cannot find", line: '<% encoderEval dataset="no-such-folder" %>', lead: "encoderEval: " },
];

describe("shortcode failures: one policy for every shortcode", () => {
  for (const [i, c] of CASES.entries()) {
    test(`${c.name}: a build fails with one line naming the post; a preview shows that line in a box and renders the rest`, async () => {
      const post = `${c.line}\n\n<% encoderCompare "q.png", k=2 %>\n`;
      const built = site(`build-${i}`, post);
      let line = "";
      await assert.rejects(build(built, "build"), (error: unknown) => {
        line = ourLine(error);
        return true;
      });
      const postPath = `./${path.relative(ROOT, path.join(built, "content", "post.md"))}`;
      assert.ok(line.startsWith(`${postPath}: ${c.lead}`), line);
      assert.ok(!line.includes("\n"), line);

      const served = site(`serve-${i}`, post);
      const pages = await build(served, "serve");
      const content = pages.find((p) => p.inputPath.endsWith("post.md"))!.content;
      const boxes = [...content.matchAll(/<div class="ec-error" role="alert">.*?<\/div>/g)].map((m) => m[0]);
      const sameLine = line.replaceAll(`/build-${i}/`, `/serve-${i}/`);
      assert.deepEqual(boxes, [`<div class="ec-error" role="alert"><strong>Shortcode failed:</strong> ${escapeHtml(sameLine)}</div>`]);
      assert.match(content, /<table class="encoder-compare"/);
    });
  }
});
