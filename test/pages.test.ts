// Issue 11: the display strings of an encoder run (what ran leads, what it stands in for
// follows), relevance marks, layout="versus", the scoreboard and the disagreement rows, through
// the pure renderers and through Eleventy with exact HTML.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { main } from "../plugins/encoder-compare/cli/main.ts";
import { encodersInSource } from "../plugins/encoder-compare/eleventy/page-stand-ins.ts";
import { humanFileName } from "../plugins/encoder-compare/render/alt-text.ts";
import { renderDisagreements } from "../plugins/encoder-compare/render/disagreements.ts";
import { describeRun, mergeRuns, plainReason, standInNotice } from "../plugins/encoder-compare/render/encoder-run.ts";
import type { ModelUnavailableKind } from "../plugins/encoder-compare/models/model-file.ts";
import { tallySentence } from "../plugins/encoder-compare/render/relevance.ts";
import { withArticle } from "../scripts/make-demo-dataset.ts";
import { buildWithPlugin } from "./support/eleventy.ts";
import { joinRegExp } from "./support/regexp.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/pages");
const EMOJI = (vendor: string, code: string) => path.join(ROOT, `node_modules/emoji-datasource-${vendor}/img/${vendor}/64/${code}.png`);
const clip = { id: "clip-vit-b32", label: "CLIP ViT-B/32", kind: "unreachable" as const, reason: "cannot reach huggingface.co (ENOTFOUND)" };
const pixels = { id: "pixels", label: "pixels (16×16 thumbnail)" };

describe("display strings of an encoder run", () => {
  test("a stand-in: what ran leads, the mark follows, the reason in words, the detail in the title", () => {
    const d = describeRun({ ran: pixels, standingInFor: [clip] });
    assert.equal(d.name, "pixels (16×16 thumbnail), stand-in for CLIP ViT-B/32");
    assert.equal(d.shortName, "pixels (stand-in for clip-vit-b32)");
    assert.equal(d.reason, "the model hub could not be reached");
    assert.equal(
      d.html,
      `<span class="ec-encoder">pixels (16×16 thumbnail)</span> ` +
        `<span class="ec-standin" title="the model hub could not be reached (CLIP ViT-B/32: cannot reach huggingface.co (ENOTFOUND))">` +
        `stand-in for CLIP ViT-B/32</span>`,
    );
    assert.deepEqual(describeRun({ ran: pixels, standingInFor: [] }), {
      id: "pixels",
      label: pixels.label,
      mark: "",
      name: pixels.label,
      shortName: "pixels",
      reason: "",
      detail: "",
      html: `<span class="ec-encoder">pixels (16×16 thumbnail)</span>`,
    });
  });

  test("a stand-in that duplicates a listed encoder becomes one entry saying both", () => {
    const runs = mergeRuns([
      { requestedId: "clip-vit-b32", ran: pixels, standingInFor: clip },
      { requestedId: "phash", ran: { id: "phash", label: "phash" } },
      { requestedId: "pixels", ran: pixels },
    ]);
    assert.deepEqual(runs.map((r) => [r.ran.id, r.requestedIds, describeRun(r).shortName]), [
      ["pixels", ["clip-vit-b32", "pixels"], "pixels (also standing in for clip-vit-b32)"],
      ["phash", ["phash"], "phash"],
    ]);
  });

  test("reasons from the model loader in plain words", () => {
    const cases: Array<[ModelUnavailableKind, string]> = [
      ["offline-not-cached", "the build ran offline and the model was not in the cache"],
      ["offline-cache-unusable", "the build ran offline and the cached model file could not be used"],
      ["unreachable", "the model hub could not be reached"],
      ["http-status", "the model hub did not serve the file"],
      ["checksum-mismatch", "the downloaded model did not match its pinned checksum"],
      ["cache-unwritable", "the model cache could not be written"],
      ["connection-lost", "the model could not be downloaded"],
    ];
    for (const [technical, plain] of cases) assert.equal(plainReason(technical), plain, technical);
  });

  test("the page notice names every replaced model once", () => {
    const bit = { id: "bit-m-r50x1", label: "BiT-M R50x1", kind: "unreachable" as const, reason: "cannot reach huggingface.co (ECONNREFUSED)" };
    const notice = standInNotice([clip, bit]);
    assert.equal(
      notice?.text,
      "Built with stand-ins for CLIP ViT-B/32 and BiT-M R50x1: the model hub could not be reached, so their tables show simple built-in encoders instead.",
    );
    assert.equal(standInNotice([]), undefined);
  });

  test("page data finds the encoders a page's shortcodes ask for", () => {
    const source = `<% encoderCompare "a.png", encoders=["clip-vit-b32"] %>\n<% encoderEval k=3 %>\n<% encoderScoreboard "a.png", encoders="phash,nope" %>`;
    assert.deepEqual(encodersInSource(source, ["bit-m-r50x1"], ["clip-vit-b32", "bit-m-r50x1", "phash"]), ["clip-vit-b32", "bit-m-r50x1", "phash"]);
    assert.deepEqual(encodersInSource("no shortcodes", ["pixels"], ["pixels"]), []);
  });

  test("alt text, tallies and captions read as English", () => {
    assert.equal(humanFileName("inputs/buff-doge.png"), "Buff doge");
    assert.equal(humanFileName("IMG_0042.final.jpeg"), "IMG 0042 final");
    assert.equal(tallySentence([{ group: "dog" }, { group: "cat" }, {}], { groups: ["dog"] }), "1 of 3 results are dog");
    assert.equal(tallySentence([{ group: "dog" }], { groups: ["dog", "cat"] }), "1 of 1 result is dog or cat");
    assert.deepEqual(["orange", "teal", "apple", "blue"].map(withArticle), ["an orange", "a teal", "an apple", "a blue"]);
  });
});

