// Unit tests for the pure pieces: shortcode arguments, options, paths, escaping, the table.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import sharp from "sharp";
import { normalizeOptions, FLAT_DEFAULTS } from "../plugins/encoder-compare/engine/options.ts";
import { PathRefusedError, resolveQueryPath } from "../plugins/encoder-compare/eleventy/paths.ts";
import { escapeHtml } from "../plugins/encoder-compare/render/escape.ts";
import { createMontageWriter } from "../plugins/encoder-compare/compose/montage-writer.ts";
import { fullImageName } from "../plugins/encoder-compare/render/result-images.ts";
import { renderComparisonTable } from "../plugins/encoder-compare/render/table.ts";
import { parseCompareArgs, ShortcodeArgumentError } from "../plugins/encoder-compare/eleventy/shortcode-args.ts";
import { resizedSize } from "../plugins/encoder-compare/encoders/preprocess.ts";
import { EmbeddingStore } from "../plugins/encoder-compare/store/embedding-store.ts";
import { createProgress } from "../plugins/encoder-compare/base/progress.ts";

const defaults = { k: 3, maxK: 50, encoders: ["pixels", "phash"], dataset: "data", includeSelf: false, knownEncoders: ["pixels", "phash"] };
const kw = (o: Record<string, unknown>) => ({ ...o, __keywords: true });

describe("parseCompareArgs", () => {
  test("positional paths and defaults", () => {
    assert.deepEqual(parseCompareArgs(["a.png", "b.png"], defaults), {
      queries: ["a.png", "b.png"],
      k: 3,
      encoders: ["pixels", "phash"],
      dataset: "data",
      includeSelf: false,
      layout: "tables",
    });
  });
  test("keywords override defaults", () => {
    const r = parseCompareArgs(["a.png", kw({ k: 5, encoders: "phash", includeSelf: true, dataset: "other" })], defaults);
    assert.deepEqual(r, { queries: ["a.png"], k: 5, encoders: ["phash"], dataset: "other", includeSelf: true, layout: "tables" });
  });
  test("expect= takes one group or a list; layout= tables or versus", () => {
    assert.deepEqual(parseCompareArgs(["a.png", kw({ expect: "dog-face" })], defaults).expect, ["dog-face"]);
    assert.deepEqual(parseCompareArgs(["a.png", kw({ expect: ["dog-face", "cat-face", "dog-face"] })], defaults).expect, ["dog-face", "cat-face"]);
    assert.equal(parseCompareArgs(["a.png", kw({ layout: "versus" })], defaults).layout, "versus");
    assert.throws(
      () => parseCompareArgs(["a.png", kw({ expect: [] })], defaults),
      /expect must be a dataset group such as "dog-face" or a list of groups, got \[\]/,
    );
    assert.throws(() => parseCompareArgs(["a.png", kw({ layout: "grid" })], defaults), /layout must be one of "tables", "versus", got "grid"/);
  });
  test("an array of paths counts as several queries", () => {
    assert.deepEqual(parseCompareArgs([["a.png", "b.png"]], defaults).queries, ["a.png", "b.png"]);
  });
  const bad: Array<[unknown[], RegExp]> = [
    [[], /at least one query image/],
    [[kw({})], /at least one query image/],
    [[42], /non-empty path strings, got 42/],
    [["a.png", kw({ k: 0 })], /k must be a whole number from 1 to 50, got 0/],
    [["a.png", kw({ k: 2.5 })], /got 2.5/],
    [["a.png", kw({ k: 51 })], /from 1 to 50/],
    [["a.png", kw({ encoders: ["clip"] })], /unknown encoder "clip"; known encoders: pixels, phash/],
    [["a.png", kw({ encoders: [] })], /list of encoder ids/],
    [["a.png", kw({ encoders: ["pixels", "pixels"] })], /twice/],
    [["a.png", kw({ size: 3 })], /unknown keyword "size"; known keywords: k, encoders, dataset, includeSelf/],
    [["a.png", kw({ includeSelf: "yes" })], /includeSelf must be true or false/],
  ];
  for (const [args, message] of bad) {
    test(`rejects ${JSON.stringify(args)}`, () => {
      assert.throws(() => parseCompareArgs(args, defaults), (e: Error) => e instanceof ShortcodeArgumentError && message.test(e.message));
    });
  }
});

describe("normalizeOptions", () => {
  test("defaults", () => assert.deepEqual(normalizeOptions(), { ...FLAT_DEFAULTS }));
  test("unknown option", () => assert.throws(() => normalizeOptions({ kk: 3 } as never), /`kk` is unknown/));
  test("k above maxK", () => assert.throws(() => normalizeOptions({ k: 9, maxK: 5 }), /above `maxK`/));
  test("bad backend", () => assert.throws(() => normalizeOptions({ indexBackend: "gpu" as never }), /indexBackend/));
});

