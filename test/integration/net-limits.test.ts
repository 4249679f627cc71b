// Fetch boundaries, against loopback servers: one URL policy for every client, byte caps,
// deadlines (endless, trickling and silent servers), remembered failures, and downloads that
// are kept and pinned only when they are what they claim to be.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";

import { main as cli } from "../../plugins/encoder-compare/cli/main.ts";
import { httpGetOnce } from "../../plugins/encoder-compare/base/http-get.ts";
import { NetError } from "../../plugins/encoder-compare/base/http-errors.ts";
import { checkUrl } from "../../plugins/encoder-compare/base/url-policy.ts";
import { importForTest } from "../support/import-memes.ts";
import { MODEL_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { ensureModelFile, type EnsureOptions, type ModelFileRequest } from "../../plugins/encoder-compare/models/download.ts";
import { cachedFilePath } from "../../plugins/encoder-compare/models/cache-layout.ts";
import { CONVERTERS, modelFileRequests } from "../../plugins/encoder-compare/models/resolve.ts";
import { buildWithPlugin } from "../support/eleventy.ts";
import { testEngine } from "../support/engine.ts";
import { endlessChunks, neverAnswer, startLoopbackServer, trickle, type LoopbackServer } from "../support/loopback-server.ts";
import { joinRegExp } from "../support/regexp.ts";
import { unavailable } from "../support/model-unavailable.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/net");
const EMOJI = (code: string) => path.join(ROOT, `node_modules/emoji-datasource-google/img/google/64/${code}.png`);
const BIT_FIXTURE = readFileSync(path.join(ROOT, "test/fixtures/bit/tiny-resnetv2.safetensors"));
const CAPTIVE_PORTAL = Buffer.from("<html><body>Please log in to use this network.</body></html>");
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

const servers: LoopbackServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(WORK, { recursive: true, force: true });
});

async function server(routes: Parameters<typeof startLoopbackServer>[0] = {}): Promise<LoopbackServer> {
  const s = await startLoopbackServer(routes);
  servers.push(s);
  return s;
}

function tempDir(): string {
  mkdirSync(WORK, { recursive: true });
  return mkdtempSync(path.join(WORK, "models-"));
}

function quiet(dir: string, extra: Partial<EnsureOptions> = {}): EnsureOptions {
  return { dir, progress: "none", retryDelayMs: 10, lockPollMs: 20, ...extra };
}


/** Serves `body` with Range support (206/416), as a hub does. */
function serve(body: Buffer) {
  return (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
    if (start >= body.length && start > 0) return void res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
    if (start > 0) res.writeHead(206, { "content-length": body.length - start, "content-range": `bytes ${start}-${body.length - 1}/${body.length}` });
    else res.writeHead(200, { "content-length": body.length });
    res.end(body.subarray(start));
  };
}

// ---------------------------------------------------------------------------------------------
// One URL policy
// ---------------------------------------------------------------------------------------------

test("plain http is allowed to all of 127.0.0.0/8, ::1 and localhost, by the model downloader and the importer alike", async () => {
  const dir = tempDir();
  for (const host of ["127.0.0.2", "127.255.0.9", "127.1", "[::1]", "[::ffff:127.0.0.1]", "localhost", "LOCALHOST"]) {
    const url = `http://${host}:1/model.onnx`;
    assert.doesNotThrow(() => checkUrl(new URL(url), "image URL"), host);
    const error = await unavailable(ensureModelFile({ id: "m", url, fileName: "model.onnx" }, quiet(dir)));
    // Allowed by the policy, so it is tried: nothing listens on port 1.
    assert.match(error.reason, /^cannot reach /, `${host}: ${error.reason}`);
  }
  for (const host of ["128.0.0.1", "10.0.0.1", "localhost.example.org", "[::2]", "0.0.0.0"]) {
    const url = `http://${host}/model.onnx`;
    assert.throws(() => checkUrl(new URL(url), "image URL"), /refused: only https URLs are allowed/, host);
    const error = await unavailable(ensureModelFile({ id: "m", url, fileName: "model.onnx" }, quiet(dir)));
    assert.match(error.reason, /^insecure URL refused/, host);
  }
});

