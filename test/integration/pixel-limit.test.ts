// limitInputPixels reaches every decoder a build runs, one table row each: an image of 3000×3000 pixels of one colour
// (a few kilobytes, 9,000,000 pixels) is refused under a limit of 1,000,000 with one message naming the file and the
// option, and decoded under the default. The rows: preprocessing from a path and from bytes (standard and Pillow-2021
// decoding), int8 calibration, a dataset member and a query image through the engine, an embeddings folder's image
// fetched by URL, and a page's montage through Eleventy and through `query --html`, where vectors computed elsewhere (an
// embeddings folder) leave the montage writer the first to decode the image. The montage writer's own drawings are
// test/compose/montage-writer.test.ts.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import { PIXEL_LIMIT_REASON, PixelLimitError } from "../../plugins/encoder-compare/base/pixel-limit.ts";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import { embeddingsDatasetRef, embeddingsDatasets } from "../../plugins/encoder-compare/dataset/embeddings-option.ts";
import { imageToTensor } from "../../plugins/encoder-compare/encoders/preprocess.ts";
import { BUILTIN_ENCODERS, MODEL_ENCODERS, PRESETS_2021 } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { prepareInt8 } from "../../plugins/encoder-compare/models/int8-graph.ts";
import { testEngine } from "../support/engine.ts";
import { smallNet } from "../support/int8-graphs.ts";
import { startLoopbackServer, type LoopbackServer } from "../support/loopback-server.ts";
import { buildProject, chain, projectMaker, type SmallProject } from "../support/small-project.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/integration-pixel-limit");
const LIMIT = 1_000_000;
const SIDE = 3000;
const rel = (p: string) => path.relative(ROOT, p);
const project = projectMaker(WORK);

let big: string;
let bigBytes: Buffer;
/** An embeddings folder exported from a dataset holding the big image (vectors computed under the default limit). */
let exported: SmallProject & { folder: string };
let server: LoopbackServer;

/** The one message every decoder gives for the big image under LIMIT. */
function namesFileAndOption(file: string): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof PixelLimitError, String(error));
    assert.equal(error.message, `${file}: ${error.reason}`);
    assert.equal(error.reason, `${PIXEL_LIMIT_REASON}: it has more than 1,000,000 pixels; raise the plugin option embedding.limitInputPixels to read it`);
    return true;
  };
}

before(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  big = path.join(WORK, "big.png");
  await sharp({ create: { width: SIDE, height: SIDE, channels: 3, background: { r: 200, g: 60, b: 30 } } }).png({ compressionLevel: 9 }).toFile(big);
  big = fs.realpathSync(big);
  bigBytes = fs.readFileSync(big);
  assert.ok(bigBytes.length < 1024 ** 2 && SIDE * SIDE > LIMIT && SIDE * SIDE < DEFAULTS.embedding.limitInputPixels);

  const p = project("");
  fs.copyFileSync(big, path.join(p.dataset, "big.png"));
  const folder = path.join(p.dir, "exported");
  let err = "";
  const args = ["export", "--encoder", "pixels", "--dataset", rel(p.dataset), "--cache-dir", rel(path.join(p.dir, ".cache")), rel(folder)];
  assert.equal(await main(args, { write: () => {} }, { write: (c: string) => (err += c) }, { ENCODER_COMPARE_OFFLINE: "1" }), 0, err);
  exported = { ...p, folder };
  // Serves the exported dataset's images by name, whatever folder the URL names first.
  server = await startLoopbackServer({}, (req, res) => {
    res.writeHead(200, { "content-type": "image/png" }).end(fs.readFileSync(path.join(p.dataset, path.basename(req.url ?? ""))));
  });
});
after(async () => {
  await server?.close();
  fs.rmSync(WORK, { recursive: true, force: true });
});

const pixels = BUILTIN_ENCODERS.find((spec) => spec.id === "pixels")!.preprocess;
const pillow2021 = PRESETS_2021.find((spec) => spec.preprocess.decoding === "pillow-2021")!.preprocess;