describe("resolveQueryPath", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ec-paths-"));
  const content = path.join(root, "content");
  const postDir = path.join(content, "posts/p");
  fs.mkdirSync(postDir, { recursive: true });
  fs.writeFileSync(path.join(postDir, "here.png"), "x");
  fs.writeFileSync(path.join(content, "shared.png"), "x");
  fs.mkdirSync(path.join(content, "folder.png"));
  fs.symlinkSync("/etc/hostname", path.join(postDir, "link.png"));
  const post = path.join(postDir, "index.md");
  const resolve = (q: string) => resolveQueryPath(q, post, content, root);
  test("next to the post first, then content/", () => {
    assert.equal(resolve("here.png"), fs.realpathSync(path.join(postDir, "here.png")));
    assert.equal(resolve("shared.png"), fs.realpathSync(path.join(content, "shared.png")));
  });
  const refused: Array<[string, RegExp]> = [
    ["/etc/passwd", /absolute paths are refused/],
    ["../../../../etc/passwd", /leads outside the project/],
    ["link.png", /is a link to .*outside the project/],
    ["folder.png", /is a folder/],
    ["nope.png", /file not found; looked at content\/posts\/p\/nope.png and content\/nope.png/],
  ];
  for (const [query, message] of refused) {
    test(`refuses ${query}`, () => assert.throws(() => resolve(query), (e: Error) => e instanceof PathRefusedError && message.test(e.message)));
  }
});

test("escapeHtml escapes markup and quotes", () => {
  assert.equal(escapeHtml(`<script>alert("x")</script> & 'y'`), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
});

test("resizedSize follows shortest-edge truncation", () => {
  const spec = { resizeMode: "shortest-edge", resizeTo: 224, cropWidth: 224, cropHeight: 224 } as never;
  assert.deepEqual(resizedSize(500, 375, spec), { width: 298, height: 224 });
  assert.deepEqual(resizedSize(375, 500, spec), { width: 224, height: 298 });
});

describe("full-size images", () => {
  const sha = "ab".repeat(32);
  test("are named by content hash and keep a format browsers show", () => {
    assert.equal(fullImageName(sha, "/d/x.png", "png"), `full-${"ab".repeat(8)}.png`);
    assert.equal(fullImageName(sha, "/d/X.JPG", "jpeg"), `full-${"ab".repeat(8)}.jpg`);
    assert.equal(fullImageName(sha, "/d/scan.tiff", "tiff"), `full-${"ab".repeat(8)}.webp`);
    // The content decides: an SVG named .png is re-encoded, a PNG named .gif keeps ".png".
    assert.equal(fullImageName(sha, "/d/x.png", "svg"), `full-${"ab".repeat(8)}.webp`);
    assert.equal(fullImageName(sha, "/d/x.gif", "png"), `full-${"ab".repeat(8)}.png`);
  });
  test("are copied byte for byte, or re-encoded to webp, once", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-full-"));
    const png = path.join(dir, "a.png");
    const tiff = path.join(dir, "b.tif");
    const pixels = sharp({ create: { width: 4, height: 3, channels: 3, background: "#c0ffee" } });
    await pixels.clone().png().toFile(png);
    await pixels.clone().tiff().toFile(tiff);
    const writer = createMontageWriter(path.join(dir, "out"));
    const pngName = await writer.fullImage({ file: png, sha256: sha });
    assert.ok(fs.readFileSync(path.join(dir, "out", pngName)).equals(fs.readFileSync(png)));
    const tiffName = await writer.fullImage({ file: tiff, sha256: "cd".repeat(32) });
    const meta = await sharp(path.join(dir, "out", tiffName)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["webp", 4, 3]);
    await writer.fullImage({ file: png, sha256: sha });
    assert.equal(writer.written, 2);
  });
});

