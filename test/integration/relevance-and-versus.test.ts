// Relevance marks, layout="versus" and the scoreboard through Eleventy, and the CLI's JSON and text for the same runs.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import { buildWithPlugin } from "../support/eleventy.ts";
import { joinRegExp } from "../support/regexp.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/pages");
const EMOJI = (vendor: string, code: string) => path.join(ROOT, `node_modules/emoji-datasource-${vendor}/img/${vendor}/64/${code}.png`);

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
