// "Try your own image", build side: the shortcode's placeholder, what it publishes, the vector
// encodings, and that the TypeScript-only geometry the browser runs equals the build's.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import sharp from "sharp";
import { flattenRgba, portableGeometry } from "../plugins/encoder-compare/encoders/portable-resize.ts";
import { decodeForModel } from "../plugins/encoder-compare/encoders/preprocess.ts";
import { BUILTIN_ENCODERS, MODEL_ENCODERS, PRESETS_2021 } from "../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec, PreprocessSpec } from "../plugins/encoder-compare/encoders/spec.ts";
import { buildBuiltinGraph } from "../plugins/encoder-compare/models/builtin-graphs.ts";
import { BIT_INPUT_NAME, BIT_OUTPUT_NAME, convertBitSafetensors } from "../plugins/encoder-compare/models/convert-bit.ts";
import { halveWeights } from "../plugins/encoder-compare/models/fp16-weights.ts";
import { l2Normalize } from "../plugins/encoder-compare/encoders/normalize.ts";
import { normalizeOptions } from "../plugins/encoder-compare/engine/options.ts";
import { describeRun } from "../plugins/encoder-compare/render/encoder-run.ts";
import { parseCompareArgs } from "../plugins/encoder-compare/eleventy/shortcode-args.ts";
import { decodeVectors, encodeVectors, type TryItConfig, type TryItIndex } from "../plugins/encoder-compare/compose/try-it-format.ts";
import { floatToHalf as toHalf, halfTable, halfToFloat as fromHalf } from "../plugins/encoder-compare/base/half-float.ts";
import { seededRandom } from "./support/prng.ts";
import { buildWithPlugin } from "./support/eleventy.ts";
import { createTryItPublisher } from "../plugins/encoder-compare/publish/try-it.ts";
import { createMontageWriter } from "../plugins/encoder-compare/compose/montage-writer.ts";
import { testEngine } from "./support/engine.ts";
import { DEFAULTS } from "../plugins/encoder-compare/base/defaults.ts";
import { joinRegExp } from "./support/regexp.ts";

/** What the engine passes every decode: the plugin's default pixel limit. */
const DECODE = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/try-it-build");
const EMOJI = (set: string, code: string) => path.join(ROOT, `node_modules/emoji-datasource-${set}/img/${set}/64/${code}.png`);