describe("renderComparisonTable", () => {
  const image = { name: "a.webp", name2x: "a@2x.webp", width: 10, height: 10 };
  const html = renderComparisonTable({
    encoderId: "pixels",
    encoderLabel: "pixels <16>",
    note: "stand-in",
    datasetName: "set",
    datasetSize: 3,
    k: 1,
    urlBase: "/ec/",
    rows: [
      {
        queryAlt: `q "1"`,
        queryImage: image,
        queryFullImage: "full-q.png",
        montage: image,
        hits: [{ rank: 1, score: 0.98765, caption: "</td><script>", fullImage: "full-1.png" }],
        selfExcluded: false,
      },
    ],
  });
  test("has no blank lines and escapes dataset text", () => {
    assert.ok(!/\n\s*\n/.test(html));
    assert.ok(!html.includes("<script>"));
    assert.ok(html.includes(`>&lt;/td&gt;&lt;script&gt;</a>`));
    assert.ok(html.includes(`<data value="0.988">0.988</data>`));
    assert.ok(html.includes(`alt="q &quot;1&quot;"`));
  });
  test("links the query, each listed result and each montage tile to the full image", () => {
    assert.ok(html.includes(`<td class="ec-query"><a href="/ec/full-q.png"><img class="ec-query-image"`));
    assert.ok(html.includes(`<li><a class="ec-caption" href="/ec/full-1.png">&lt;/td&gt;&lt;script&gt;</a> <span class="ec-score">`));
    // One tile fills the montage; tile links are hidden from assistive tech (the list has them).
    assert.ok(
      html.includes(
        `<div class="ec-tiles" style="--ec-tile-share:100.000%" aria-hidden="true">` +
          `<a href="/ec/full-1.png" tabindex="-1" title="1. &lt;/td&gt;&lt;script&gt; (cosine 0.988)"></a></div>`,
      ),
    );
  });
  test("without full images, results are plain text", () => {
    const plain = renderComparisonTable({
      encoderId: "x",
      encoderLabel: "x",
      datasetName: "s",
      datasetSize: 2,
      k: 1,
      urlBase: "/",
      rows: [{ queryAlt: "q", queryImage: image, montage: image, hits: [{ rank: 1, score: 1, caption: "c" }], selfExcluded: false }],
    });
    assert.ok(!plain.includes("<a "));
    assert.ok(plain.includes(`<li><span class="ec-caption">c</span>`));
  });
  test("empty results say so", () => {
    const empty = renderComparisonTable({
      encoderId: "x",
      encoderLabel: "x",
      datasetName: "s",
      datasetSize: 0,
      k: 3,
      urlBase: "/",
      rows: [{ queryAlt: "q", queryImage: image, hits: [], selfExcluded: false }],
    });
    assert.ok(empty.includes(`<p class="ec-empty">No results: the dataset has no other images.</p>`));
  });
});

describe("EmbeddingStore", () => {
  test("round-trips vectors and file hashes", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-store-"));
    const store = EmbeddingStore.open(path.join(dir, "s.sqlite"));
    store.putVectors("enc", [["sha1", new Float32Array([0.5, -0.25])]]);
    assert.deepEqual([...store.getVectors("enc", ["sha1", "sha2"]).get("sha1")!], [0.5, -0.25]);
    assert.equal(store.getVectors("other", ["sha1"]).size, 0);
    store.rememberHashes([{ path: "/a", stat: { size: 3, mtimeMs: 7.9 }, sha256: "h" }]);
    assert.equal(store.knownHash("/a", { size: 3, mtimeMs: 7 }), "h");
    assert.equal(store.knownHash("/a", { size: 4, mtimeMs: 7 }), undefined);
    store.close();
  });
  test("a corrupt store file is moved aside and replaced, with a warning", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-store-"));
    const file = path.join(dir, "s.sqlite");
    fs.writeFileSync(file, "this is not a database ".repeat(100));
    const warnings: string[] = [];
    const store = EmbeddingStore.open(file, (w) => warnings.push(w));
    assert.equal(store.countVectors(), 0);
    assert.match(warnings[0], /was unusable .* moved it to .*broken/);
    store.close();
  });
});

describe("progress", () => {
  const run = (isTTY: boolean, quiet: boolean | (() => boolean) = false) => {
    const chunks: string[] = [];
    let clock = 0;
    const factory = createProgress({ output: { isTTY, write: (c: string) => chunks.push(c) }, quiet, now: () => clock, plainIntervalSeconds: 10 });
    const task = factory("pixels", 100);
    for (let done = 10; done <= 100; done += 10) {
      clock += 4;
      task.update(done);
    }
    task.end();
    return chunks;
  };
  test("a terminal gets one redrawn line with rate and ETA, cleared at the end", () => {
    const chunks = run(true);
    assert.equal(chunks[0], "\r[encoder-compare] pixels: 10/100 images (10 %) · 2.5 img/s · ETA 36 s");
    assert.ok(chunks.every((c) => !c.includes("\n")));
    assert.match(chunks.at(-1)!, /^\r +\r$/);
  });
  test("a log gets a plain line at most every 10 s and none at the end", () => {
    const chunks = run(false);
    assert.deepEqual(chunks, [
      "[encoder-compare] pixels: 10/100 images (10 %) · 2.5 img/s · ETA 36 s\n",
      "[encoder-compare] pixels: 40/100 images (40 %) · 2.5 img/s · ETA 24 s\n",
      "[encoder-compare] pixels: 70/100 images (70 %) · 2.5 img/s · ETA 12 s\n",
    ]);
  });
  test("quiet (also asked lazily) and small jobs print nothing", () => {
    assert.deepEqual(run(true, true), []);
    assert.deepEqual(run(false, () => true), []);
    const chunks: string[] = [];
    createProgress({ output: { isTTY: true, write: (c: string) => chunks.push(c) } })("x", 5).update(5);
    assert.deepEqual(chunks, []);
  });
});
