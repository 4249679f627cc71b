// Why a model cannot be had travels as a kind from the model loader to every surface: real faults (a loopback server,
// a closed port, offline mode, a blocked cache, a missing file) give ModelUnavailableErrors whose kind the renderer
// words, with no reading back of the technical reason. The words are those pages have always shown for each fault.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cachedFilePath } from "../../plugins/encoder-compare/models/cache-layout.ts";
import { ensureModelFile, ModelUnavailableError, type EnsureOptions, type ModelFileRequest } from "../../plugins/encoder-compare/models/download.ts";
import type { ModelUnavailableKind } from "../../plugins/encoder-compare/models/model-file.ts";
import { resolveModel } from "../../plugins/encoder-compare/models/resolve.ts";
import { memoPath } from "../../plugins/encoder-compare/models/unavailable-memo.ts";
import { asRun, describeRun, standInNotice } from "../../plugins/encoder-compare/render/encoder-run.ts";
import { requestedRun } from "../../plugins/encoder-compare/render/requested-run.ts";
import { startLoopbackServer, type LoopbackServer } from "../support/loopback-server.ts";
import { unavailable } from "../support/model-unavailable.ts";

const BODY = randomBytes(64 * 1024);
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

let server: LoopbackServer;
let closedOrigin = "";
let root = "";
let n = 0;
/** A fresh models folder per case, so no case sees another's cache or remembered failure. */
const freshDir = () => join(root, `models-${++n}`);
const options = (dir: string, extra: Partial<EnsureOptions> = {}): EnsureOptions => ({ dir, progress: "none", retryDelayMs: 10, lockPollMs: 20, ...extra });
const request = (url: string, extra: Partial<ModelFileRequest> = {}): ModelFileRequest => ({
  id: "test-model",
  url,
  fileName: "model.onnx",
  sha256: sha256(BODY),
  bytes: BODY.length,
  ...extra,
});


/** What a page says about a stand-in that ran because of `error`: the caption's reason, its title and the banner. */
function pageWords(error: ModelUnavailableError): { reason: string; title: string; banner: string } {
  const standInFor = { spec: { id: "clip-vit-b32", label: "CLIP ViT-B/32" }, kind: error.kind, reason: error.reason };
  const run = requestedRun("clip-vit-b32", { spec: { id: "pixels", label: "pixels (16×16 thumbnail)" }, standInFor });
  const display = describeRun(asRun(run));
  return { reason: display.reason, title: /title="([^"]*)"/.exec(display.html)![1], banner: standInNotice([run.standingInFor!])!.text };
}

function assertWorded(error: ModelUnavailableError, kind: ModelUnavailableKind, words: string): void {
  assert.equal(error.kind, kind, `${error.reason}`);
  const shown = pageWords(error);
  assert.equal(shown.reason, words);
  // The technical reason stays the detail, beside the words and never instead of them.
  assert.equal(shown.title, `${words} (CLIP ViT-B/32: ${error.reason.replaceAll("&", "&amp;").replaceAll('"', "&quot;")})`);
  assert.equal(shown.banner, `Built with stand-ins for CLIP ViT-B/32: ${words}, so their tables show simple built-in encoders instead.`);
}

