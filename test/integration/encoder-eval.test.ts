// Evaluations through the CLI (`encoder-compare eval`) and through Eleventy (encoderEval, rankOf): the same
// table on every surface, stand-ins named, unchanged rebuilds that rank nothing.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import type { CompareEngine } from "../../plugins/encoder-compare/engine/compare-engine.ts";
import { evaluateEncoders } from "../../plugins/encoder-compare/eval/evaluate.ts";
import type { BuildSummary } from "../../plugins/encoder-compare/engine/summary.ts";
import { buildWithPlugin } from "../support/eleventy.ts";
import { testEngine } from "../support/engine.ts";
import { joinRegExp } from "../support/regexp.ts";
import { writeEvalDataset } from "../support/eval-dataset.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/eval");
const DATA = path.join(WORK, "dataset");
const EMOJI = (vendor: string, code: string) => path.join(ROOT, `node_modules/emoji-datasource-${vendor}/img/${vendor}/64/${code}.png`);

const writeDataset = () => writeEvalDataset(WORK, DATA);

function engine(): CompareEngine {
  return testEngine(WORK, { batchSize: 8, modelsDir: path.join(WORK, "no-models") });
}

before(writeDataset);

after(() => fs.rmSync(WORK, { recursive: true, force: true }));

describe("encoder-compare eval", () => {
  const run = async (args: string[]) => {
    let out = "";
    let err = "";
    const code = await main(
      ["eval", "--dataset", path.relative(ROOT, DATA), "--cache-dir", path.relative(ROOT, path.join(WORK, "cache")), ...args],
      { write: (c: string) => (out += c) },
      { write: (c: string) => (err += c) },
      {
        ENCODER_COMPARE_OFFLINE: "1",
        ENCODER_COMPARE_MODELS_DIR: path.join(WORK, "no-models"),
      },
    );
    return { code, out, err };
  };

  test("prints the same table twice, marks the best values, and names stand-ins", async () => {
    const first = await run(["--encoders", "pixels,phash,clip-vit-b32", "--k", "3"]);
    assert.equal(first.code, 0, first.err);
    const second = await run(["--encoders", "pixels,phash,clip-vit-b32", "--k", "3"]);
    assert.equal(second.out, first.out);
    assert.match(first.out, /^Retrieval quality on dataset\n15 queries from 17 images in dataset/);
    assert.match(first.out, /\nencoder +P@3 +R@3 +mAP +hit@1 +MRR\n/);
    // pixels ran for clip-vit-b32 too: one row says both, what ran first.
    assert.match(first.out, /\npixels \(also standing in for clip-vit-b32\) +\d\.\d{3}/);
    assert.doesNotMatch(first.out, /\nclip-vit-b32/);
    assert.match(first.out, /\* best value of the metric/);
    assert.match(
      first.out,
      joinRegExp(
        /pixels \(16×16 thumbnail\) ran in place of CLIP ViT-B\/32 \(clip-vit-b32\) because the build ran offline /,
        /and the model was not in the cache: the figures in its row are those of pixels, not of CLIP ViT-B\/32\.\n/,
        /\(technical detail: clip-vit-b32: offline and not in the cache\)/,
      ),
    );
    // Per metric a significant best (*) or the values tied at the top (=), plus the legend.
    assert.equal((first.out.match(/\d[*=]/g) ?? []).length >= 5, true, "at least one best or tie mark per metric");
    assert.match(first.out, /\n\* best value of the metric: ahead of every other encoder in an exact paired sign test over the queries, p < 0\.05/);
  });

  test("--json is keyed by the encoder that ran, with standingInFor beside it", async () => {
    const report = JSON.parse((await run(["--encoders", "clip-vit-b32,phash", "--k", "3", "--json"])).out);
    const { queries, summary, ...clip } = report.encoders[0];
    assert.deepEqual(clip, {
      encoderId: "pixels",
      label: "pixels (16×16 thumbnail)",
      standingInFor: {
        encoderId: "clip-vit-b32",
        label: "CLIP ViT-B/32",
        reason: "the build ran offline and the model was not in the cache",
        detail: "offline and not in the cache",
      },
    });
    assert.ok(queries.length > 0 && summary.meanAveragePrecision > 0, "queries and figures are there");
    assert.equal(report.encoders[1].encoderId, "phash");
    assert.equal(report.encoders[1].standingInFor, undefined);
  });

  test("--json is the full report, deterministic", async () => {
    const a = await run(["--encoders", "phash", "--json"]);
    const b = await run(["--encoders", "phash", "--json"]);
    assert.equal(a.out, b.out);
    const report = JSON.parse(a.out);
    assert.equal(report.k, 10);
    assert.equal(report.encoders[0].encoderId, "phash");
    assert.equal(report.encoders[0].queries.length, 15);
  });

  test("usage errors", async () => {
    assert.equal((await run(["--encoders", "nope"])).code, 2);
    assert.equal((await run(["--k", "0"])).code, 2);
    assert.equal((await run(["stray"])).code, 2);
  });
});

