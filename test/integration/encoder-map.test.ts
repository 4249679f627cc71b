// encoderMap end to end through Eleventy: a post with a table and a map of the same queries over a small dataset of
// real emoji PNGs, the built-in encoders. Two cold builds draw the same bytes and a warm one lays nothing out; the
// drawn neighbours are the table's top k with the same marks; the faithfulness figure on the page matches one
// computed here from the page's own positions and the store's vectors, by plain sorting; a dataset above
// mapMaxPoints is sampled with every query's neighbours kept, and says so.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import type { BuildSummary } from "../../plugins/encoder-compare/engine/summary.ts";
import { buildWithPlugin } from "../support/eleventy.ts";
import { testEngine } from "../support/engine.ts";
import { chain } from "../support/small-project.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/encoder-map");
const EMOJI = (vendor: string, code: string) => path.join(ROOT, `node_modules/emoji-datasource-${vendor}/img/${vendor}/64/${code}.png`);
const CONCEPTS: Array<[string, string]> = [
  ["1f436", "dog-face"], ["1f431", "cat-face"], ["1f34e", "apple"], ["1f697", "car"], ["1f438", "frog"], ["1f42d", "mouse"],
  ["1f430", "rabbit"], ["1f98a", "fox"], ["1f43b", "bear"], ["1f43c", "panda"], ["1f428", "koala"], ["1f42f", "tiger"],
  ["1f981", "lion"], ["1f42e", "cow"], ["1f437", "pig"], ["1f435", "monkey"], ["1f414", "chicken"], ["1f427", "penguin"],
  ["1f426", "bird"], ["1f34c", "banana"], ["1f352", "cherries"], ["1f353", "strawberry"], ["1f355", "pizza"], ["1f354", "hamburger"],
];
const POST = `---\ntemplateEngineOverride: njk,md\n---\n# Maps\n\n` +
  `<% encoderCompare "doge.png", "dog.png", k=3, encoders=["pixels", "phash"] %>\n\n` +
  `<% encoderMap "doge.png", "dog.png", k=3, encoders=["pixels", "phash"] %>\n\nAfter.\n`;
const rel = (p: string) => path.relative(ROOT, path.join(WORK, p));

function writeFixture(): void {
  fs.rmSync(WORK, { recursive: true, force: true });
  const datasetDir = path.join(WORK, "dataset");
  fs.mkdirSync(path.join(datasetDir, "images"), { recursive: true });
  fs.mkdirSync(path.join(WORK, "content/posts/maps"), { recursive: true });
  const images = [];
  for (const [code, name] of CONCEPTS) {
    for (const vendor of ["google", "twitter"]) {
      const file = `images/${name}--${vendor}.png`;
      fs.copyFileSync(EMOJI(vendor, code), path.join(datasetDir, file));
      images.push({ id: `${name}--${vendor}`, file, caption: `${name} by ${vendor}`, group: name });
    }
  }
  fs.writeFileSync(path.join(datasetDir, "manifest.json"), JSON.stringify({ name: "mini", images }));
  // doge.png is byte-identical to a dataset image (left out of its own results); dog.png is not in the dataset.
  fs.copyFileSync(EMOJI("google", "1f436"), path.join(WORK, "content/posts/maps/doge.png"));
  fs.copyFileSync(EMOJI("google", "1f415"), path.join(WORK, "content/posts/maps/dog.png"));
  fs.writeFileSync(path.join(WORK, "content/posts/maps/index.md"), POST);
}

async function build(cache: string, out: string, extra: object = {}): Promise<{ html: string; summary: BuildSummary }> {
  const summaries: BuildSummary[] = [];
  const pages = await buildWithPlugin(path.join(WORK, "content"), path.join(WORK, out), {
    dataset: rel("dataset"),
    cacheDir: rel(cache),
    tileSize: 32,
    onBuildSummary: (s: BuildSummary) => summaries.push(s),
    ...extra,
  });
  const page = pages.find((p) => p.url === "/posts/maps/");
  assert.ok(page, "the post was built");
  return { html: page.content, summary: summaries[summaries.length - 1] };
}

/** The map block of a page. */
function mapBlock(html: string): string {
  const start = html.indexOf('<div class="encoder-map"');
  assert.ok(start >= 0, "the page has a map");
  return html.slice(start, html.indexOf("</script>", start));
}