describe("a model's unavailability, from the loader's fault to the page's words", () => {
  before(async () => {
    root = mkdtempSync(join(tmpdir(), "ec-unavailable-kinds-"));
    server = await startLoopbackServer();
    server.route("/model.onnx", (_req, res) => {
      res.writeHead(200, { "content-length": BODY.length });
      res.end(BODY);
    });
    server.route("/other.onnx", (_req, res) => {
      const other = randomBytes(BODY.length);
      res.writeHead(200, { "content-length": other.length });
      res.end(other);
    });
    server.route("/loop.onnx", (_req, res) => {
      res.writeHead(302, { location: "/loop.onnx" });
      res.end();
    });
    server.route("/dropped.onnx", (_req, res) => {
      res.writeHead(200, { "content-length": BODY.length });
      res.write(BODY.subarray(0, 1000), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const closed = await startLoopbackServer();
    closedOrigin = closed.origin;
    await closed.close();
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  test("offline, not in the cache", async () => {
    const error = await unavailable(ensureModelFile(request(`${server.origin}/model.onnx`), options(freshDir(), { offline: true })));
    assertWorded(error, "offline-not-cached", "the build ran offline and the model was not in the cache");
  });

  test("offline, with a cached file that is not the pinned one", async () => {
    const dir = freshDir();
    const url = `${server.origin}/model.onnx`;
    mkdirSync(dirname(cachedFilePath(dir, url)), { recursive: true });
    writeFileSync(cachedFilePath(dir, url), randomBytes(BODY.length));
    const error = await unavailable(ensureModelFile(request(url), options(dir, { offline: true })));
    assertWorded(error, "offline-cache-unusable", "the build ran offline and the cached model file could not be used");
  });

  test("the host answers 404", async () => {
    const error = await unavailable(ensureModelFile(request(`${server.origin}/missing.onnx`), options(freshDir())));
    assertWorded(error, "http-status", "the model hub did not serve the file");
  });

  test("nothing listens at the host's port", async () => {
    const error = await unavailable(ensureModelFile(request(`${closedOrigin}/model.onnx`), options(freshDir())));
    assertWorded(error, "unreachable", "the model hub could not be reached");
  });

  test("the file is not the pinned one", async () => {
    const error = await unavailable(ensureModelFile(request(`${server.origin}/other.onnx`), options(freshDir())));
    assertWorded(error, "checksum-mismatch", "the downloaded model did not match its pinned checksum");
  });

  test("the cache cannot be written (the download lands on a full disk)", async (t) => {
    if (!existsSync("/dev/full")) return t.skip("no /dev/full");
    const dir = freshDir();
    const url = `${server.origin}/model.onnx`;
    mkdirSync(dirname(cachedFilePath(dir, url)), { recursive: true });
    symlinkSync("/dev/full", `${cachedFilePath(dir, url)}.part`);
    const error = await unavailable(ensureModelFile(request(url), options(dir)));
    assertWorded(error, "cache-unwritable", "the model cache could not be written");
  });

  test("a model file named by path that is not there", async () => {
    const spec = { id: "local", label: "Local", source: { kind: "file", path: "no-such-model.onnx" } } as Parameters<typeof resolveModel>[0];
    const error = await unavailable(resolveModel(spec, { projectRoot: root, modelsDir: freshDir(), offline: true }));
    assertWorded(error, "unreadable", "the model file could not be read");
  });

  test("faults of the download itself share the general words, each with its own kind", async () => {
    const unpinned = { sha256: undefined, bytes: undefined };
    const onnx = { kind: "onnx" as const, inputName: "pixel_values", outputName: "embeddings" };
    const cases: Array<[ModelUnavailableKind, ModelFileRequest, Partial<EnsureOptions>]> = [
      ["refused-url", request("http://example.com/model.onnx"), {}],
      ["too-many-redirects", request(`${server.origin}/loop.onnx`), {}],
      ["too-large", request(`${server.origin}/model.onnx`, { ...unpinned, maxBytes: 1000 }), {}],
      ["connection-lost", request(`${server.origin}/dropped.onnx`), { retries: 0 }],
      ["invalid-file", request(`${server.origin}/model.onnx`, { ...unpinned, format: onnx }), {}],
    ];
    for (const [kind, req, extra] of cases) {
      const error = await unavailable(ensureModelFile(req, options(freshDir(), extra)));
      assertWorded(error, kind, "the model could not be downloaded");
    }
  });

  test("a remembered failure keeps its kind; one remembered without a kind is tried again", async () => {
    const dir = freshDir();
    const url = `${server.origin}/flaky.onnx`;
    let tries = 0;
    server.route("/flaky.onnx", (_req, res) => {
      tries++;
      res.writeHead(tries === 1 ? 503 : 200, { "content-length": tries === 1 ? 0 : BODY.length });
      res.end(tries === 1 ? undefined : BODY);
    });
    const first = await unavailable(ensureModelFile(request(url), options(dir)));
    assertWorded(first, "http-status", "the model hub did not serve the file");
    const again = await unavailable(ensureModelFile(request(url), options(dir)));
    assert.equal(tries, 1, "remembered: not asked again");
    assertWorded(again, "http-status", "the model hub did not serve the file");
    assert.match(again.note ?? "", /not tried again/);
    // A memo from a version that did not record the kind: the failure is not worded from its text but tried again.
    const memo = JSON.parse(readFileSync(memoPath(cachedFilePath(dir, url)), "utf8"));
    assert.equal(memo.kind, "http-status");
    delete memo.kind;
    writeFileSync(memoPath(cachedFilePath(dir, url)), JSON.stringify(memo));
    const fetched = await ensureModelFile(request(url), options(dir));
    assert.equal(tries, 2);
    assert.equal(fetched.sha256, sha256(BODY));
  });
});
