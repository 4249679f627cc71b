// Real-model plumbing without a model hub: a loopback HTTP server serves small ONNX graphs
// (with CLIP's tensor names) and the tiny BiT safetensors fixture. Covers download + use,
// pins, the lock file, conversion, the stand-in path with its labelled heading, strict and
// offline modes, and the models CLI.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { EngineOptions } from "../../plugins/encoder-compare/engine/types.ts";
import { main as cli } from "../../plugins/encoder-compare/cli/main.ts";
import { MODEL_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { cachedFilePath, derivedGraphPath } from "../../plugins/encoder-compare/models/cache-layout.ts";
import { CONVERTERS, modelFileRequests } from "../../plugins/encoder-compare/models/resolve.ts";
import { encodeModel, ElementType, node, tensorValueInfo } from "../../plugins/encoder-compare/models/onnx-builder.ts";
import type { BuildSummary } from "../../plugins/encoder-compare/engine/summary.ts";
import { buildWithPlugin } from "../support/eleventy.ts";
import { testEngine } from "../support/engine.ts";
import { startLoopbackServer, type LoopbackServer } from "../support/loopback-server.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/models");
const EMOJI = (code: string) => path.join(ROOT, `node_modules/emoji-datasource-google/img/google/64/${code}.png`);

/** A graph with CLIP's tensor names: 8×8 RGB flattened (192-d), output under `outputName`. */
function tinyGraph(outputName: string): Uint8Array {
  return encodeModel({
    name: "tiny",
    nodes: [node("Flatten", ["pixel_values"], [outputName], { axis: 1 })],
    initializers: [],
    inputs: [tensorValueInfo("pixel_values", ElementType.float, ["batch", 3, 8, 8])],
    outputs: [tensorValueInfo(outputName, ElementType.float, ["batch", 192])],
  });
}

const TINY_PREPROCESS = { ...MODEL_ENCODERS[0].preprocess, resizeTo: 8, cropWidth: 8, cropHeight: 8 };
const TINY_BIT_PREPROCESS = { ...MODEL_ENCODERS[1].preprocess, resizeTo: 64, cropWidth: 64, cropHeight: 64 };

let server: LoopbackServer;
let base = "";
const hits: string[] = [];
const files = new Map<string, Uint8Array>();

function spec(id: string, file: string, extra: Partial<EncoderSpec> = {}): EncoderSpec {
  return {
    id,
    label: `Tiny ${id}`,
    source: { kind: "url", url: `${base}/${file}` },
    inputName: "pixel_values",
    outputName: "image_embeds",
    dim: 192,
    preprocess: TINY_PREPROCESS,
    license: "test",
    standIn: "pixels",
    ...extra,
  };
}

function writeDataset(): string {
  const dir = path.join(WORK, "dataset");
  fs.mkdirSync(dir, { recursive: true });
  for (const code of ["1f436", "1f431", "1f34e", "1f697"]) fs.copyFileSync(EMOJI(code), path.join(dir, `${code}.png`));
  return dir;
}

function engine(modelsDir: string, extra: Partial<EngineOptions> = {}, specs: EncoderSpec[] = []) {
  const warnings: string[] = [];
  const e = testEngine(
    modelsDir,
    { cacheDir: path.join(modelsDir, "store"), limitInputPixels: 1e7, modelsDir, offline: false, warn: (w) => warnings.push(w), ...extra },
    specs,
  );
  return { engine: e, warnings };
}