describe("renderDisagreements", () => {
  test("scores, links, a styled group label, marks and tallies; the stand-in leads its column", () => {
    const image = { name: "t.webp", name2x: "t@2x.webp", width: 8, height: 8 };
    const html = renderDisagreements({
      pair: [
        { requestedId: "clip-vit-b32", ran: pixels, standingInFor: [clip] },
        { requestedId: "phash", ran: { id: "phash", label: "phash" }, standingInFor: [] },
      ],
      datasetName: "set",
      shown: 1,
      urlBase: "/ec/",
      rows: [
        {
          queryId: "cheese--twitter",
          queryCaption: "Cheese <b>",
          group: "cheese",
          queryImage: image,
          queryFullImage: "q.png",
          columns: [
            { encoderId: "clip-vit-b32", firstRelevantRank: 434, results: [{ rank: 1, score: 0.5, caption: "Fire", fullImage: "f.png", group: "fire" }] },
            { encoderId: "phash", firstRelevantRank: 1, results: [{ rank: 1, score: -0.25, caption: "Cheese", fullImage: "c.png", group: "cheese" }] },
          ],
        },
      ],
    });
    const start = html.indexOf("<tr data-query");
    const row = html.slice(start, html.indexOf("</tr>", start) + 5);
    assert.equal(
      row,
      [
        `<tr data-query="cheese--twitter">`,
        `<td class="ec-query"><a href="/ec/q.png"><img class="ec-query-image" src="/ec/t.webp" srcset="/ec/t.webp 1x, /ec/t@2x.webp 2x" ` +
          `width="8" height="8" alt="Cheese &lt;b&gt;" loading="lazy" decoding="async"></a>` +
          `<p><span class="ec-caption">Cheese &lt;b&gt;</span> ` +
          `<span class="ec-group"><span class="ec-group-word">group</span> <span class="ec-group-name">cheese</span></span></p></td>`,
        `<td class="ec-results">`,
        `<p class="ec-first-relevant">First cheese result under pixels (16×16 thumbnail): #434</p>`,
        `<ol class="ec-hits">`,
        `<li class="ec-miss"><span class="ec-mark" aria-hidden="true">✗</span><span class="ec-sr">not a match: </span>` +
          `<a class="ec-caption" href="/ec/f.png">Fire</a> <span class="ec-score">cosine <data value="0.500">0.500</data></span></li>`,
        `</ol>`,
        `<p class="ec-tally">0 of 1 result is cheese</p>`,
        `</td>`,
        `<td class="ec-results">`,
        `<p class="ec-first-relevant">First cheese result under phash: #1</p>`,
        `<ol class="ec-hits">`,
        `<li class="ec-match"><span class="ec-mark" aria-hidden="true">✓</span><span class="ec-sr">match: </span>` +
          `<a class="ec-caption" href="/ec/c.png">Cheese</a> <span class="ec-score">cosine <data value="-0.250">-0.250</data></span></li>`,
        `</ol>`,
        `<p class="ec-tally">1 of 1 result is cheese</p>`,
        `</td>`,
        `</tr>`,
      ].join("\n"),
    );
    assert.match(
      html,
      joinRegExp(
        /<thead><tr><th scope="col">Query<\/th><th scope="col">/,
        /<span class="ec-encoder">pixels \(16×16 thumbnail\)<\/span> <span class="ec-standin" [^>]*>stand-in for CLIP ViT-B\/32<\/span><\/th>/,
      ),
    );
  });
});

