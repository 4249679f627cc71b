// What an embeddings dataset cannot do is refused in words: tryIt with it fails naming the post and the dataset, and
// a query --html page that cannot be written leaves no _files/ of its own behind.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { outsideSecret, projectMaker, type SmallProject } from "../support/small-project.ts";
import { buildInChild, cliRunner } from "../support/child-runs.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/embeddings-refusals");
outsideSecret(WORK);
const project = projectMaker(WORK);

const CLI_ENV = { ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(WORK, "models") };

const cliInChild = cliRunner(CLI_ENV);

/** An embeddings folder exported from the project's dataset (pixels vectors). */
function exportedEmbeddings(p: SmallProject): string {
  const folder = path.join(p.dir, "emb");
  const cache = path.relative(ROOT, path.join(p.dir, ".cache"));
  const run = cliInChild(["export", "--encoder", "pixels", "--dataset", path.relative(ROOT, p.dataset), "--cache-dir", cache, folder]);
  assert.equal(run.status, 0, run.stderr);
  return folder;
}

describe("refusals say exactly what cannot work", () => {
  test("tryIt with an embeddings dataset fails naming the post, the dataset and why, however tryIt was asked for", () => {
    const rel = (file: string) => path.relative(ROOT, file);
    const cases: Array<[string, Record<string, unknown>]> = [
      [`<% encoderCompare "query.png", k=2, tryIt=true %>`, {}],
      [`<% encoderCompare "query.png", k=2 %>`, { tryIt: true }],
      [`<% encoderCompare "query.png", k=2, dataset="big", tryIt=true %>`, {}],
    ];
    for (const [shortcode, extra] of cases) {
      const p = project(shortcode);
      const folder = exportedEmbeddings(p);
      const embeddings = { embeddings: rel(folder), encoder: "pixels", images: rel(p.dataset) };
      const options = shortcode.includes('dataset="big"') ? { datasets: { big: embeddings }, ...extra } : { dataset: embeddings, ...extra };
      const run = buildInChild(p, options);
      assert.equal(run.status, 1, `${shortcode}: ${run.stdout}${run.stderr}`);
      assert.match(run.stdout, /posts\/p\/index\.md: encoderCompare: tryIt cannot use the embeddings dataset "[^"]*(emb|big)" \(.*emb\): /, shortcode);
      assert.match(run.stdout, /publishes a vector and a thumbnail of every dataset image .* remove tryIt=true here \(or the tryIt plugin option\)/);
      assert.doesNotMatch(run.stdout, /encoderEval, rankOf and the index command/);
    }
  });

  test("query --html with an embeddings dataset writes the page; a page that cannot be written leaves no _files/ of its own behind", () => {
    const p = project("");
    const folder = exportedEmbeddings(p);
    const query = path.join(p.post, "query.png");
    const args = (html: string) => ["query", query, "--encoders", "pixels", "--dataset", folder, "--cache-dir", path.join(p.dir, ".cache"), "--html", html];
    const ok = cliInChild(args(path.join(p.dir, "page.html")));
    assert.equal(ok.status, 0, ok.stderr);
    const page = fs.readFileSync(path.join(p.dir, "page.html"), "utf8");
    assert.match(page, /<span class="ec-scope">top 3 of 3 images in emb, by cosine similarity<\/span>/);
    assert.match(page, /<span class="ec-note">\(vectors verified: 3 sampled images/);
    for (const src of page.matchAll(/src="(page_files\/[^"]+)"/g)) assert.ok(fs.existsSync(path.join(p.dir, src[1])), src[1]);
    // The page's own name is taken by a folder: nothing may be left in its _files/.
    fs.mkdirSync(path.join(p.dir, "folder.html"));
    // A _files/ folder that was there before keeps what it held, and loses what this run added.
    fs.mkdirSync(path.join(p.dir, "kept_files"));
    fs.writeFileSync(path.join(p.dir, "kept_files/mine.txt"), "mine");
    fs.mkdirSync(path.join(p.dir, "kept.html"));
    // A page below a file that is not a folder.
    fs.writeFileSync(path.join(p.dir, "plain"), "");
    const failing: Array<[string, string, string[]]> = [
      ["folder.html", "folder_files", []],
      ["kept.html", "kept_files", ["mine.txt"]],
      ["plain/page.html", "plain/page_files", []],
    ];
    for (const [html, assets, left] of failing) {
      const run = cliInChild(args(path.join(p.dir, html)));
      assert.equal(run.status, 1, `${html}: ${run.stderr}`);
      const line = run.stderr.trim().split("\n").pop()!;
      assert.match(line, new RegExp(`^encoder-compare: --html .*${html.replace(/[./]/g, "\\$&")} was not written \\(`), html);
      const remaining = fs.existsSync(path.join(p.dir, assets)) ? fs.readdirSync(path.join(p.dir, assets)) : [];
      assert.deepEqual(remaining, left, html);
    }
  });
});