test("a remote host may not redirect to this machine; loopback may redirect within itself", () => {
  assert.throws(() => checkUrl(new URL("http://127.0.0.1:8080/admin"), "x", new URL("https://hub.example/a")), /may not redirect to this machine/);
  assert.throws(() => checkUrl(new URL("https://localhost/a"), "x", new URL("https://hub.example/a")), /may not redirect to this machine/);
  assert.doesNotThrow(() => checkUrl(new URL("http://127.0.0.1:8080/b"), "x", new URL("http://localhost:8080/a")));
  assert.doesNotThrow(() => checkUrl(new URL("https://cdn.example/b"), "x", new URL("https://hub.example/a")));
});

// ---------------------------------------------------------------------------------------------
// Caps and deadlines
// ---------------------------------------------------------------------------------------------

test("an endless chunked reply stops at the pinned size; the part file never exceeds it and a later pull recovers", { timeout: 20_000 }, async () => {
  const good = Buffer.alloc(200_000, 7);
  const s = await server({ "/model.onnx": endlessChunks() });
  const dir = tempDir();
  const req: ModelFileRequest = { id: "m", url: `${s.origin}/model.onnx`, fileName: "model.onnx", sha256: sha256(good), bytes: good.length };

  const error = await unavailable(ensureModelFile(req, quiet(dir)));
  assert.equal(error.reason, "download larger than expected");
  assert.match(error.message, /above the 200000-byte limit/);
  const part = `${cachedFilePath(dir, req.url)}.part`;
  assert.ok(statSync(part).size <= good.length, `part file has ${statSync(part).size} bytes`);
  assert.equal(existsSync(cachedFilePath(dir, req.url)), false);

  // The mirror is fixed; `models pull` (retryUnavailable) resumes from the part, finds it wrong, and fetches it whole.
  s.route("/model.onnx", serve(good));
  const result = await ensureModelFile(req, quiet(dir, { retryUnavailable: true }));
  assert.equal(result.sha256, sha256(good));
});

test("an endless reply for an unpinned file stops at the spec's maxBytes and pins nothing", { timeout: 20_000 }, async () => {
  const s = await server({ "/w.safetensors": endlessChunks() });
  const dir = tempDir();
  const error = await unavailable(
    ensureModelFile({ id: "w", url: `${s.origin}/w.safetensors`, fileName: "w.safetensors", maxBytes: 50_000 }, quiet(dir)),
  );
  assert.equal(error.reason, "download larger than expected");
  assert.ok(statSync(`${cachedFilePath(dir, `${s.origin}/w.safetensors`)}.part`).size <= 50_000);
  assert.equal(existsSync(path.join(dir, "models.lock.json")), false);
});

test("a 1-byte trickle that never stalls is ended by the minimum-throughput rule; the part is kept", { timeout: 20_000 }, async () => {
  const s = await server({ "/model.onnx": trickle(1_000_000, 50) });
  const dir = tempDir();
  const limits = { stallTimeoutMs: 5_000, throughputWindowMs: 300, minBytesPerSecond: 1_000 };
  const error = await unavailable(ensureModelFile({ id: "m", url: `${s.origin}/model.onnx`, fileName: "model.onnx" }, quiet(dir, { limits })));
  assert.equal(error.reason, "download too slow");
  assert.match(error.message, /below the minimum of 1000 bytes\/s/);
  assert.match(error.message, /ENCODER_COMPARE_MIN_SPEED/);
  assert.ok(existsSync(`${cachedFilePath(dir, `${s.origin}/model.onnx`)}.part`), "the partial download stays for a resume");
  assert.equal(s.connections, 1, "too slow is not retried within the call");

  // The importer's client is the same one; its per-image limit is an overall deadline.
  await assert.rejects(
    httpGetOnce(new URL(`${s.origin}/model.onnx`), { what: "image URL", timeoutMs: 500, maxBytes: 2_000_000 }),
    (e: unknown) => e instanceof NetError && e.retryable && /did not finish within 0\.5 s/.test(e.message),
  );
});