describe("vector encodings", () => {
  test("half precision: exact where representable, nearest-even otherwise, specials kept", () => {
    for (const value of [0, 1, -1, 0.5, 0.125, -0.125, 65504, 2 ** -24, 2 ** -14]) assert.equal(fromHalf(toHalf(value)), value);
    assert.equal(fromHalf(toHalf(1 + 2 ** -11)), 1, "a tie rounds to even");
    assert.equal(fromHalf(toHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9, "a tie rounds to even (up)");
    assert.equal(fromHalf(toHalf(1e6)), Infinity);
    assert.ok(Number.isNaN(fromHalf(toHalf(NaN))));
    // Every half value survives the way back, and the decode table is the same function.
    const table = halfTable();
    for (let bits = 0; bits < 65536; bits++) {
      if (Number.isNaN(fromHalf(bits))) continue;
      assert.equal(toHalf(fromHalf(bits)), bits, `bits ${bits}`);
      assert.equal(table[bits], fromHalf(bits), `table ${bits}`);
    }
  });
  test("unit vectors survive f16 within 2^-11 relative per value and i8 within half a step", () => {
    const random = seededRandom(3);
    const values = Float32Array.from({ length: 4096 }, () => (random() - 0.5) / 8);
    const f16 = encodeVectors(values, "f16");
    assert.equal(f16.bytes.byteLength, values.length * 2);
    const back = decodeVectors(f16.bytes.slice().buffer, "f16");
    for (let i = 0; i < values.length; i++) assert.ok(Math.abs(back[i] - values[i]) <= Math.abs(values[i]) * 2 ** -11 + 2 ** -25, `${values[i]} → ${back[i]}`);
    const i8 = encodeVectors(values, "i8");
    assert.equal(i8.bytes.byteLength, values.length);
    const back8 = decodeVectors(i8.bytes.slice().buffer, "i8", i8.scale);
    for (let i = 0; i < values.length; i++) assert.ok(Math.abs(back8[i] - values[i]) <= i8.scale! / 2 + 1e-9);
  });
});

describe("portable geometry (what the browser runs) equals the build's", () => {
  const specs: Array<[string, PreprocessSpec]> = [
    ...BUILTIN_ENCODERS.map((e): [string, PreprocessSpec] => [e.id, e.preprocess]),
    ...MODEL_ENCODERS.map((e): [string, PreprocessSpec] => [e.id, { ...e.preprocess, portableResize: true }]),
    // Geometry only: a browser cannot decode as Pillow did (its canvas loses the RGB under transparent pixels).
    ...PRESETS_2021.map((e): [string, PreprocessSpec] => [e.id, { ...e.preprocess, portableResize: true, decoding: "standard" }]),
  ];
  test("on opaque, transparent, wide, tall and small images", async () => {
    const random = seededRandom(9);
    const images: Buffer[] = [];
    for (const [width, height, channels] of [[300, 200, 3], [90, 333, 4], [17, 23, 3], [640, 480, 4]] as const) {
      const data = Buffer.from(
        Array.from({ length: width * height * channels }, (_, i) => (channels === 4 && i % 4 === 3 ? (i % 8 === 3 ? 255 : 0) : Math.floor(random() * 256))),
      );
      images.push(await sharp(data, { raw: { width, height, channels } }).png().toBuffer());
    }
    for (const image of images) {
      const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      for (const [name, spec] of specs) {
        const full = flattenRgba(new Uint8Array(data), info.width, info.height, spec.background);
        const browser = portableGeometry(full, spec);
        const build = await decodeForModel(image, spec, DECODE);
        assert.deepEqual([browser.width, browser.height], [build.width, build.height], name);
        assert.ok(Buffer.from(browser.data).equals(Buffer.from(build.data)), `${name}: ${info.width}×${info.height} pixels differ`);
      }
    }
  });
});

describe("tryIt option and keyword", () => {
  const defaults = { k: 3, maxK: 50, encoders: ["pixels"], dataset: "d", includeSelf: false, knownEncoders: ["pixels"] };
  test("the keyword, front matter and site option turn it on; anything but a boolean is refused", () => {
    assert.equal(parseCompareArgs(["a.png", { tryIt: true, __keywords: true }], defaults).tryIt, true);
    assert.equal(parseCompareArgs(["a.png"], defaults, { tryIt: true }).tryIt, true);
    assert.equal(parseCompareArgs(["a.png"], { ...defaults, tryIt: true }).tryIt, true);
    assert.equal(parseCompareArgs(["a.png", { tryIt: false, __keywords: true }], { ...defaults, tryIt: true }).tryIt, undefined);
    assert.throws(() => parseCompareArgs(["a.png", { tryIt: "yes", __keywords: true }], defaults), /tryIt must be true or false, got "yes"/);
    assert.throws(() => normalizeOptions({ tryIt: 1 as unknown as boolean }), /plugin option `tryIt` must be true or false/);
    assert.throws(
      () => normalizeOptions({ tryItModels: "clip-vit-b32" as unknown as string[] }),
      /plugin option `tryItModels` must be an array of encoder ids, got "clip-vit-b32"/,
    );
  });
});

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

describe("fp16 weights for publishing converted models", () => {
  test("the tiny random-weight BiT: about half the bytes, the same embeddings to cosine ≥ 0.9999", async () => {
    const ort = await import("onnxruntime-node");
    const fixtures = path.join(ROOT, "test/fixtures/bit");
    const meta = JSON.parse(fs.readFileSync(path.join(fixtures, "meta.json"), "utf8")) as { cases: Array<{ input: string; input_shape: number[] }> };
    const model = convertBitSafetensors(new Uint8Array(fs.readFileSync(path.join(fixtures, "tiny-resnetv2.safetensors"))));
    const halved = halveWeights(model);
    assert.ok(halved.byteLength < model.byteLength * 0.55, `${halved.byteLength} of ${model.byteLength} bytes`);
    for (const reference of meta.cases) {
      const bytes = fs.readFileSync(path.join(fixtures, reference.input));
      const input = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      const run = async (graph: Uint8Array) => {
        const session = await ort.InferenceSession.create(graph);
        const output = await session.run({ [BIT_INPUT_NAME]: new ort.Tensor("float32", input, reference.input_shape) });
        await session.release();
        return output[BIT_OUTPUT_NAME].data as Float32Array;
      };
      const [full, half] = [l2Normalize(await run(model)), l2Normalize(await run(halved))];
      const cosine = full.reduce((sum, v, i) => sum + v * half[i], 0);
      assert.ok(cosine >= 0.9999 && cosine <= 1.0001, `${reference.input}: cosine ${cosine}`);
    }
  });
});