describe("encoderEval and rankOf through Eleventy", () => {
  let counter = 0;
  async function build(markdown: string, pluginOptions: Record<string, unknown> = {}): Promise<string> {
    const content = path.join(WORK, `site-${++counter}`, "content");
    fs.mkdirSync(path.join(content, "posts/p"), { recursive: true });
    fs.copyFileSync(EMOJI("google", "1f436"), path.join(content, "posts/p/doge.png"));
    fs.copyFileSync(EMOJI("twitter", "1f415"), path.join(content, "posts/p/dog.png"));
    fs.writeFileSync(path.join(content, "posts/p/index.md"), `---\ntemplateEngineOverride: njk,md\n---\n${markdown}\n`);
    const rel = (p: string) => path.relative(ROOT, p);
    const [page] = await buildWithPlugin(content, path.join(content, "../_site"), {
      dataset: rel(DATA),
      cacheDir: rel(path.join(WORK, "cache")),
      tileSize: 48,
      encoders: ["pixels", "phash"],
      ...pluginOptions,
    });
    return page.content as string;
  }

  test("renders the metric table, an accessible SVG chart and disagreement rows, with no blank lines", async () => {
    const html = await build(`# Eval\n\n<% encoderEval dataset="${path.relative(ROOT, DATA)}", k=3, disagreements=2, between=["phash", "pixels"] %>\n\nAfter.`);
    const start = html.indexOf("<table class=\"encoder-eval\"");
    const end = html.indexOf("<p>After.</p>");
    assert.ok(start > 0 && end > start, html);
    const block = html.slice(start, end);
    assert.doesNotMatch(block.trimEnd(), /\n\s*\n/, "no blank line inside the shortcode output");

    const e = engine();
    const { report } = await evaluateEncoders(e, DATA, ["pixels", "phash"], { k: 3 });
    await e.close();
    for (const enc of report.encoders) {
      const row = block.match(new RegExp(`<tr data-encoder="${enc.encoderId}">(.*?)</tr>`))![1];
      assert.ok(row.includes(`<data value="${enc.summary.meanAveragePrecision.toFixed(3)}">`), `${enc.encoderId} mAP shown`);
    }
    // A verdict in words for every metric: "best" where a paired sign test says so, "tie" where it does not.
    assert.ok((block.match(/<span class="ec-(best|tie)-mark">(best|tie)<\/span>/g) ?? []).length >= 5, "every metric has its top value marked in words");
    assert.match(block, /<svg [^>]*role="img" aria-labelledby="(ec-eval-[0-9a-f]+)-title \1-desc"/);
    assert.match(block, /<title id="ec-eval-[0-9a-f]+-title">Retrieval quality per encoder on dataset/);
    assert.match(block, /<desc id="ec-eval-[0-9a-f]+-desc">P@3 — pixels \(16×16 thumbnail\): \d\.\d{3}/);
    assert.match(block, /fill="currentColor"/);
    assert.doesNotMatch(block, /<script/);
    assert.match(
      block,
      joinRegExp(
        /<figcaption>Retrieval quality per encoder on dataset \(0 to 1, higher is better\)\. /,
        /<details class="ec-chart-values"><summary>The chart's values as text<\/summary>P@3 — pixels \(16×16 thumbnail\): /,
      ),
    );
    assert.match(block, /<table class="encoder-eval-disagreements" data-encoders="phash,pixels">/);
    assert.equal((block.match(/<tr data-query=/g) ?? []).length, 2);
    // Captions from the dataset are escaped wherever they appear.
    assert.doesNotMatch(block, /<b>google<\/b>/);
    assert.match(block, /&lt;b&gt;(google|twitter)&lt;\/b&gt;, &quot;drawn&quot;|mirrored/);
    for (const [, src] of block.matchAll(/ src="([^"]+)"/g)) {
      assert.ok(fs.existsSync(path.join(WORK, `site-${counter}`, "_site", src)), `${src} written`);
    }
  });

  test("a stand-in is named in the table, and cannot disagree with the encoder it stands for", async () => {
    const html = await build(`<% encoderEval encoders=["clip-vit-b32", "pixels"], k=3 %>`, {
      offline: true,
      modelsDir: path.relative(ROOT, path.join(WORK, "no-models")),
    });
    // One row for the model that ran, saying both; no second row with the same figures.
    const rows = [...html.matchAll(/<tr data-encoder="([^"]*)"><th scope="row">(.*?)<\/th>/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(rows, [
      [
        "clip-vit-b32,pixels",
        `<span class="ec-encoder">pixels (16×16 thumbnail)</span> <span class="ec-standin" ` +
          `title="the build ran offline and the model was not in the cache (CLIP ViT-B/32: offline and not in the cache)">` +
          `also standing in for CLIP ViT-B/32</span>`,
      ],
    ]);
    assert.match(html, /Measured as named: pixels\. pixels \(16×16 thumbnail\) ran in place of CLIP ViT-B\/32 \(clip-vit-b32\) because the build ran offline/);
    assert.match(html, /<details class="ec-detail"><summary>Technical detail<\/summary>clip-vit-b32: offline and not in the cache<\/details>/);
    assert.match(
      html,
      joinRegExp(
        /<p class="encoder-eval-disagreements-none">/,
        /Where pixels \(16×16 thumbnail\), stand-in for CLIP ViT-B\/32 and pixels \(16×16 thumbnail\) disagree most on dataset: /,
        /both ran the same model \(pixels\)/,
      ),
    );
    assert.match(html, /<text class="ec-chart-label" x="0" y="\d+">pixels \(16×16 thumbnail\)<\/text>/);
    assert.match(html, /<text class="ec-chart-mark" x="0" y="\d+" fill-opacity="0.8">also standing in for CLIP ViT-B\/32<\/text>/);
    assert.match(html, /<desc id="[^"]+">P@3 — pixels \(16×16 thumbnail\), also standing in for CLIP ViT-B\/32: \d\.\d{3}\. /);
  });

  test("rankOf says where a dataset image ranks under each encoder, consistent with the search", async () => {
    const html = await build(`<% encoderCompare "doge.png", "dog.png", k=2, rankOf="cat-face--twitter" %>`);
    const lines = [...html.matchAll(/<p class="ec-rank-of">(.*?)<\/p>/g)].map((m) => m[1]);
    assert.equal(lines.length, 4, "one line per query per encoder");
    const e = engine();
    const expected: string[] = [];
    for (const encoder of ["pixels", "phash"]) {
      for (const q of ["doge.png", "dog.png"]) {
        const file = path.join(WORK, `site-${counter}`, "content/posts/p", q);
        const all = await e.query(encoder, DATA, file, { k: 50, includeSelf: false });
        const hit = all.hits.find((h) => h.image.id === "cat-face--twitter")!;
        expected.push(`cat-face--twitter is #${hit.rank} under ${encoder}, cosine ${hit.score.toFixed(3)}`);
      }
    }
    await e.close();
    assert.deepEqual(lines, expected);

    const self = await build(`<% encoderCompare "doge.png", encoders=["pixels"], rankOf="dog-face--google" %>`);
    assert.match(self, /<p class="ec-rank-of">dog-face--google is the query image itself, left out of its own results under pixels<\/p>/);
  });

  test("an unchanged rebuild ranks nothing and starts no onnxruntime session; a changed image or group ranks again", async () => {
    const data = path.join(WORK, "memo-dataset");
    fs.cpSync(DATA, data, { recursive: true });
    const summaries: BuildSummary[] = [];
    const models = path.join(WORK, "memo-models");
    const again = (markdown = `<% encoderEval k=3, disagreements=2, between=["phash", "pixels"] %>`) =>
      build(markdown, {
        dataset: path.relative(ROOT, data),
        cacheDir: path.relative(ROOT, path.join(WORK, "memo-cache")),
        modelsDir: path.relative(ROOT, models),
        onBuildSummary: (s: BuildSummary) => summaries.push(s),
      });
    const normalize = (html: string) => html.replaceAll(/ec-eval-[0-9a-f]{10}/g, "ec-eval-ID");
    const first = await again();
    const ranks = `<% encoderCompare "doge.png", k=2, rankOf="cat-face--twitter" %>`;
    const firstRanks = await again(ranks);
    summaries.pop();
    // Nothing to embed or rank: a rebuild never starts onnxruntime, so graph files it could not load do no harm.
    const graphs = fs.readdirSync(path.join(models, "builtin")).filter((f) => f.endsWith(".onnx"));
    assert.ok(graphs.length >= 2, "the built-in graphs were written");
    for (const f of graphs) fs.writeFileSync(path.join(models, "builtin", f), fs.readFileSync(path.join(models, "builtin", f)).subarray(0, 64));
    const second = await again();
    assert.equal(await again(ranks), firstRanks);
    summaries.pop();
    fs.rmSync(models, { recursive: true, force: true });
    const queries = 15; // 5 groups of 3 images; dog (a group of one) and banana (no group) are distractors
    assert.deepEqual(summaries.map((s) => s.evaluations), [{ ranked: 2 * queries, remembered: 0 }, { ranked: 0, remembered: 2 * queries }]);
    assert.equal(normalize(second), normalize(first));
    assert.match(second, /<tr data-query=/);

    // Same name, other content (another emoji): the file is hashed again and the report is stale.
    fs.copyFileSync(EMOJI("google", "1f600"), path.join(data, "images/car--google.png"));
    await again();
    const manifest = path.join(data, "manifest.csv");
    const relabelled = fs.readFileSync(manifest, "utf8").replace("A banana,\r\n", "A banana,frog\r\n");
    assert.notEqual(relabelled, fs.readFileSync(manifest, "utf8"));
    fs.writeFileSync(manifest, relabelled);
    await again();
    await again();
    assert.deepEqual(
      summaries.slice(2).map((s) => s.evaluations?.ranked),
      [2 * queries, 2 * (queries + 1), 0],
    );
  });

  test("bad input fails the build naming the post and what is wrong", async () => {
    const cases: Array<[string, RegExp]> = [
      [`<% encoderCompare "doge.png", rankOf="nope" %>`, /index\.md: encoderCompare: rankOf: no indexed image with id "nope" in dataset dataset/],
      [`<% encoderEval "x" %>`, /index\.md: encoderEval: encoderEval takes keywords only/],
      [`<% encoderEval k=0 %>`, /encoderEval: k must be a whole number from 1 to 50, got 0/],
      [`<% encoderEval colour="red" %>`, /encoderEval: unknown keyword "colour"; known keywords: dataset, k, encoders, disagreements, between/],
      [`<% encoderEval dataset="test/.output/eval/dataset/images" %>`, /encoderEval: dataset images has no group with two or more images/],
    ];
    for (const [markdown, message] of cases) {
      await assert.rejects(build(markdown), (error: Error) => {
        const chain: string[] = [];
        for (let err: any = error; err; err = err.cause ?? err.originalError) chain.push(err.message);
        assert.match(chain.join("\n"), message);
        return true;
      });
    }
  });
});