/** The panel of one encoder (by data-encoder) in a map block. */
function panel(block: string, encoder: string): string {
  const start = block.indexOf(`<figure class="ec-map" data-encoder="${encoder}"`);
  assert.ok(start >= 0, `a panel for ${encoder}`);
  return block.slice(start, block.indexOf("</figure>", start));
}

/** Per query row of one encoder's table: [mark, caption] of each result, in rank order ("" where a row has no marks). */
function tableResults(html: string, encoder: string): Array<Array<[string, string]>> {
  const start = html.indexOf(`<table class="encoder-compare" data-encoder="${encoder}"`);
  const table = html.slice(start, html.indexOf("</table>", start));
  return [...table.matchAll(/<ol class="ec-hits">([\s\S]*?)<\/ol>/g)].map(([, list]) =>
    [...list.matchAll(/<li[^>]*>(?:<span class="ec-mark"[^>]*>(.)<\/span>)?.*?<a class="ec-caption" href="[^"]+">([^<]+)<\/a>/g)].map((m) => [
      m[1] ?? "",
      m[2],
    ]),
  );
}

/** Per query of one panel: [mark, caption] of each drawn neighbour, from the SVG's labelled neighbour links. */
function drawnResults(panelHtml: string, queries: number): Array<Array<[string, string]>> {
  return Array.from({ length: queries }, (_, q) => {
    const group = panelHtml.slice(panelHtml.indexOf(`data-query="${q}"`));
    const body = group.slice(0, group.indexOf("</g>"));
    return [...body.matchAll(/aria-label="[^"]*?, result (\d+): (?:(match|not a match): )?([^"]+?) \(group [^"]*, cosine [\d.]+"/g)].map((m) => [
      m[2] === undefined ? "" : m[2] === "match" ? "✓" : "✗",
      m[3],
    ]);
  });
}

/** Every point of a panel once: caption → position, as drawn (each point's circle carries its title). */
function drawnPoints(panelHtml: string): Map<string, [number, number]> {
  const points = new Map<string, [number, number]>();
  for (const m of panelHtml.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="[78]" fill="#[0-9a-f]{6}"><title>([^<]+?) \(group [^<]+\)<\/title>/g)) {
    points.set(m[3], [Number(m[1]), Number(m[2])]);
  }
  return points;
}

