// precision "int8" end to end: a loopback-served fp32 graph is downloaded, verified and pinned,
// quantized (calibrated on the dataset), embedded, and the page's caption says int8 with its
// measured agreement with fp32; the next build reuses the quantized graph without quantizing.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { runOf } from "../../plugins/encoder-compare/compose/encoder-runs.ts";
import { MODEL_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { describeAgreement, measureAgreement } from "../../plugins/encoder-compare/models/int8-graph.ts";
import { normalizeOptions } from "../../plugins/encoder-compare/engine/options.ts";
import { createRegistry } from "../../plugins/encoder-compare/engine/setup.ts";
import { derivedGraphPath } from "../../plugins/encoder-compare/models/cache-layout.ts";
import { QUANTIZER_VERSION } from "../../plugins/encoder-compare/models/quantize-int8.ts";
import { buildWithPlugin } from "../support/eleventy.ts";
import { testEngine } from "../support/engine.ts";
import { smallNet } from "../support/int8-graphs.ts";
import { startLoopbackServer, type LoopbackServer } from "../support/loopback-server.ts";
import crypto from "node:crypto";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/int8");
const EMOJI = (code: string) => path.join(ROOT, `node_modules/emoji-datasource-google/img/google/64/${code}.png`);
const CODES = ["1f436", "1f431", "1f34e", "1f697", "1f415", "1f408", "1f34f", "1f695", "1f680", "1f33b", "1f355", "1f3b8", "1f4da", "1f30d"];
const GRAPH = smallNet(7, "image_embeds");
const FP32_SHA = crypto.createHash("sha256").update(GRAPH).digest("hex");

let server: LoopbackServer;
const requests: string[] = [];

function spec(precision: "fp32" | "int8"): EncoderSpec {
  return {
    id: precision === "int8" ? "small-int8" : "small",
    label: "Small net",
    source: { kind: "url", url: `${server.origin}/small/model.onnx` },
    modelId: "small",
    inputName: "pixel_values",
    outputName: "image_embeds",
    dim: 32,
    preprocess: { ...MODEL_ENCODERS[0].preprocess, resizeTo: 16, cropWidth: 16, cropHeight: 16 },
    license: "test",
    precision,
  };
}

describe("precision int8", () => {
  let dataset: string;
  before(async () => {
    fs.rmSync(WORK, { recursive: true, force: true });
    dataset = path.join(WORK, "dataset");
    fs.mkdirSync(dataset, { recursive: true });
    for (const code of CODES) fs.copyFileSync(EMOJI(code), path.join(dataset, `${code}.png`));
    server = await startLoopbackServer({
      "/small/model.onnx": (req, res) => {
        requests.push(req.url ?? "");
        res.writeHead(200, { "content-length": GRAPH.length, "content-type": "application/octet-stream" }).end(Buffer.from(GRAPH));
      },
    });
  });
  after(async () => {
    await server.close();
  });

  test("download → verify → quantize → embed → caption with agreement; the next build reuses the int8 graph", async () => {
    const content = path.join(WORK, "site");
    fs.mkdirSync(content, { recursive: true });
    fs.copyFileSync(EMOJI("1f408"), path.join(content, "q.png"));
    fs.writeFileSync(path.join(content, "index.md"), `---\ntemplateEngineOverride: njk,md\n---\n<% encoderCompare "q.png", k=2, encoders=["small-int8"] %>\n`);
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-int8-"));
    const rel = (p: string) => path.relative(ROOT, p);
    const options = {
      dataset: rel(dataset),
      cacheDir: rel(path.join(WORK, ".cache")),
      modelsDir: models,
      customEncoders: [spec("int8")],
      encoders: ["small-int8"],
      int8AgreementQueries: 6,
    };
    const [page] = await buildWithPlugin(content, path.join(WORK, "_site"), options);
    const caption = page.content.match(/<caption>.*<\/caption>/)![0];
    const said = caption.match(/Small net \((int8: top-10 agreement (\d+\.\d)\/10 with fp32 on 6 sampled queries)\)/);
    assert.ok(said, caption);
    assert.ok(Number(said[2]) >= 5, `agreement ${said[2]} on a conv net quantized with calibration`);
    assert.deepEqual(requests, ["/small/model.onnx"], "downloaded once");
    const lock = fs.readFileSync(path.join(models, "models.lock.json"), "utf8");
    assert.ok(lock.includes(FP32_SHA), "the fp32 graph is pinned, the int8 one derived from it");
    const int8File = derivedGraphPath(models, "int8", QUANTIZER_VERSION, FP32_SHA);
    const stat = fs.statSync(int8File);
    const record = fs.readdirSync(path.dirname(int8File)).find((f) => f.includes(".agreement-"));
    assert.ok(record, "the agreement is stored beside the graph");

    // Second build, new engine: the int8 graph and the agreement come from the cache, the same caption.
    const infos: string[] = [];
    const second = { modelsDir: models, cacheDir: path.join(WORK, ".cache2"), info: (i: string) => infos.push(i), int8AgreementQueries: 6 };
    const e = testEngine(WORK, second, [spec("int8"), spec("fp32")]);
    // A query on a fresh engine (as the CLI runs one) lists the dataset before loading the encoder.
    const result = await e.query("small-int8", dataset, path.join(dataset, "1f436.png"), { k: 1, includeSelf: true });
    assert.equal(result.hits[0].image.id, "1f436.png");
    const run = await runOf(e, "small-int8");
    assert.equal(run.ran.label, `Small net (${said[1]})`);
    assert.match(infos.join("\n"), /small-int8: int8 graph from the cache; int8: top-10 agreement/);
    assert.doesNotMatch(infos.join("\n"), /quantized to int8/);
    assert.equal(fs.statSync(int8File).mtimeMs, stat.mtimeMs, "not quantized again");
    // int8 vectors are kept apart from fp32's.
    const [int8Key, fp32Key] = [(await e.encoderIdentity("small-int8")).key, (await e.encoderIdentity("small")).key];
    assert.notEqual(int8Key, fp32Key);
    await e.close();
  });

  test("below the floor the build warns, naming the fp32 encoder; without a dataset it refuses clearly", async () => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-int8-"));
    const warnings: string[] = [];
    const warn = (w: string) => warnings.push(w);
    const settings = { modelsDir: models, offline: false, cacheDir: path.join(WORK, ".cache3"), warn, int8AgreementFloor: 10.5 };
    const e = testEngine(WORK, settings, [spec("int8")]);
    await assert.rejects(runOf(e, "small-int8"), /encoder "small-int8": int8 is calibrated and measured on a dataset; use it with a dataset of images/);
    e.dataset(dataset);
    await runOf(e, "small-int8");
    assert.match(warnings.join("\n"), /Small net: int8: top-10 agreement .* below the floor of 10\.5 \(int8AgreementFloor\).*use the fp32 encoder "small"/);
    await e.close();
  });

  test("a graph's own batchSize decides its onnxruntime runs; BiT runs one image at a time", async () => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), "ec-int8-"));
    const steps = new Map<string, number[]>();
    const progress = (label: string) => {
      steps.set(label, []);
      return { update: (done: number) => steps.get(label)!.push(done), end: () => {} };
    };
    const graph = path.join(models, "small.onnx");
    fs.writeFileSync(graph, GRAPH);
    const local = (id: string, batchSize?: number): EncoderSpec => ({ ...spec("fp32"), id, source: { kind: "file", path: graph }, batchSize });
    // Same graph and preprocessing, so the same store key: each in its own store.
    for (const id of ["own", "global"]) {
      const e = testEngine(WORK, { modelsDir: models, cacheDir: path.join(models, id), batchSize: 4, progress }, [local("own", 5), local("global")]);
      await e.query(id, dataset, path.join(dataset, "1f436.png"), { k: 1, includeSelf: true });
      await e.close();
    }
    assert.deepEqual(steps.get("own"), [5, 10, 14]);
    assert.deepEqual(steps.get("global"), [4, 8, 12, 14]);
    assert.equal(MODEL_ENCODERS.find((m) => m.id === "bit-m-r50x1")!.batchSize, 1);
    assert.equal(createRegistry({ customEncoders: [] }).get("bit-m-r50x1-int8").batchSize, 1);
  });

  test("agreement figures and the option's checks", () => {
    const unit = (v: number[]) => Float32Array.from(v.map((x) => x / Math.hypot(...v)));
    const fp32 = [unit([1, 0, 0]), unit([1, 0.1, 0]), unit([0, 1, 0]), unit([0, 1, 0.2]), unit([0, 0, 1])];
    const same = measureAgreement(fp32, fp32, 2, 10);
    assert.deepEqual([same.topKOverlap, same.k, same.queries, same.images], [4, 4, 2, 5], "k is capped at the other images");
    assert.ok(Math.abs(same.meanCosine - 1) < 1e-6 && Math.abs(same.minCosine - 1) < 1e-6);
    const swapped = fp32.map((v, i) => (i === 1 ? unit([-1, 0.1, 0]) : v));
    const a = measureAgreement(fp32, swapped, 1, 1);
    assert.equal(a.topKOverlap, 0, "query 0's nearest moved");
    assert.ok(a.minCosine < 0.2);
    assert.equal(describeAgreement({ ...a, topKOverlap: 9.4, k: 10, queries: 50 }), "int8: top-10 agreement 9.4/10 with fp32 on 50 sampled queries");
    assert.throws(() => normalizeOptions({ int8AgreementFloor: 11 }), /`int8AgreementFloor` must be a number from 0 to 10/);
    assert.throws(() => normalizeOptions({ int8AgreementQueries: 0 }), /int8AgreementQueries/);
    const ids = createRegistry({ customEncoders: [] });
    assert.equal(ids.get("clip-vit-b32-int8").precision, "int8");
    assert.equal(ids.get("clip-vit-b32-int8").label, "CLIP ViT-B/32 (int8)");
  });
});
