// tryIt through Eleventy: content-named files, nothing re-published on an unchanged build, and a dataset image
// added between two builds of one process.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { BUILTIN_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { buildBuiltinGraph } from "../../plugins/encoder-compare/models/builtin-graphs.ts";
import { describeRun } from "../../plugins/encoder-compare/render/encoder-run.ts";
import type { TryItConfig, TryItIndex } from "../../plugins/encoder-compare/compose/try-it-format.ts";
import { createTryItPublisher } from "../../plugins/encoder-compare/publish/try-it.ts";
import { createMontageWriter } from "../../plugins/encoder-compare/compose/montage-writer.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import { buildWithPlugin } from "../support/eleventy.ts";
import { testEngine } from "../support/engine.ts";
import { joinRegExp } from "../support/regexp.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/try-it-build");
const EMOJI = (set: string, code: string) => path.join(ROOT, `node_modules/emoji-datasource-${set}/img/${set}/64/${code}.png`);

describe("tryIt through Eleventy", () => {
  test("publishes content-named files for built-ins, names the downloaded models it leaves out, and says so in a hidden placeholder", async () => {
    fs.rmSync(WORK, { recursive: true, force: true });
    const data = path.join(WORK, "data");
    const content = path.join(WORK, "content");
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(content, { recursive: true });
    for (const [set, code] of [
      ["google", "1f436"],
      ["twitter", "1f415"],
      ["google", "1f431"],
    ])
      fs.copyFileSync(EMOJI(set, code), path.join(data, `${set}-${code}.png`));
    fs.copyFileSync(EMOJI("twitter", "1f436"), path.join(content, "q.png"));
    const model = path.join(WORK, "mine.onnx");
    fs.writeFileSync(model, buildBuiltinGraph("pixels"));
    const mine: EncoderSpec = { ...BUILTIN_ENCODERS[0], id: "mine", label: "Mine <b>", source: { kind: "file", path: path.relative(ROOT, model) } };
    fs.writeFileSync(
      path.join(content, "index.md"),
      `---\ntemplateEngineOverride: njk,md\n---\n<% encoderCompare "q.png", encoders=["phash", "mine", "clip-vit-b32"], tryIt=true %>\n`,
    );
    const rel = (p: string) => path.relative(ROOT, p);
    const site = path.join(WORK, "_site");
    const [page] = await buildWithPlugin(content, site, {
      dataset: rel(data),
      cacheDir: rel(path.join(WORK, "cache")),
      tileSize: 48,
      customEncoders: [mine],
      offline: true,
      modelsDir: rel(path.join(WORK, "models")),
    });
    const html = page.content as string;
    const match = joinRegExp(
      /<div class="ec-tryit" data-tryit="([^"]+)" hidden><\/div>\n/,
      /<script type="module" src="\/encoder-compare\/(tryit-loader-[0-9a-f]{16}\.js)"><\/script>/,
    ).exec(html);
    assert.ok(match, html);
    const config = JSON.parse(match[1].replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&")) as TryItConfig;
    assert.deepEqual(config.skipped, ["Mine <b> runs at build time only: its model is not published for browsers"]);
    assert.equal(config.indexes.length, 2);
    assert.match(config.widget, /^\/encoder-compare\/tryit-widget-[0-9a-f]{16}\.js$/);
    assert.match(config.wasm, /^\/encoder-compare\/ort-wasm-simd-threaded-[0-9a-f]{16}\.wasm$/);
    assert.deepEqual([config.k, config.includeSelf], [3, false]);
    const out = path.join(site, "encoder-compare");
    const loader = fs.readFileSync(path.join(out, match[2]), "utf8");
    assert.ok(loader.length < 4096, `the loader is ${loader.length} bytes`);
    const [index, standIn] = config.indexes.map((url) => JSON.parse(fs.readFileSync(path.join(out, path.basename(url)), "utf8")) as TryItIndex);
    // A model that could not be had: the widget runs its stand-in under the build's own caption.
    assert.equal(standIn.encoder.id, "pixels");
    assert.deepEqual(standIn.run?.standingInFor.map((s) => s.label), ["CLIP ViT-B/32"]);
    // The widget words it with the same function as the build's table, so both say the same thing.
    assert.ok(html.includes(describeRun(standIn.run!).html), html);
    assert.equal(index.encoder.id, "phash");
    assert.deepEqual(index.images.map((i) => i.id).sort(), ["google-1f431.png", "google-1f436.png", "twitter-1f415.png"]);
    assert.equal(index.vectors.encoding, "f16");
    assert.deepEqual(index.vectors.shards.map((s) => [s.rows, s.bytes, fs.statSync(path.join(out, s.file)).size]), [[3, 3 * 64 * 2, 3 * 64 * 2]]);
    assert.deepEqual(fs.readFileSync(path.join(out, index.graph.file)), Buffer.from(buildBuiltinGraph("phash")));
    for (const image of index.images) assert.ok(fs.existsSync(path.join(out, image.thumb2x)), image.thumb2x);
    // Every result's caption links to its full-size image, as in the build's table: the same file, byte for byte.
    for (const image of index.images) assert.deepEqual(fs.readFileSync(path.join(out, image.full)), fs.readFileSync(path.join(data, image.id)), image.full);
    // CLIP ran as its stand-in: the panel says CLIP itself is not sent to browsers, and which encoder runs instead.
    assert.deepEqual(config.standIns, [
      "CLIP ViT-B/32 itself does not run in your browser: its 352 MB model is too large a download for a page, so it is not published. " +
        "This build had no copy of it either, so here, as in the table above, pixels (16×16 thumbnail) runs in its place",
    ]);
  });
});