describe("encoderMap through Eleventy", () => {
  let first: { html: string; summary: BuildSummary };
  before(async () => {
    writeFixture();
    first = await build("cache-a", "site-a");
  });

  test("two cold builds draw byte-identical maps; a warm build lays nothing out and draws the same bytes", async () => {
    assert.deepEqual(first.summary.maps, { laidOut: 2, remembered: 0 });
    const second = await build("cache-b", "site-b");
    assert.deepEqual(second.summary.maps, { laidOut: 2, remembered: 0 });
    assert.equal(mapBlock(second.html), mapBlock(first.html));
    const warm = await build("cache-a", "site-c");
    assert.deepEqual(warm.summary.maps, { laidOut: 0, remembered: 2 });
    assert.equal(mapBlock(warm.html), mapBlock(first.html));
    // Another seed is another layout (so the bytes above are the seed's doing, not a constant picture).
    const reseeded = await build("cache-a", "site-d", { mapSeed: 7 });
    assert.deepEqual(reseeded.summary.maps, { laidOut: 2, remembered: 0 });
    assert.notEqual(mapBlock(reseeded.html), mapBlock(first.html));
  });

  test("each query's drawn neighbours are exactly the table's top k, in order, with the same ✓/✗", () => {
    const block = mapBlock(first.html);
    for (const encoder of ["pixels", "phash"]) {
      const table = tableResults(first.html, encoder);
      const drawn = drawnResults(panel(block, encoder), 2);
      assert.equal(table.length, 2);
      assert.ok(table.every((row) => row.length === 3), JSON.stringify(table));
      assert.deepEqual(drawn, table);
      // One line per neighbour; dashed (ec-map-miss) exactly where the mark is ✗.
      const lines = [...panel(block, encoder).matchAll(/<line [^>]*class="ec-map-link( ec-map-miss)?"/g)].map((m) => (m[1] ? "dashed" : "solid"));
      assert.deepEqual(lines, table.flat().map(([mark]) => (mark === "✗" ? "dashed" : "solid")));
      assert.ok(table[0].some(([mark]) => mark === "✓") && table[1].every(([mark]) => mark === ""), "the member query has marks, the other none");
    }
    // The query that is itself in the dataset is left out of its own results, on the map as in the table.
    assert.match(panel(block, "pixels"), /The query is itself in the dataset and is left out of its own results\./);
    assert.ok(!drawnResults(panel(block, "pixels"), 1)[0].some(([, caption]) => caption === "dog-face by google"));
  });

  test("the faithfulness figure matches a count made here from the drawn positions and the store's vectors", async () => {
    const engine = testEngine(path.join(WORK, "cache-a-engine"), { cacheDir: path.join(WORK, "cache-a") });
    try {
      for (const encoder of ["pixels", "phash"]) {
        const { dataset, dim, vectors } = await engine.datasetVectors(encoder, path.join(WORK, "dataset"));
        const drawn = drawnPoints(panel(mapBlock(first.html), encoder));
        assert.equal(drawn.size, dataset.images.length, "every image is a point, once");
        const xy = dataset.images.map((image) => drawn.get(image.caption)!);
        // For each image: its 10 most similar others by cosine (double precision, ties to the earlier image) and its
        // 10 nearest on the map (ties likewise), by sorting everything.
        const n = dataset.images.length;
        let kept = 0;
        for (let i = 0; i < n; i++) {
          const others = [...Array(n).keys()].filter((j) => j !== i);
          const cosine = (j: number) => {
            let sum = 0;
            for (let d = 0; d < dim; d++) sum += vectors[i * dim + d] * vectors[j * dim + d];
            return sum;
          };
          const inSpace = others.map((j) => ({ j, s: cosine(j) })).sort((a, b) => b.s - a.s || a.j - b.j).slice(0, 10).map((e) => e.j);
          const distance = (j: number) => Math.hypot(xy[i][0] - xy[j][0], xy[i][1] - xy[j][1]);
          const onMap = new Set(others.map((j) => ({ j, d: distance(j) })).sort((a, b) => a.d - b.d || a.j - b.j).slice(0, 10).map((e) => e.j));
          kept += inSpace.filter((j) => onMap.has(j)).length;
        }
        const expected = Math.round((100 * kept) / (10 * n));
        const shown = new RegExp(`Faithfulness: on average (\\d+)% of an image&#39;s 10 nearest neighbours .*?measured on all ${n} images; .*?about (\\d+)%`);
        const m = shown.exec(panel(mapBlock(first.html), encoder));
        assert.ok(m, "the panel states its faithfulness");
        assert.equal(Number(m[1]), expected, `${encoder}: page says ${m[1]}%, counted ${expected}%`);
        assert.equal(Number(m[2]), Math.round((100 * 10) / (n - 1)));
        // The encoder's space has structure the map keeps: far above what an unrelated layout scores.
        assert.ok(expected > 2 * Math.round((100 * 10) / (n - 1)), `${encoder}: ${expected}%`);
      }
    } finally {
      await engine.close();
    }
  });

  test("above mapMaxPoints a seeded sample is laid out with every query's neighbours, and the caption says so", async () => {
    const sampled = await build("cache-a", "site-e", { mapMaxPoints: 20 });
    for (const encoder of ["pixels", "phash"]) {
      const p = panel(mapBlock(sampled.html), encoder);
      const m = /map of a seeded sample of (\d+) of the 48 images of mini \(seed 42\), every query's neighbours included/.exec(p);
      assert.ok(m, p.slice(0, 600));
      const points = drawnPoints(p);
      assert.equal(points.size, Number(m[1]));
      assert.ok(points.size >= 20 && points.size < 48, `${points.size} points`);
      // The drawn neighbours are still the table's, each a point of the sample.
      const table = tableResults(sampled.html, encoder);
      assert.deepEqual(drawnResults(p, 2), table);
      for (const [, caption] of table.flat()) assert.ok(points.has(caption), `${caption} is on the sampled map`);
      assert.match(p, /measured on all \d+ images/);
    }
  });

  test("a stand-in's panel is labelled exactly as its table: what ran leads, what it stands in for and why follow", async () => {
    const dir = path.join(WORK, "stand-in");
    fs.mkdirSync(path.join(dir, "posts/maps"), { recursive: true });
    fs.copyFileSync(path.join(WORK, "content/posts/maps/dog.png"), path.join(dir, "posts/maps/dog.png"));
    const encoders = `encoders=["clip-vit-b32", "bit-m-r50x1"]`;
    const tags = `<% encoderCompare "dog.png", ${encoders} %>\n\n<% encoderMap "dog.png", ${encoders} %>`;
    fs.writeFileSync(path.join(dir, "posts/maps/index.md"), `---\ntemplateEngineOverride: njk,md\n---\n# Stand-ins\n\n${tags}\n`);
    const models = path.join(dir, "no-models");
    fs.mkdirSync(models, { recursive: true });
    const options = { dataset: rel("dataset"), cacheDir: rel("cache-a"), offline: true, modelsDir: models };
    const pages = await buildWithPlugin(dir, path.join(dir, "_site"), options);
    const html = pages.find((p) => p.url === "/posts/maps/")!.content;
    for (const [requested, ran, label] of [["clip-vit-b32", "pixels", "CLIP ViT-B/32"], ["bit-m-r50x1", "phash", "BiT-M R50x1"]]) {
      const attributes = `data-encoder="${requested}" data-ran="${ran}">\\s*`;
      const table = new RegExp(`<table class="encoder-compare" ${attributes}<caption>(.*?) <span class="ec-scope">`).exec(html);
      const figcaption = `<figcaption[^>]*><span class="ec-map-encoder">(.*?)</span> <span class="ec-scope">`;
      const map = new RegExp(`<figure class="ec-map" ${attributes}${figcaption}`).exec(html);
      assert.ok(table && map, `${requested}: a table and a panel`);
      assert.equal(map[1], table[1]);
      const standIn = `<span class="ec-standin"[^>]*>stand-in for ${label}</span>`;
      assert.match(map[1], new RegExp(`^<span class="ec-encoder">[^<]+</span> ${standIn} <span class="ec-reason">`));
    }
  });

  test("bad arguments fail the build naming the post, the shortcode and what is wrong", async () => {
    for (const [i, [tag, message]] of ([
      [`<% encoderMap "doge.png", colour="red" %>`, /encoderMap: unknown keyword "colour"; known keywords: k, encoders, dataset, includeSelf, expect/],
      [`<% encoderMap expect="dog-face" %>`, /encoderMap: expect= marks a query's neighbours; give a query image/],
      [`<% encoderMap "doge.png", encoders=["pixels", "nope"] %>`, /encoderMap: unknown encoder "nope"/],
      [`<% encoderMap "doge.png", expect="dog" %>`, /expect="dog": dataset mini has no group "dog"/],
      [`<% encoderMap "doge.png", k=0 %>`, /encoderMap: k must be a whole number from 1 to 50, got 0/],
      [`<% encoderMap "doge.png", k="many" %>`, /encoderMap: k must be a whole number from 1 to 50, got "many"/],
      [`<% encoderMap "doge.png", includeSelf="yes" %>`, /encoderMap: includeSelf must be true or false, got "yes"/],
      [`<% encoderMap "", k=3 %>`, /encoderMap: query images must be non-empty path strings, got ""/],
      [`<% encoderMap "missing.png" %>`, /encoderMap "missing\.png": file not found; looked at .*posts\/maps\/missing\.png/],
    ] as const).entries()) {
      // A folder per case: Eleventy caches template files by path within one process.
      const dir = path.join(WORK, `bad-${i}`);
      fs.mkdirSync(path.join(dir, "posts/maps"), { recursive: true });
      fs.copyFileSync(path.join(WORK, "content/posts/maps/doge.png"), path.join(dir, "posts/maps/doge.png"));
      fs.writeFileSync(path.join(dir, "posts/maps/index.md"), `---\ntemplateEngineOverride: njk,md\n---\n# Bad\n\n${tag}\n`);
      await assert.rejects(
        buildWithPlugin(dir, path.join(dir, "_site"), { dataset: rel("dataset"), cacheDir: rel("cache-a") }),
        (error: Error) => {
          assert.match(chain(error), /posts\/maps\/index\.md: encoderMap[: ]/);
          assert.match(chain(error), message);
          return true;
        },
      );
    }
  });
});