describe("relevance marks, layout=\"versus\" and the scoreboard through Eleventy", () => {
  const dataset = path.join(WORK, "dataset");
  let builds = 0;
  // A fresh content folder per build: Eleventy caches templates by path within a process.
  const build = async (body: string, extra: Record<string, unknown> = {}) => {
    const content = path.join(WORK, `content-${++builds}`);
    fs.mkdirSync(path.join(content, "p"), { recursive: true });
    fs.copyFileSync(EMOJI("google", "1f436"), path.join(content, "p/doge.png"));
    fs.copyFileSync(EMOJI("google", "1f415"), path.join(content, "p/dog.png"));
    fs.writeFileSync(path.join(content, "p/index.md"), `---\ntemplateEngineOverride: njk,md\n---\n${body}\n`);
    const rel = (p: string) => path.relative(ROOT, p);
    const pages = await buildWithPlugin(content, path.join(WORK, `_site-${builds}`), {
      dataset: rel(dataset),
      cacheDir: rel(path.join(WORK, "cache")),
      encoders: ["pixels", "phash"],
      k: 2,
      ...extra,
    });
    return pages.find((p) => p.url === "/p/")!.content;
  };

  before(() => {
    fs.rmSync(WORK, { recursive: true, force: true });
    fs.mkdirSync(path.join(dataset, "images"), { recursive: true });
    const images = [];
    for (const [code, group] of [["1f436", "dog-face"], ["1f431", "cat-face"], ["1f525", "fire"]]) {
      for (const vendor of ["google", "twitter"]) {
        const file = `images/${group}--${vendor}.png`;
        fs.copyFileSync(EMOJI(vendor, code), path.join(dataset, file));
        images.push({ id: `${group}--${vendor}`, file, caption: `${group} (${vendor})`, group });
      }
    }
    // The query doge.png (below) is a dataset image, so its group is known; dog.png is not.
    fs.writeFileSync(path.join(dataset, "manifest.json"), JSON.stringify({ name: "mini", images }));
  });
  after(() => fs.rmSync(WORK, { recursive: true, force: true }));

  test("a member query is judged by its own group, with the tally; alt text is its caption", async () => {
    const html = await build(`<% encoderCompare "doge.png", "dog.png", encoders=["pixels"] %>`);
    assert.match(html, /alt="dog-face \(google\)"/);
    assert.match(html, /alt="Dog"/);
    const tallies = [...html.matchAll(/<p class="ec-tally">(.*?)<\/p>/g)].map((m) => m[1]);
    assert.deepEqual(tallies, ["1 of 2 results are dog-face"], "no marks for a query whose group is unknown");
  });

  test("layout=\"versus\": one table per query, one column per encoder, marks and a tally per column", async () => {
    const html = await build(`<% encoderCompare "dog.png", layout="versus", expect="dog-face" %>`);
    assert.equal((html.match(/<table class="encoder-compare-versus"/g) ?? []).length, 1);
    assert.equal((html.match(/<table class="encoder-compare"/g) ?? []).length, 0);
    assert.match(
      html,
      joinRegExp(
        /<thead><tr><th scope="col" class="ec-rank">Rank<\/th>/,
        /<th scope="col"><span class="ec-encoder">pixels \(16×16 thumbnail\)<\/span><\/th>/,
        /<th scope="col"><span class="ec-encoder">phash \(64-bit DCT hash\)<\/span><\/th><\/tr><\/thead>/,
      ),
    );
    assert.equal((html.match(/<tr><th scope="row" class="ec-rank">\d<\/th>/g) ?? []).length, 2);
    assert.match(
      html,
      joinRegExp(
        /<tfoot><tr><th scope="row" class="ec-rank">Total<\/th>/,
        /<td><p class="ec-tally">\d of 2 results are dog-face<\/p><\/td><td><p class="ec-tally">\d of 2 results are dog-face<\/p><\/td><\/tr><\/tfoot>/,
      ),
    );
  });

  test("the scoreboard: per encoder and query, matches in the top k and the first match's rank", async () => {
    const html = await build(`<% encoderScoreboard "doge.png", "dog.png", expect=["dog-face"] %>`);
    const cells = [
      ...html.matchAll(
        joinRegExp(
          /<td data-matches="(\d)"><strong>(\d) of 2<\/strong> <span class="ec-sr">([^<]*)<\/span>/,
          /<span class="ec-scope">are dog-face; first match at #(\d+)<\/span><\/td>/g,
        ),
      ),
    ];
    assert.equal(cells.length, 4, html);
    for (const [, matches, shown, , first] of cells) {
      assert.equal(matches, shown);
      assert.equal(Number(first) <= 2, Number(matches) > 0, "a match in the top 2 exactly when the first match ranks within it");
    }
    assert.deepEqual([...html.matchAll(/<tr data-encoder="([^"]+)">/g)].map((m) => m[1]), ["pixels", "phash"]);
  });

  test("a stand-in that duplicates a listed encoder shares its table, which says both", async () => {
    const offline = { offline: true, modelsDir: path.relative(ROOT, path.join(WORK, "no-models")) };
    const html = await build(`<% encoderCompare "dog.png", encoders=["clip-vit-b32", "pixels", "phash"] %>`, offline);
    assert.deepEqual(
      [...html.matchAll(/<table class="encoder-compare" data-encoder="([^"]+)"( data-ran="[^"]+")?>/g)].map((m) => m[1]),
      ["clip-vit-b32,pixels", "phash"],
    );
    assert.match(
      html,
      joinRegExp(
        /<caption><span class="ec-encoder">pixels \(16×16 thumbnail\)<\/span> /,
        /<span class="ec-standin" title="[^"]*">also standing in for CLIP ViT-B\/32<\/span> /,
        /<span class="ec-reason">\(the build ran offline and the model was not in the cache\)<\/span> /,
      ),
    );
  });

  test("query --json and the text output: the encoder that ran is the key, standingInFor beside it", async () => {
    const query = path.join(WORK, "content-1/p/dog.png");
    const run = async (...extra: string[]) => {
      let out = "";
      const args = [
        "query",
        path.relative(ROOT, query),
        "--dataset",
        path.relative(ROOT, dataset),
        "--encoders",
        "clip-vit-b32,phash",
        "--k",
        "1",
        "--cache-dir",
        path.relative(ROOT, path.join(WORK, "cache")),
        ...extra,
      ];
      const code = await main(
        args,
        { write: (c: string) => (out += c) },
        { write: () => true },
        { ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(WORK, "no-models") },
      );
      assert.equal(code, 0);
      return out;
    };
    const [{ results }] = JSON.parse(await run("--json"));
    assert.deepEqual(
      results.map((r: any) => [r.encoderId, r.standingInFor]),
      [
        [
          "pixels",
          {
            encoderId: "clip-vit-b32",
            label: "CLIP ViT-B/32",
            reason: "the build ran offline and the model was not in the cache",
            detail: "offline and not in the cache",
          },
        ],
        ["phash", undefined],
      ],
    );
    assert.match(await run(), /\n {4}pixels \(stand-in for clip-vit-b32\) +phash \(64-bit DCT hash\) *\n/);
  });

  test("expect= naming a group the dataset lacks, and a scoreboard with no known group, fail naming the fix", async () => {
    // Eleventy wraps the plugin's error; the message is in the cause chain.
    const chain = (error: unknown) => {
      const messages: string[] = [];
      for (let e: any = error; e; e = e.cause ?? e.originalError) messages.push(e.message ?? "");
      return messages.join("\n");
    };
    await assert.rejects(build(`<% encoderCompare "dog.png", expect="dogs" %>`), (error) => {
      assert.match(
        chain(error),
        /p\/index\.md: encoderCompare: expect="dogs": dataset mini has no group "dogs"; its groups look like "cat-face", "dog-face", "fire"/,
      );
      return true;
    });
    await assert.rejects(build(`<% encoderScoreboard "dog.png" %>`), (error) => {
      assert.match(chain(error), /encoderScoreboard: "dog.png" is not a dataset image with a group, so nothing counts as a match; add expect="<group>"/);
      return true;
    });
  });
});