describe("preprocessing", () => {
  const rows: Array<[string, (limitInputPixels: number) => Promise<Float32Array>, () => string]> = [
    ["a path, standard decoding", (limitInputPixels) => imageToTensor(big, pixels, { limitInputPixels }), () => big],
    ["bytes with their file named", (limitInputPixels) => imageToTensor(bigBytes, pixels, { limitInputPixels, file: big }), () => big],
    ["a path, Pillow-2021 decoding", (limitInputPixels) => imageToTensor(big, pillow2021, { limitInputPixels }), () => big],
    ["a dataset member, shrunk on load", (limitInputPixels) => imageToTensor(big, pixels, { limitInputPixels, shrinkOnLoad: true }), () => big],
  ];
  for (const [what, decode, file] of rows) {
    test(`${what}: refused over the limit, decoded under the default`, async () => {
      await assert.rejects(decode(LIMIT), namesFileAndOption(file()));
      const tensor = await decode(DEFAULTS.embedding.limitInputPixels);
      assert.ok(tensor.length > 0 && tensor.every(Number.isFinite));
    });
  }
});

describe("int8 calibration", () => {
  test("a calibration image over the limit stops the quantization naming the file and the option; under the default it runs", async () => {
    const small: EncoderSpec = {
      id: "small-int8",
      label: "Small net",
      source: { kind: "url", url: "https://example.invalid/small.onnx" },
      modelId: "small",
      inputName: "pixel_values",
      outputName: "embedding",
      dim: 32,
      preprocess: { ...MODEL_ENCODERS[0].preprocess, resizeTo: 16, cropWidth: 16, cropHeight: 16 },
      license: "test",
      precision: "int8",
    };
    const model = smallNet(1);
    const fp32 = { model, sha256: crypto.createHash("sha256").update(model).digest("hex") };
    const images = [big, path.join(exported.dataset, "1f436.png")].map((file) => ({ file, sha256: crypto.createHash("sha256").update(file).digest("hex") }));
    const settings = { calibrationImages: 2, agreementImages: 2, agreementQueries: 1, agreementK: 1, seed: 0, intraOpNumThreads: 1 };
    await assert.rejects(
      prepareInt8(small, fp32, images, path.join(WORK, "int8-limited"), { ...settings, limitInputPixels: LIMIT }),
      namesFileAndOption(big),
    );
    const unlimited = { ...settings, limitInputPixels: DEFAULTS.embedding.limitInputPixels };
    const int8 = await prepareInt8(small, fp32, images, path.join(WORK, "int8-default"), unlimited);
    assert.ok(int8.quantized && fs.existsSync(int8.model));
  });
});

describe("the engine", () => {
  test("a dataset member over the limit is skipped with the pixel-limit reason; under the default it is indexed", async () => {
    const dir = path.join(WORK, "engine-dataset");
    const data = path.join(dir, "data");
    fs.mkdirSync(data, { recursive: true });
    fs.copyFileSync(big, path.join(data, "big.png"));
    fs.copyFileSync(path.join(exported.dataset, "1f436.png"), path.join(data, "dog.png"));
    for (const [limitInputPixels, indexed] of [[LIMIT, ["dog.png"]], [DEFAULTS.embedding.limitInputPixels, ["big.png", "dog.png"]]] as const) {
      const engine = testEngine(path.join(dir, String(limitInputPixels)), { limitInputPixels });
      try {
        engine.startBuild();
        const { dataset } = await engine.datasetIndex("pixels", data);
        assert.deepEqual(dataset.images.map((i) => i.id).sort(), indexed);
        const skipped = [...engine.build.skippedImages].map(([file, reason]) => [path.basename(file), reason]);
        assert.deepEqual(skipped, limitInputPixels === LIMIT ? [["big.png", PIXEL_LIMIT_REASON]] : []);
      } finally {
        await engine.close();
      }
    }
  });

  test("a query image over the limit fails naming the file and the option; under the default it is answered", async () => {
    const dir = path.join(WORK, "engine-query");
    const limited = testEngine(path.join(dir, "limited"), { limitInputPixels: LIMIT });
    try {
      await assert.rejects(limited.query("pixels", exported.dataset, big, { k: 1, includeSelf: false }), (error: Error) => {
        assert.equal(error.message, `cannot read query image ${big}: ${PIXEL_LIMIT_REASON}`);
        return namesFileAndOption(big)(error.cause);
      });
    } finally {
      await limited.close();
    }
    const open = testEngine(path.join(dir, "default"), { limitInputPixels: DEFAULTS.embedding.limitInputPixels });
    try {
      const result = await open.query("pixels", exported.dataset, big, { k: 1, includeSelf: true });
      assert.equal(result.hits[0].image.id, "big.png");
    } finally {
      await open.close();
    }
  });
});