describe("tryIt on a build that changes nothing", () => {
  test("re-bundles nothing and re-publishes no index; a changed input, a file gone from _site or a changed dataset publishes again", async () => {
    const work = path.join(ROOT, "test/.output/try-it-memo");
    fs.rmSync(work, { recursive: true, force: true });
    const data = path.join(work, "data");
    const content = path.join(work, "content");
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(content, { recursive: true });
    for (const code of ["1f436", "1f415", "1f431"]) fs.copyFileSync(EMOJI("google", code), path.join(data, `${code}.png`));
    fs.copyFileSync(EMOJI("twitter", "1f436"), path.join(content, "q.png"));
    fs.writeFileSync(path.join(content, "index.md"), `---\ntemplateEngineOverride: njk,md\n---\n<% encoderCompare "q.png", encoders="phash", tryIt=true %>\n`);
    const rel = (p: string) => path.relative(ROOT, p);
    const site = path.join(work, "_site");
    const out = path.join(site, "encoder-compare");
    const build = async (): Promise<TryItConfig> => {
      const [page] = await buildWithPlugin(content, site, { dataset: rel(data), cacheDir: rel(path.join(work, "cache")), tileSize: 48 });
      const attribute = /data-tryit="([^"]+)"/.exec(page.content)![1];
      return JSON.parse(attribute.replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&")) as TryItConfig;
    };
    type MemoRecord = { key: string; value: unknown; files: string[] };
    const memoDir = path.join(work, "cache", "tryit");
    const records = () =>
      fs.readdirSync(memoDir).map((name) => {
        const file = path.join(memoDir, name);
        return { file, record: JSON.parse(fs.readFileSync(file, "utf8")) as MemoRecord };
      });
    const save = ({ file, record }: { file: string; record: MemoRecord }) => fs.writeFileSync(file, JSON.stringify(record));

    const first = await build();
    const assets = records().find((r) => typeof r.record.value === "object")!;
    const index = records().find((r) => typeof r.record.value === "string")!;
    // Point what was remembered at decoys that exist: a build that reuses the memo links the decoys.
    fs.writeFileSync(path.join(out, "tryit-widget-decoy.js"), "decoy");
    fs.writeFileSync(path.join(out, "index-decoy.json"), "{}");
    (assets.record.value as { assets: { widget: string } }).assets.widget = "tryit-widget-decoy.js";
    assets.record.files.push("tryit-widget-decoy.js");
    index.record.value = "/encoder-compare/index-decoy.json";
    index.record.files.push("index-decoy.json");
    save(assets);
    save(index);
    const second = await build();
    assert.equal(second.widget, "/encoder-compare/tryit-widget-decoy.js");
    assert.deepEqual(second.indexes, ["/encoder-compare/index-decoy.json"]);

    // An input of the bundle that changed (its stamp no longer matches), and an index file gone from the output.
    const stamps = (assets.record.value as { stamps: Record<string, string> }).stamps;
    stamps[Object.keys(stamps).find((file) => file.endsWith("widget.ts"))!] = "0:0";
    save(assets);
    fs.rmSync(path.join(out, "index-decoy.json"));
    const third = await build();
    assert.deepEqual([third.widget, third.indexes], [first.widget, first.indexes]);

    // A new dataset image, or a renamed one (same bytes, new id), is a new index; back to the first state, the first.
    const indexOf = (config: TryItConfig) => JSON.parse(fs.readFileSync(path.join(out, path.basename(config.indexes[0])), "utf8")) as TryItIndex;
    fs.copyFileSync(EMOJI("google", "1f98a"), path.join(data, "1f98a.png"));
    const fourth = await build();
    assert.notDeepEqual(fourth.indexes, first.indexes);
    assert.equal(indexOf(fourth).images.length, 4);
    fs.renameSync(path.join(data, "1f98a.png"), path.join(data, "fox.png"));
    const fifth = await build();
    assert.notDeepEqual(fifth.indexes, fourth.indexes);
    assert.ok(indexOf(fifth).images.some((image) => image.id === "fox.png"));
    fs.rmSync(path.join(data, "fox.png"));
    assert.deepEqual((await build()).indexes, first.indexes);
  });
});

describe("tryIt across rebuilds in one process (npm start)", () => {
  test("a dataset image added between two builds is in the second build's index", async () => {
    const work = path.join(ROOT, "test/.output/try-it-rebuild");
    fs.rmSync(work, { recursive: true, force: true });
    const data = path.join(work, "data");
    fs.mkdirSync(data, { recursive: true });
    for (const code of ["1f436", "1f415", "1f431"]) fs.copyFileSync(EMOJI("google", code), path.join(data, `${code}.png`));
    const out = path.join(work, "_site", "encoder-compare");
    const engine = testEngine(work);
    const writer = createMontageWriter(out);
    const publisher = createTryItPublisher({
      engine,
      writer: () => writer,
      outputDir: () => out,
      urlBase: "/encoder-compare/",
      tileSize: 48,
      limitInputPixels: DEFAULTS.embedding.limitInputPixels,
      models: [],
    });
    const request = { encoders: ["phash"], datasetDir: data, k: 3, includeSelf: false };
    const build = async () => {
      engine.startBuild();
      publisher.startBuild();
      const config = JSON.parse(/data-tryit="([^"]+)"/.exec(await publisher.placeholder(request))![1].replaceAll("&quot;", '"')) as TryItConfig;
      return JSON.parse(fs.readFileSync(path.join(out, path.basename(config.indexes[0])), "utf8")) as TryItIndex;
    };
    try {
      assert.equal((await build()).images.length, 3);
      fs.copyFileSync(EMOJI("google", "1f98a"), path.join(data, "1f98a.png"));
      assert.equal((await build()).images.length, 4);
    } finally {
      await engine.close();
    }
  });
});