describe("model sources over a loopback server", () => {
  let dataset: string;
  before(async () => {
    fs.rmSync(WORK, { recursive: true, force: true });
    dataset = writeDataset();
    files.set("/tiny-clip.onnx", tinyGraph("image_embeds"));
    files.set("/wrong-names.onnx", tinyGraph("embeds"));
    files.set("/bit/model.safetensors", fs.readFileSync(path.join(ROOT, "test/fixtures/bit/tiny-resnetv2.safetensors")));
    server = await startLoopbackServer({}, (req, res) => {
      hits.push(req.url ?? "");
      const body = files.get(req.url ?? "");
      if (!body) {
        res.writeHead(404).end("not here");
        return;
      }
      res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" }).end(Buffer.from(body));
    });
    base = server.origin;
  });
  after(async () => {
    await server.close();
    fs.rmSync(WORK, { recursive: true, force: true });
  });

  test("a URL model is downloaded once, its hash locked, and used for queries", async () => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-models-"));
    const tiny = spec("tiny-clip", "tiny-clip.onnx");
    const { engine: e } = engine(models, {}, [tiny]);
    const result = await e.query("tiny-clip", dataset, path.join(dataset, "1f436.png"), { k: 2, includeSelf: true });
    assert.equal(result.standInFor, undefined);
    assert.equal(result.hits[0].image.id, "1f436.png");
    assert.ok(Math.abs(result.hits[0].score - 1) < 1e-6);
    await e.close();
    const lock = JSON.parse(fs.readFileSync(path.join(models, "models.lock.json"), "utf8"));
    const expected = crypto.createHash("sha256").update(files.get("/tiny-clip.onnx")!).digest("hex");
    assert.equal(JSON.stringify(lock).includes(expected), true);

    // Offline, from the cache: no request reaches the server.
    const before = hits.length;
    const { engine: offline } = engine(models, { offline: true }, [tiny]);
    const again = await offline.query("tiny-clip", dataset, path.join(dataset, "1f431.png"), { k: 1, includeSelf: false });
    assert.equal(again.standInFor, undefined);
    assert.equal(hits.length, before);
    await offline.close();
  });

  test("tensor names that differ from the spec fail clearly", async () => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-models-"));
    // Downloaded: checked before it is kept or pinned, so the model is unavailable (stand-in) and the log says why.
    const { engine: e, warnings } = engine(models, {}, [spec("wrong", "wrong-names.onnx")]);
    const result = await e.query("wrong", dataset, path.join(dataset, "1f436.png"), { k: 1, includeSelf: false });
    assert.equal(result.standInFor?.spec.id, "wrong");
    assert.match(
      warnings.join("\n"),
      /the ONNX model has inputs \[pixel_values\] and outputs \[embeds\], the encoder spec needs input "pixel_values" and output "image_embeds"/,
    );
    assert.equal(fs.existsSync(path.join(models, "models.lock.json")), false);
    await e.close();
    // A local file is not downloaded: the session names the mismatch.
    const local = path.join(models, "wrong-names.onnx");
    fs.writeFileSync(local, files.get("/wrong-names.onnx")!);
    const { engine: fileEngine } = engine(models, {}, [spec("wrong-file", "unused", { source: { kind: "file", path: local } })]);
    await assert.rejects(
      fileEngine.encoder("wrong-file"),
      /expected input "pixel_values" and output "image_embeds", the model has inputs \[pixel_values\] and outputs \[embeds\]/,
    );
    await fileEngine.close();
  });

  test("the real CLIP spec through a mirror that serves the wrong bytes: stand-in, nothing cached", async () => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-models-"));
    const clip = MODEL_ENCODERS[0];
    files.set(new URL((clip.source as { url: string }).url).pathname, tinyGraph("image_embeds"));
    const { engine: e, warnings } = engine(models, { modelBaseUrl: base });
    const result = await e.query("clip-vit-b32", dataset, path.join(dataset, "1f436.png"), { k: 1, includeSelf: false });
    assert.equal(result.encoder.id, "pixels");
    assert.equal(result.standInFor?.spec.id, "clip-vit-b32");
    assert.match(result.standInFor!.reason, /mismatch/);
    assert.match(warnings.join("\n"), /CLIP ViT-B\/32 not available \(.*mismatch.*\): its tables use pixels as a stand-in/);
    assert.deepEqual(
      fs
        .readdirSync(path.dirname(cachedFilePath(models, modelFileRequests(clip)[0]!.url)))
        .filter((f) => !f.endsWith(".lock") && !f.endsWith(".unavailable.json")),
      [],
    );
    await e.close();
  });

  test("strict mode turns an unavailable model into one actionable error", async () => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-models-"));
    const { engine: e } = engine(models, { strict: true }, [spec("gone", "missing.onnx")]);
    await assert.rejects(
      e.encoder("gone"),
      /Tiny gone \(gone\) is not available: HTTP 404 .*; strict mode is on, so the build stops — fetch it with `npx encoder-compare models pull gone`/,
    );
    await e.close();
  });

  test("offline with an empty cache uses the stand-in and says why", async () => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-models-"));
    const before = hits.length;
    const { engine: e } = engine(models, { offline: true });
    const loaded = await e.encoder("bit-m-r50x1");
    assert.equal(loaded.spec.id, "phash");
    assert.equal(loaded.standInFor?.reason, "offline and not in the cache");
    assert.equal(hits.length, before);
    await e.close();
  });

  test("converted models: weights downloaded, converted once, cached and run", async () => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-models-"));
    const tinyBit: EncoderSpec = {
      ...MODEL_ENCODERS[1],
      id: "tiny-bit",
      source: { kind: "converted", converter: "bit-resnetv2", weights: { url: `${base}/bit/model.safetensors` } },
      dim: 256,
      preprocess: TINY_BIT_PREPROCESS,
    };
    const infos: string[] = [];
    const { engine: e } = engine(models, { info: (i) => infos.push(i) }, [tinyBit]);
    const result = await e.query("tiny-bit", dataset, path.join(dataset, "1f436.png"), { k: 3, includeSelf: true });
    assert.equal(result.standInFor, undefined);
    assert.equal(result.hits[0].image.id, "1f436.png");
    assert.match(infos.join("\n"), /tiny-bit: converted model\.safetensors to ONNX/);
    const weightsSha = crypto.createHash("sha256").update(files.get("/bit/model.safetensors")!).digest("hex");
    const converted = derivedGraphPath(models, "bit-resnetv2", CONVERTERS["bit-resnetv2"]!.version, weightsSha);
    assert.deepEqual(fs.readdirSync(path.dirname(converted)), [path.basename(converted)]);
    await e.close();
    // A second engine reuses the converted file (no new conversion line).
    const again: string[] = [];
    const { engine: e2 } = engine(models, { info: (i) => again.push(i) }, [tinyBit]);
    await e2.encoder("tiny-bit");
    assert.deepEqual(again, []);
    await e2.close();
  });

  test("the shortcode's table heading names the stand-in and the reason", async () => {
    const content = path.join(WORK, "site");
    fs.mkdirSync(path.join(content, "p"), { recursive: true });
    fs.copyFileSync(EMOJI("1f415"), path.join(content, "p/q.png"));
    fs.writeFileSync(path.join(content, "p/index.md"), `---\ntemplateEngineOverride: njk,md\n---\n<% encoderCompare "q.png", k=1, encoders=["gone"] %>\n`);
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-models-"));
    const summaries: BuildSummary[] = [];
    const rel = (p: string) => path.relative(ROOT, p);
    const [page] = await buildWithPlugin(content, path.join(WORK, "_site"), {
      dataset: rel(dataset),
      cacheDir: rel(path.join(WORK, ".cache")),
      modelsDir: models,
      customEncoders: [spec("gone", "missing.onnx")],
      encoders: ["gone"],
      onBuildSummary: (s: BuildSummary) => summaries.push(s),
    });
    const caption = page.content.match(/<caption>.*<\/caption>/)![0];
    assert.equal(
      caption,
      // What ran leads, the stand-in mark follows; the reason in plain words, the HTTP detail in the title.
      `<caption><span class="ec-encoder">pixels (16×16 thumbnail)</span> ` +
        `<span class="ec-standin" title="the model hub did not serve the file (Tiny gone: HTTP 404 from ${base}/missing.onnx)">stand-in for Tiny gone</span> ` +
        `<span class="ec-reason">(the model hub did not serve the file)</span> ` +
        `<span class="ec-scope">top 1 of 4 images in dataset, by cosine similarity</span></caption>`,
    );
    assert.deepEqual(summaries[0].encoders.map((e) => e.id), ["gone→pixels"]);
  });

  test("CLI: models pull through a mirror, verify, usage errors", async () => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-models-"));
    const clip = MODEL_ENCODERS[0];
    const capture = () => {
      const chunks: string[] = [];
      return { chunks, stream: { write: (c: string) => chunks.push(c) } };
    };
    const env = { ...process.env, ENCODER_COMPARE_MODELS_DIR: models, ENCODER_COMPARE_MODEL_BASE_URL: base };
    {
      files.set(new URL((clip.source as { url: string }).url).pathname, tinyGraph("image_embeds"));
      const out = capture();
      const err = capture();
      assert.equal(await cli(["models", "pull", "clip-vit-b32"], out.stream, err.stream, env), 1);
      assert.match(err.chunks.join(""), /clip-vit-b32: .*(sha256|size)/);
      const usage = capture();
      assert.equal(await cli(["models", "pull", "nope"], out.stream, usage.stream, env), 2);
      assert.match(usage.chunks.join(""), /unknown encoder "nope"; known encoders: pixels, phash, clip-vit-b32/);
      assert.equal(await cli(["models", "frobnicate"], out.stream, usage.stream, env), 2);
      const verify = capture();
      // The pull above kept nothing: not downloaded is not a problem, and says so.
      assert.equal(await cli(["models", "verify", "clip-vit-b32"], verify.stream, err.stream, env), 0);
      assert.match(verify.chunks.join(""), /^clip-vit-b32: not downloaded, nothing to verify/);
      const list = capture();
      assert.equal(await cli(["models", "list", "--json"], list.stream, err.stream, env), 0);
      const listed = JSON.parse(list.chunks.join(""));
      assert.equal(listed.modelsDir, models);
      assert.deepEqual(listed.encoders.map((e: { id: string; cached: string }) => [e.id, e.cached]).slice(0, 4), [
        ["pixels", "built in"],
        ["phash", "built in"],
        ["clip-vit-b32", "not cached"],
        ["bit-m-r50x1", "not cached"],
      ]);
    }
  });
});
