// The plugin end to end through Eleventy's programmatic API: a markdown post with the
// shortcode, a small dataset of real emoji PNGs, the built-in ONNX encoders. The expected
// HTML is assembled from an independent reference (plain-TS encoders + brute-force ranking).
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeForModel, pixelsToTensor } from "../../plugins/encoder-compare/encoders/preprocess.ts";
import { BUILTIN_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import { fullImageName, montageBaseName, thumbnailBaseName } from "../../plugins/encoder-compare/render/result-images.ts";
import type { BuildSummary } from "../../plugins/encoder-compare/engine/summary.ts";
import { buildWithPlugin } from "../support/eleventy.ts";
import { referencePhash, referencePixels } from "../reference/builtin-encoders.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";

/** What the engine passes every decode: the plugin's default pixel limit. */
const DECODE = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/integration");
const EMOJI = (vendor: string, code: string) => path.join(ROOT, `node_modules/emoji-datasource-${vendor}/img/${vendor}/64/${code}.png`);

const CONCEPTS: Array<[string, string, string]> = [
  ["1f436", "dog-face", `Dog <b>face</b> & "friends"`],
  ["1f431", "cat-face", "Cat face"],
  ["1f34e", "apple", "Red apple"],
  ["1f697", "car", "Automobile"],
  ["1f438", "frog", "Frog face"],
];
const TILE = 48;

interface Entry {
  id: string;
  file: string;
  caption: string;
  sha256: string;
}

function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function writeFixture(): { entries: Entry[]; queries: string[] } {
  fs.rmSync(WORK, { recursive: true, force: true });
  const datasetDir = path.join(WORK, "dataset");
  fs.mkdirSync(path.join(datasetDir, "images"), { recursive: true });
  fs.mkdirSync(path.join(WORK, "content/posts/demo"), { recursive: true });
  const entries: Entry[] = [];
  for (const [code, name, caption] of CONCEPTS) {
    for (const vendor of ["google", "twitter"]) {
      const file = `images/${name}--${vendor}.png`;
      fs.copyFileSync(EMOJI(vendor, code), path.join(datasetDir, file));
      entries.push({ id: `${name}--${vendor}`, file, caption: `${caption} (${vendor})`, sha256: sha256(path.join(datasetDir, file)) });
    }
  }
  entries.sort((a, b) => (a.id < b.id ? -1 : 1));
  fs.writeFileSync(
    path.join(datasetDir, "manifest.json"),
    JSON.stringify({ name: "mini <set>", images: entries.map(({ id, file, caption }) => ({ id, file, caption, group: id.split("--")[0] })) }),
  );
  // Query 1 is byte-identical to a dataset image (self-exclusion); query 2 is not in the dataset.
  fs.copyFileSync(EMOJI("google", "1f436"), path.join(WORK, "content/posts/demo/doge.png"));
  fs.copyFileSync(EMOJI("google", "1f415"), path.join(WORK, "content/posts/demo/dog.png"));
  fs.writeFileSync(
    path.join(WORK, "content/posts/demo/index.md"),
    `---\ntemplateEngineOverride: njk,md\n---\n# Demo\n\n<% encoderCompare "doge.png", "dog.png", k=2 %>\n\nAfter.\n`,
  );
  return { entries, queries: ["doge.png", "dog.png"] };
}

async function referenceVector(encoderId: string, file: string): Promise<Float64Array> {
  const spec = BUILTIN_ENCODERS.find((e) => e.id === encoderId)!;
  const tensor = {
    data: pixelsToTensor(await decodeForModel(file, spec.preprocess, DECODE), spec.preprocess),
    batch: 1,
    height: spec.preprocess.cropHeight,
    width: spec.preprocess.cropWidth,
  };
  return encoderId === "pixels" ? referencePixels(tensor)[0] : referencePhash(tensor)[0].embedding;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

async function expectedTable(encoderId: string, entries: Entry[], queries: string[]): Promise<string> {
  const spec = BUILTIN_ENCODERS.find((e) => e.id === encoderId)!;
  const datasetVectors = await Promise.all(entries.map((e) => referenceVector(encoderId, path.join(WORK, "dataset", e.file))));
  const lines = [
    `<table class="encoder-compare" data-encoder="${encoderId}">`,
    `<caption><span class="ec-encoder">${escape(spec.label)}</span> ` +
      `<span class="ec-scope">top 2 of ${entries.length} images in mini &lt;set&gt;, by cosine similarity</span></caption>`,
    `<colgroup><col class="ec-col-query"><col class="ec-col-results"></colgroup>`,
    `<thead><tr><th scope="col">Query image</th><th scope="col">Top 2 results</th></tr></thead>`,
    `<tbody>`,
  ];
  for (const query of queries) {
    const queryFile = path.join(WORK, "content/posts/demo", query);
    const querySha = sha256(queryFile);
    const q = await referenceVector(encoderId, queryFile);
    const ranked = entries
      .map((e, i) => ({ e, i, score: dot(q, datasetVectors[i]) }))
      .filter(({ e }) => e.sha256 !== querySha)
      .sort((a, b) => b.score - a.score || a.i - b.i)
      .slice(0, 2);
    // A query that is a dataset image takes its caption as alt text and its group as what counts as a match.
    const member = entries.find((e) => e.sha256 === querySha);
    const queryAlt = member ? member.caption : query[0].toUpperCase() + query.slice(1, query.lastIndexOf("."));
    const group = member?.id.split("--")[0];
    const thumb = thumbnailBaseName(querySha, TILE);
    const montage = montageBaseName(ranked.map((r) => r.e.sha256), TILE);
    const alt = `Top 2 results for ${queryAlt} by ${spec.label}, side by side in the order of the list below`;
    const full = (sha: string, file: string) => `/encoder-compare/${fullImageName(sha, file, "png")}`;
    const tileShare = ((100 * TILE) / (2 * TILE + 8)).toFixed(3);
    const tileLinks = ranked.map(
      (r, i) => `<a href="${full(r.e.sha256, r.e.file)}" tabindex="-1" title="${i + 1}. ${escape(r.e.caption)} (cosine ${r.score.toFixed(3)})"></a>`,
    );
    lines.push(
      `<tr>`,
      `<td class="ec-query"><a href="${full(querySha, query)}"><img class="ec-query-image" src="/encoder-compare/${thumb}.webp" ` +
        `srcset="/encoder-compare/${thumb}.webp 1x, /encoder-compare/${thumb}@2x.webp 2x" width="${TILE}" height="${TILE}" ` +
        `alt="${escape(queryAlt)}" loading="lazy" decoding="async"></a></td>`,
      `<td class="ec-results">`,
      `<div class="ec-montage">`,
      `<img class="ec-montage-image" src="/encoder-compare/${montage}.webp" ` +
        `srcset="/encoder-compare/${montage}.webp 1x, /encoder-compare/${montage}@2x.webp 2x" width="${2 * TILE + 8}" height="${TILE}" ` +
        `alt="${escape(alt)}" loading="lazy" decoding="async">` +
        `<div class="ec-tiles" style="--ec-tile-share:${tileShare}%" aria-hidden="true">${tileLinks.join("")}</div>`,
      `</div>`,
      `<ol class="ec-hits">`,
      ...ranked.map((r) => {
        const match = r.e.id.startsWith(`${group}--`);
        const mark =
          group === undefined
            ? ""
            : match
              ? `<span class="ec-mark" aria-hidden="true">✓</span><span class="ec-sr">match: </span>`
              : `<span class="ec-mark" aria-hidden="true">✗</span><span class="ec-sr">not a match: </span>`;
        const cls = group === undefined ? "" : match ? ` class="ec-match"` : ` class="ec-miss"`;
        return (
          `<li${cls}>${mark}<a class="ec-caption" href="${full(r.e.sha256, r.e.file)}">${escape(r.e.caption)}</a> ` +
          `<span class="ec-score">cosine <data value="${r.score.toFixed(3)}">${r.score.toFixed(3)}</data></span></li>`
        );
      }),
      `</ol>`,
    );
    if (group !== undefined) lines.push(`<p class="ec-tally">${ranked.filter((r) => r.e.id.startsWith(`${group}--`)).length} of 2 results are ${group}</p>`);
    if (entries.some((e) => e.sha256 === querySha))
      lines.push(`<p class="ec-self">The query image is itself in the dataset; it is left out of its own results.</p>`);
    lines.push(`</td>`, `</tr>`);
  }
  lines.push(`</tbody>`, `</table>`);
  return lines.join("\n");
}

async function build(summaries: BuildSummary[], content = "content"): Promise<Array<{ url: string; content: string }>> {
  const rel = (p: string) => path.relative(ROOT, path.join(WORK, p));
  return buildWithPlugin(path.join(WORK, content), path.join(WORK, "_site"), {
    dataset: rel("dataset"),
    cacheDir: rel(".cache"),
    tileSize: TILE,
    onBuildSummary: (s: BuildSummary) => summaries.push(s),
  });
}

describe("encoderCompare through Eleventy", () => {
  let fixture: ReturnType<typeof writeFixture>;
  before(() => {
    fixture = writeFixture();
  });
  after(() => fs.rmSync(WORK, { recursive: true, force: true }));

  test("renders one table per encoder, rows = queries, exactly as the reference ranks them", async () => {
    const summaries: BuildSummary[] = [];
    const [page] = await build(summaries);
    const tables = [await expectedTable("pixels", fixture.entries, fixture.queries), await expectedTable("phash", fixture.entries, fixture.queries)];
    assert.equal(page.content, `<h1>Demo</h1>\n${tables.join("\n")}\n<p>After.</p>\n`);

    // Every image the HTML points at exists.
    for (const [, src] of page.content.matchAll(/(?:src|srcset)="([^"]+)"/g)) {
      for (const url of src.split(", ").map((s) => s.split(" ")[0])) {
        assert.ok(fs.existsSync(path.join(WORK, "_site", url)), `${url} missing`);
      }
    }
    // Every result link opens a byte-for-byte copy of the original image.
    const sources = new Map(fixture.entries.map((e) => [fullImageName(e.sha256, e.file, "png"), path.join(WORK, "dataset", e.file)]));
    for (const q of fixture.queries) {
      const file = path.join(WORK, "content/posts/demo", q);
      sources.set(fullImageName(sha256(file), file, "png"), file);
    }
    const hrefs = [...page.content.matchAll(/href="\/encoder-compare\/([^"]+)"/g)].map((m) => m[1]);
    assert.ok(hrefs.length > 0);
    for (const name of hrefs) {
      assert.ok(sources.has(name), `${name} is not the full image of a dataset or query file`);
      assert.ok(fs.readFileSync(path.join(WORK, "_site/encoder-compare", name)).equals(fs.readFileSync(sources.get(name)!)), `${name} differs from its source`);
    }
    const [summary] = summaries;
    assert.deepEqual(
      summary.encoders.map((e) => [e.id, e.embedded, e.cached]),
      [
        ["pixels", 11, 1],
        ["phash", 11, 1],
      ],
    );
    assert.equal(summary.queries, 2);
  });

  test("a second build with unchanged inputs embeds nothing and gives identical HTML", async () => {
    const first: BuildSummary[] = [];
    const [a] = await build(first);
    const second: BuildSummary[] = [];
    const [b] = await build(second);
    assert.equal(b.content, a.content);
    for (const e of second[0].encoders) assert.equal(e.embedded, 0, `${e.id} embedded images on a warm build`);
    assert.equal(second[0].imagesWritten, 0);
  });

  test("bad shortcode input fails the build naming the post and the path", async () => {
    const cases: Array<[string, RegExp]> = [
      [`<% encoderCompare "missing.png" %>`, /content\/posts\/demo\/index\.md: encoderCompare "missing.png": file not found/],
      [`<% encoderCompare "${"../".repeat(12)}etc/passwd" %>`, /index\.md: encoderCompare "(\.\.\/){12}etc\/passwd": the path leads outside the project/],
      [`<% encoderCompare "/etc/passwd" %>`, /absolute paths are refused/],
      [`<% encoderCompare "doge.png", encoders=["clip"] %>`, /unknown encoder "clip"; known encoders: pixels, phash/],
      [`<% encoderCompare "doge.png", k=0 %>`, /k must be a whole number from 1 to 50, got 0/],
      [`<% encoderCompare "doge.png", colour="red" %>`, /unknown keyword "colour"/],
    ];
    for (const [i, [shortcode, message]] of cases.entries()) {
      // A fresh folder per case: Eleventy caches template files by path within one process.
      const content = `bad-${i}/content`;
      const postDir = path.join(WORK, content, "posts/demo");
      fs.mkdirSync(postDir, { recursive: true });
      fs.copyFileSync(path.join(WORK, "content/posts/demo/doge.png"), path.join(postDir, "doge.png"));
      fs.writeFileSync(path.join(postDir, "index.md"), `---\ntemplateEngineOverride: njk,md\n---\n${shortcode}\n`);
      await assert.rejects(build([], content), (error: Error) => {
        const chain: string[] = [];
        for (let e: any = error; e; e = e.cause ?? e.originalError) chain.push(e.message);
        assert.match(chain.join("\n"), message);
        return true;
      });
    }
  });
});