test("a mirror that accepts and never answers costs one reply deadline once; the next try makes no connection", { timeout: 20_000 }, async () => {
  const s = await server({ "/model.onnx": neverAnswer });
  const dir = tempDir();
  const req: ModelFileRequest = { id: "m", url: `${s.origin}/model.onnx`, fileName: "model.onnx" };
  const options = quiet(dir, { limits: { replyTimeoutMs: 300 } });

  const first = await unavailable(ensureModelFile(req, options));
  assert.match(first.reason, /^cannot reach 127\.0\.0\.1:\d+ \(no reply\)$/);
  assert.match(first.message, /accepted the connection but sent no reply within 0\.3 s/);
  assert.equal(s.connections, 1, "no automatic retries of a server that never answered");

  const second = await unavailable(ensureModelFile(req, options));
  assert.equal(second.reason, first.reason);
  assert.match(second.note ?? "", /not tried again.*`npx encoder-compare models pull m` or ENCODER_COMPARE_MODEL_RETRY_AFTER=0/);
  assert.equal(s.connections, 1, "the remembered failure is not probed again");

  await unavailable(ensureModelFile(req, { ...options, unavailableRetryMs: 0 }));
  assert.equal(s.connections, 2, "a window of 0 tries again");
});

/** A listening socket whose accept queue is full, so a new connection never completes (a firewall that drops packets). */
async function unacceptingPort(): Promise<{ port: number; stop: () => void }> {
  const script = [
    "import socket, sys, time",
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
    "fill = [socket.socket() for _ in range(4)]",
    "[f.setblocking(False) or f.connect_ex(s.getsockname()) for f in fill]",
    "time.sleep(0.2); print(s.getsockname()[1], flush=True); sys.stdin.read()",
  ].join("\n");
  const child = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once("error", reject);
  });
  return { port, stop: () => child.kill() };
}

test("a host that never completes the connection is given up at the connect deadline", { timeout: 20_000 }, async () => {
  const { port, stop } = await unacceptingPort();
  try {
    const dir = tempDir();
    const error = await unavailable(
      ensureModelFile({ id: "m", url: `http://127.0.0.1:${port}/model.onnx`, fileName: "model.onnx" }, quiet(dir, { limits: { connectTimeoutMs: 300 } })),
    );
    assert.equal(error.reason, `cannot reach 127.0.0.1:${port} (no connection)`);
    assert.match(error.message, /no connection to 127\.0\.0\.1:\d+ within 0\.3 s/);
  } finally {
    stop();
  }
});

test("two builds against a black-holed mirror: the first ends at the deadline with a stand-in, the second connects nowhere", { timeout: 30_000 }, async () => {
  const s = await server({ "/tiny.onnx": neverAnswer });
  const content = path.join(WORK, "site");
  mkdirSync(path.join(content, "p"), { recursive: true });
  const dataset = path.join(WORK, "dataset");
  mkdirSync(dataset, { recursive: true });
  for (const code of ["1f436", "1f431", "1f34e"]) copyFileSync(EMOJI(code), path.join(dataset, `${code}.png`));
  copyFileSync(EMOJI("1f415"), path.join(content, "p/q.png"));
  writeFileSync(path.join(content, "p/index.md"), `---\ntemplateEngineOverride: njk,md\n---\n<% encoderCompare "q.png", k=1, encoders=["hole"] %>\n`);
  const hole: EncoderSpec = { ...MODEL_ENCODERS[0], id: "hole", label: "Hole", source: { kind: "url", url: `${s.origin}/tiny.onnx` }, standIn: "pixels" };
  const rel = (p: string) => path.relative(ROOT, p);
  const models = tempDir();
  process.env.ENCODER_COMPARE_REPLY_TIMEOUT = "0.3";
  const build = async () => {
    const [page] = await buildWithPlugin(content, path.join(WORK, "_site"), {
      dataset: rel(dataset),
      cacheDir: rel(path.join(WORK, ".cache")),
      modelsDir: models,
      customEncoders: [hole],
      encoders: ["hole"],
    });
    return page.content.match(/<caption>.*<\/caption>/)![0];
  };
  try {
    const first = await build();
    assert.match(
      first,
      joinRegExp(
        /title="the model hub could not be reached \(Hole: cannot reach 127\.0\.0\.1:\d+ \(no reply\)\)">stand-in for Hole<\/span> /,
        /<span class="ec-reason">\(the model hub could not be reached\)/,
      ),
    );
    assert.equal(s.connections, 1);
    const second = await build();
    assert.equal(second, first, "the page says the same thing");
    assert.equal(s.connections, 1, "the second build made no connection");
  } finally {
    delete process.env.ENCODER_COMPARE_REPLY_TIMEOUT;
  }
});

// ---------------------------------------------------------------------------------------------
// A file is kept and pinned only when it is what it claims
// ---------------------------------------------------------------------------------------------