describe("an embeddings folder's image fetched by URL", () => {
  for (const limitInputPixels of [LIMIT, DEFAULTS.embedding.limitInputPixels]) {
    const outcome = limitInputPixels === LIMIT ? "not shown, the warning names the URL and the option" : "fetched and shown";
    test(`limitInputPixels ${limitInputPixels}: ${outcome}`, async () => {
      const images = `${server.origin}/${limitInputPixels}/{image_path}`;
      const warnings: string[] = [];
      const engine = testEngine(path.join(WORK, `remote-${limitInputPixels}`), {
        limitInputPixels,
        embeddingsDatasets: embeddingsDatasets(
          { dataset: "unused", datasets: { remote: { embeddings: rel(exported.folder), verifySample: 0, images } } },
          ROOT,
          DEFAULTS.embeddingsFolder,
        ),
        warn: (message) => warnings.push(message),
      });
      try {
        const query = path.join(exported.post, "query.png");
        const result = await engine.query("pixels", embeddingsDatasetRef("datasets.remote"), query, { k: 4, includeSelf: false });
        const url = `${server.origin}/${limitInputPixels}/big.png`;
        assert.ok(server.requests.includes(`/${limitInputPixels}/big.png`), server.requests.join(", "));
        const shown = result.hits.find((hit) => hit.image.id === "big.png")!;
        if (limitInputPixels === LIMIT) {
          assert.deepEqual(warnings, [
            `embeddings exported: image ${url} not shown (${PIXEL_LIMIT_REASON}: it has more than 1,000,000 pixels; ` +
              "raise the plugin option embedding.limitInputPixels to read it); a blank tile stands in",
          ]);
          assert.equal(path.basename(shown.image.file), "unavailable.png");
        } else {
          assert.deepEqual(warnings, []);
          assert.deepEqual(fs.readFileSync(shown.image.file), bigBytes);
        }
      } finally {
        await engine.close();
      }
    });
  }
});

describe("a page's montage, the first decoder of an embeddings folder's local images", () => {
  test("Eleventy: over the limit the page fails naming the image and the option; under the default it is drawn", async () => {
    const page = `<% encoderCompare "query.png", k=4, dataset="local" %>`;
    const datasets = { local: { embeddings: rel(exported.folder), verifySample: 0, images: rel(exported.dataset) } };
    const refused = project(page);
    await assert.rejects(buildProject(refused.dir, { limitInputPixels: LIMIT, datasets }), (error: unknown) => {
      const messages = chain(error);
      const file = path.join(fs.realpathSync(exported.dataset), "big.png");
      assert.ok(messages.includes(`${file}: ${PIXEL_LIMIT_REASON}: it has more than 1,000,000 pixels`), messages);
      assert.match(messages, /raise the plugin option embedding\.limitInputPixels to read it/);
      return true;
    });
    const drawn = project(page);
    const { pages } = await buildProject(drawn.dir, { datasets });
    assert.match(pages[0].content, /<table/);
    assert.ok(fs.readdirSync(path.join(drawn.dir, "_site", "encoder-compare")).some((name) => name.startsWith("montage-")));
  });

  test("query --html: over the limit the command fails naming the image and the option; under the default it writes the page", async () => {
    const run = async (limitInputPixels: number) => {
      const dir = path.join(WORK, `cli-${limitInputPixels}`);
      fs.mkdirSync(dir, { recursive: true });
      const config = path.join(dir, "options.mjs");
      const dataset = { embeddings: exported.folder, encoder: "pixels", verifySample: 0, images: exported.dataset };
      fs.writeFileSync(config, `export default ${JSON.stringify({ limitInputPixels, dataset, cacheDir: path.join(dir, "cache") })};\n`);
      let out = "";
      let err = "";
      const html = path.join(dir, "page.html");
      const args = ["query", path.join(exported.post, "query.png"), "--encoders", "pixels", "--k", "4", "--config", config, "--html", html];
      const code = await main(args, { write: (c: string) => (out += c) }, { write: (c: string) => (err += c) }, { ENCODER_COMPARE_OFFLINE: "1" });
      return { code, out, err, html };
    };
    const refused = await run(LIMIT);
    assert.notEqual(refused.code, 0, refused.out);
    assert.ok(refused.err.includes(`${path.join(fs.realpathSync(exported.dataset), "big.png")}: ${PIXEL_LIMIT_REASON}`), refused.err);
    assert.match(refused.err, /embedding\.limitInputPixels/);
    assert.equal(fs.existsSync(refused.html), false);
    const drawn = await run(DEFAULTS.embedding.limitInputPixels);
    assert.equal(drawn.code, 0, drawn.err);
    assert.match(fs.readFileSync(drawn.html, "utf8"), /montage-[0-9a-f]{16}\.webp/);
  });
});