test("BiT weights answered by a captive portal: not kept, not pinned, stand-in; verify refuses; re-download works", { timeout: 30_000 }, async () => {
  const bit = MODEL_ENCODERS[1];
  const weightsPath = new URL((bit.source as { weights: { url: string } }).weights.url).pathname;
  const s = await server({ [weightsPath]: serve(CAPTIVE_PORTAL) });
  const dataset = path.join(WORK, "dataset-bit");
  mkdirSync(dataset, { recursive: true });
  for (const code of ["1f436", "1f431"]) copyFileSync(EMOJI(code), path.join(dataset, `${code}.png`));
  const models = tempDir();
  const warnings: string[] = [];
  const engine = testEngine(models, { modelsDir: models, offline: false, modelBaseUrl: s.origin, warn: (w) => warnings.push(w) });
  const result = await engine.query("bit-m-r50x1", dataset, path.join(dataset, "1f436.png"), { k: 1, includeSelf: false });
  await engine.close();
  assert.equal(result.standInFor?.spec.id, "bit-m-r50x1");
  assert.match(result.standInFor!.reason, /did not send a valid safetensors weights for the bit-resnetv2 converter/);
  assert.match(warnings.join("\n"), /not a valid safetensors file: .*an HTML page/);
  assert.equal(existsSync(cachedFilePath(models, modelFileRequests(bit)[0]!.url)), false);
  assert.equal(existsSync(path.join(models, "models.lock.json")), false);

  const env = { ...process.env, ENCODER_COMPARE_MODELS_DIR: models, ENCODER_COMPARE_MODEL_BASE_URL: s.origin };
  const out: string[] = [];
  const err: string[] = [];
  const stream = (into: string[]) => ({ write: (chunk: string) => into.push(chunk) });
  // Nothing was kept, so there is nothing to verify (and nothing that could pass as verified).
  assert.equal(await cli(["models", "verify", "bit-m-r50x1"], stream(out), stream(err), env), 0);
  assert.match(out.join(""), /not downloaded, nothing to verify/);
  out.length = 0;

  // The mirror now has the real file: the advice (`models pull`) works although the failure is remembered.
  s.route(weightsPath, serve(BIT_FIXTURE));
  assert.equal(await cli(["models", "pull", "bit-m-r50x1"], stream(out), stream(err), env), 0, err.join(""));
  assert.equal(await cli(["models", "verify", "bit-m-r50x1"], stream(out), stream(err), env), 0, out.join(""));
  const lock = JSON.parse(readFileSync(path.join(models, "models.lock.json"), "utf8"));
  assert.equal(lock.models["bit-m-r50x1"]["model.safetensors"].sha256, sha256(BIT_FIXTURE));
});

test("a garbage file pinned by an older version: verify says so, a build replaces it and re-pins the real one", { timeout: 30_000 }, async () => {
  const bit = MODEL_ENCODERS[1];
  const weights = (bit.source as { weights: { url: string } }).weights.url;
  const s = await server({ [new URL(weights).pathname]: serve(BIT_FIXTURE) });
  const models = tempDir();
  mkdirSync(path.dirname(cachedFilePath(models, weights)), { recursive: true });
  writeFileSync(cachedFilePath(models, weights), CAPTIVE_PORTAL);
  const entry = { url: weights, sha256: sha256(CAPTIVE_PORTAL), bytes: CAPTIVE_PORTAL.length, recordedAt: "2026-01-01T00:00:00.000Z" };
  writeFileSync(path.join(models, "models.lock.json"), JSON.stringify({ lockfileVersion: 1, models: { "bit-m-r50x1": { "model.safetensors": entry } } }));
  const env = { ...process.env, ENCODER_COMPARE_MODELS_DIR: models, ENCODER_COMPARE_MODEL_BASE_URL: s.origin };
  const out: string[] = [];
  const sink = { write: (chunk: string) => out.push(chunk) };

  assert.equal(await cli(["models", "verify", "bit-m-r50x1"], sink, sink, env), 1);
  assert.match(out.join(""), /bit-m-r50x1: not a valid safetensors weights for the bit-resnetv2 converter/);

  const lines: string[] = [];
  const file = await ensureModelFile(
    { id: "bit-m-r50x1", url: weights, fileName: "model.safetensors", format: CONVERTERS["bit-resnetv2"]!.weightsFormat },
    quiet(models, { baseUrl: s.origin, log: (l) => lines.push(l) }),
  );
  assert.equal(file.sha256, sha256(BIT_FIXTURE));
  assert.match(lines.join("\n"), /the cached file is not usable .*; removing it and downloading it again/);
  const lock = JSON.parse(readFileSync(path.join(models, "models.lock.json"), "utf8"));
  assert.equal(lock.models["bit-m-r50x1"]["model.safetensors"].sha256, sha256(BIT_FIXTURE));
});

test("a converter that fails on cached weights makes the model unavailable (stand-in), not a crashed build", async () => {
  const s = await server({ "/w.safetensors": serve(BIT_FIXTURE) });
  CONVERTERS["test-fails"] = {
    version: 1,
    convert: () => {
      throw new Error("unsupported layout");
    },
    weightsFormat: { kind: "safetensors", purpose: "a converter that always fails" },
  };
  const dataset = path.join(WORK, "dataset-conv");
  mkdirSync(dataset, { recursive: true });
  copyFileSync(EMOJI("1f436"), path.join(dataset, "1f436.png"));
  copyFileSync(EMOJI("1f431"), path.join(dataset, "1f431.png"));
  const spec: EncoderSpec = {
    ...MODEL_ENCODERS[1],
    id: "conv",
    label: "Conv",
    source: { kind: "converted", converter: "test-fails", weights: { url: `${s.origin}/w.safetensors`, fileName: "w.safetensors" } },
  };
  const models = tempDir();
  const warnings: string[] = [];
  const engine = testEngine(models, { modelsDir: models, offline: false, warn: (w) => warnings.push(w) }, [spec]);
  try {
    const result = await engine.query("conv", dataset, path.join(dataset, "1f436.png"), { k: 1, includeSelf: false });
    assert.equal(result.standInFor?.spec.id, "conv");
    assert.equal(result.standInFor?.reason, "cannot convert its weights (test-fails)");
  } finally {
    await engine.close();
    delete CONVERTERS["test-fails"];
  }
});

// ---------------------------------------------------------------------------------------------
// The importer: one bad record is reported and skipped
// ---------------------------------------------------------------------------------------------

test("the meme importer reports and skips bad records (malformed URL, bad field, non-image, oversize) and imports the rest", async () => {
  const png = readFileSync(EMOJI("1f436"));
  const s = await server({
    "/img/ok.png": serve(png),
    "/img/bad%E0%A4%A.png": serve(png),
    "/img/page.png": serve(CAPTIVE_PORTAL),
    "/img/huge.png": endlessChunks(),
  });
  const host = `//127.0.0.1:${new URL(s.origin).port}`;
  s.route("/memes.json", serve(Buffer.from(JSON.stringify([
    {
      name: "Doge",
      generated_memes: [
        { image_url: `${host}/img/ok.png`, caption_text: "fine" },
        { image_url: `${host}/img/bad%E0%A4%A.png`, caption_text: "malformed escape" },
        { image_url: { nested: true }, caption_text: "bad field" },
        { image_url: `${host}/img/page.png`, caption_text: "html" },
        { image_url: `${host}/img/huge.png`, caption_text: "endless" },
        { image_url: "http://[not a host/x.png", caption_text: "unparseable" },
      ],
    },
  ]))));
  const outDir = tempDir();
  const { result, lines } = await importForTest(outDir, `${s.origin}/memes.json`, { limit: 100, seed: 42 });
  assert.equal(result.sampled, 6);
  assert.equal(result.downloaded, 2, "ok.png and the one with the malformed escape (fetched as written)");
  const reasons = result.failed.map((f) => f.reason).sort();
  assert.equal(reasons.length, 4);
  assert.ok(reasons.some((r) => /above the 100000-byte limit/.test(r)), reasons.join("\n"));
  assert.ok(reasons.some((r) => /^not an image/.test(r)), reasons.join("\n"));
  assert.equal(reasons.filter((r) => /no image URL in memes\.json|is not valid/.test(r)).length, 2, reasons.join("\n"));
  const report = JSON.parse(readFileSync(path.join(outDir, "import-report.json"), "utf8"));
  assert.equal(report.failed.length, 4);
  assert.ok(readdirSync(path.join(outDir, "images")).some((f) => f.startsWith("bad")), "the malformed-escape record keeps a safe id");
});
