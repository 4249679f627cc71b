// Model download, verification and cache, against a loopback HTTP server (no real network).

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";

import { modelsDir } from "../../plugins/encoder-compare/models/cache-dir.ts";
import { cachedFilePath } from "../../plugins/encoder-compare/models/cache-layout.ts";
import { startLoopbackServer } from "../support/loopback-server.ts";
import {
  effectiveUrl,
  ensureModelFile,
  ModelUnavailableError,
  verifyModelFile,
  type EnsureOptions,
  type ModelFileRequest,
} from "../../plugins/encoder-compare/models/download.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const MODEL_BYTES = randomBytes(3 * 1024 * 1024 + 4321);
// A few bytes shaped like the start of an ONNX protobuf (ir_version, producer_name).
const ONNX_BLOB = Buffer.concat([Buffer.from([0x08, 0x07, 0x12, 0x0b]), Buffer.from("onnx.export"), randomBytes(2048)]);

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

interface SeenRequest {
  path: string;
  range?: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, nth: number) => void;

interface TestServer {
  origin: string;
  requests: SeenRequest[];
  route(path: string, handler: Handler): void;
  hits(path?: string): number;
}

async function startServer(t: TestContext): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const seen = (req: IncomingMessage) => requests.push({ path: req.url ?? "/", range: req.headers.range });
  const server = await startLoopbackServer({}, (req, res) => {
    seen(req);
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  });
  t.after(() => server.close());
  return {
    origin: server.origin,
    requests,
    route: (path, handler) =>
      server.route(path, (req, res, nth) => {
        seen(req);
        handler(req, res, nth);
      }),
    hits: (path) => (path === undefined ? requests.length : requests.filter((r) => r.path.split("?")[0] === path).length),
  };
}

interface ServeOptions {
  ignoreRange?: boolean;
  /** Send this many body bytes, then destroy the socket. */
  dropAfter?: number;
  /** Send this many body bytes, then go silent (never end). */
  stallAfter?: number;
}

/** Serves `body` with Range support; the options misbehave the way real servers do. */
function sendBody(req: IncomingMessage, res: ServerResponse, body: Buffer, options: ServeOptions = {}): void {
  let start = 0;
  const range = req.headers.range;
  if (range && !options.ignoreRange) {
    const match = /^bytes=(\d+)-$/.exec(range);
    assert.ok(match, `unexpected Range header ${range}`);
    start = Number(match[1]);
    if (start >= body.length) {
      res.writeHead(416, { "content-range": `bytes */${body.length}` });
      res.end();
      return;
    }
    res.writeHead(206, {
      "content-length": body.length - start,
      "content-range": `bytes ${start}-${body.length - 1}/${body.length}`,
    });
  } else {
    res.writeHead(200, { "content-length": body.length });
  }
  const rest = body.subarray(start);
  if (options.dropAfter !== undefined) {
    res.write(rest.subarray(0, options.dropAfter), () => setTimeout(() => res.socket?.destroy(), 20));
  } else if (options.stallAfter !== undefined) {
    res.write(rest.subarray(0, options.stallAfter));
  } else {
    res.end(rest);
  }
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "encoder-compare-download-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function pinned(server: TestServer, path = "/model.onnx", body = MODEL_BYTES): ModelFileRequest {
  return { id: "test-model", url: `${server.origin}${path}`, fileName: "model.onnx", sha256: sha256(body), bytes: body.length };
}

function quiet(dir: string, extra: Partial<EnsureOptions> = {}): EnsureOptions {
  return { dir, progress: "none", retryDelayMs: 10, lockPollMs: 20, ...extra };
}

async function rejectsUnavailable(promise: Promise<unknown>, reason: RegExp): Promise<ModelUnavailableError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ModelUnavailableError, `expected ModelUnavailableError, got ${String(error)}`);
    assert.match(error.reason, reason);
    assert.equal(error.modelId, "test-model");
    return error;
  }
  assert.fail("expected the call to reject");
}

/** Where `pinned(server)` lands: the cache layout of its URL. */
const finalPath = (dir: string, server: { origin: string }, path = "/model.onnx") => cachedFilePath(dir, `${server.origin}${path}`);

// ---------------------------------------------------------------------------------------------
// Download and cache
// ---------------------------------------------------------------------------------------------

test("downloads, verifies and places the file atomically", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);
  const lines: string[] = [];

  const result = await ensureModelFile(pinned(server), { ...quiet(dir), progress: "auto", log: (l) => lines.push(l) });

  assert.deepEqual(result, { path: finalPath(dir, server), sha256: sha256(MODEL_BYTES), bytes: MODEL_BYTES.length, downloaded: true });
  assert.ok((await readFile(result.path)).equals(MODEL_BYTES));
  assert.equal(existsSync(`${result.path}.part`), false);
  assert.equal(existsSync(`${result.path}.lock`), false);
  assert.equal(existsSync(`${result.path}.verified`), true);
  assert.equal(existsSync(join(dir, "models.lock.json")), false, "a pinned model records nothing");
  assert.equal(lines.length, 2, "one line at start and one at end when stderr is not a TTY");
  assert.match(lines[0]!, /test-model\/model\.onnx: downloading \(3\.2 MB\)/);
  assert.match(lines[1]!, /downloaded 3\.2 MB in/);
  assert.deepEqual(await verifyModelFile(pinned(server), { dir }), {
    ok: true,
    path: result.path,
    sha256: result.sha256,
    bytes: result.bytes,
  });
});

test("downloads a small ONNX blob unpinned and records it", async (t) => {
  const server = await startServer(t);
  server.route("/tiny.onnx", (req, res) => sendBody(req, res, ONNX_BLOB));
  const dir = await tempDir(t);
  const result = await ensureModelFile(
    { id: "test-model", url: `${server.origin}/tiny.onnx`, fileName: "model.onnx" },
    quiet(dir),
  );
  assert.equal(result.sha256, sha256(ONNX_BLOB));
  assert.ok((await readFile(result.path)).equals(ONNX_BLOB));
});

test("a warm call trusts the sidecar and never touches the network", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);
  const req = pinned(server);
  await ensureModelFile(req, quiet(dir));
  assert.equal(server.hits(), 1);

  const second = await ensureModelFile(req, quiet(dir));
  assert.equal(second.downloaded, false);
  assert.equal(second.sha256, sha256(MODEL_BYTES));
  assert.equal(server.hits(), 1);

  // Same size and mtime: the sidecar's hash is trusted without reading 3 MB (that is the point).
  const file = finalPath(dir, server);
  const fixed = new Date(1_700_000_000_000);
  await utimes(file, fixed, fixed);
  await ensureModelFile(req, quiet(dir)); // mtime changed: re-hashed, still valid, sidecar rewritten
  const tampered = Buffer.from(MODEL_BYTES);
  tampered[1000] = tampered[1000]! ^ 0xff;
  await writeFile(file, tampered);
  await utimes(file, fixed, fixed);
  assert.equal((await ensureModelFile(req, quiet(dir))).downloaded, false);
  const rehashed = await verifyModelFile(req, { dir, rehash: true });
  assert.equal(rehashed.ok, false);
  assert.match(rehashed.problem!, /sha256 is [0-9a-f]{64}, expected/);

  // A changed mtime forces a re-hash, which finds the damage and fetches the file again.
  await utimes(file, new Date(), new Date());
  const repaired = await ensureModelFile(req, quiet(dir));
  assert.equal(repaired.downloaded, true);
  assert.equal(server.hits(), 2);
  assert.ok((await readFile(file)).equals(MODEL_BYTES));
});

test("resumes with a Range request after the server drops the connection", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res, nth) => sendBody(req, res, MODEL_BYTES, nth === 1 ? { dropAfter: 1_000_000 } : {}));
  const dir = await tempDir(t);
  const lines: string[] = [];

  const result = await ensureModelFile(pinned(server), { ...quiet(dir), log: (l) => lines.push(l) });

  assert.equal(server.hits(), 2);
  assert.equal(server.requests[0]!.range, undefined);
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(server.requests[1]!.range ?? "")?.[1]);
  assert.ok(resumedAt > 0 && resumedAt <= 1_000_000, `second request resumes mid-file, got ${server.requests[1]!.range}`);
  assert.equal(result.sha256, sha256(MODEL_BYTES));
  assert.ok((await readFile(result.path)).equals(MODEL_BYTES));
  assert.ok(lines.some((l) => /connection dropped.*resuming from/.test(l)), lines.join("\n"));
});

test("with no retries a dropped connection fails, keeps the part, and a later call resumes", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res, nth) => sendBody(req, res, MODEL_BYTES, nth === 1 ? { dropAfter: 500_000 } : {}));
  const dir = await tempDir(t);

  const error = await rejectsUnavailable(ensureModelFile(pinned(server), quiet(dir, { retries: 0 })), /^download interrupted$/);
  assert.match(error.message, /run the build .* again to resume/);
  assert.equal(existsSync(finalPath(dir, server)), false);
  const partSize = (await stat(`${finalPath(dir, server)}.part`)).size;
  assert.ok(partSize > 0);

  const result = await ensureModelFile(pinned(server), quiet(dir, { retries: 0 }));
  assert.equal(server.requests[1]!.range, `bytes=${partSize}-`);
  assert.equal(result.sha256, sha256(MODEL_BYTES));
});

test("a 200 reply to a Range request starts over", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES, { ignoreRange: true }));
  const dir = await tempDir(t);
  await mkdir(dirname(finalPath(dir, server)), { recursive: true });
  await writeFile(`${finalPath(dir, server)}.part`, randomBytes(4096)); // not a prefix of the model

  const result = await ensureModelFile(pinned(server), quiet(dir));

  assert.equal(server.requests.at(-1)!.range, "bytes=4096-");
  assert.equal(result.sha256, sha256(MODEL_BYTES));
  assert.ok((await readFile(result.path)).equals(MODEL_BYTES));
});

test("416 for a complete part file places it; for a bad one starts over", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);
  await mkdir(dirname(finalPath(dir, server)), { recursive: true });
  const part = `${finalPath(dir, server)}.part`;

  await writeFile(part, MODEL_BYTES);
  const complete = await ensureModelFile(pinned(server), quiet(dir));
  assert.equal(complete.downloaded, true);
  assert.equal(server.hits("/model.onnx"), 1, "only the 416 probe");

  await rm(finalPath(dir, server));
  await writeFile(part, randomBytes(MODEL_BYTES.length)); // right size, wrong bytes
  const redone = await ensureModelFile(pinned(server), quiet(dir));
  assert.equal(redone.sha256, sha256(MODEL_BYTES));
  assert.equal(server.requests.at(-1)!.range, undefined, "the restart asks for the whole file");
});

test("a wrong sha256 fails and leaves nothing in the cache", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);
  const req = { ...pinned(server), sha256: "0".repeat(64) };

  const error = await rejectsUnavailable(ensureModelFile(req, quiet(dir)), /^sha256 mismatch$/);

  assert.match(error.message, /test-model/);
  assert.match(error.message, /\/model\.onnx/);
  assert.match(error.message, new RegExp(sha256(MODEL_BYTES)));
  assert.equal(existsSync(finalPath(dir, server)), false);
  assert.equal(existsSync(`${finalPath(dir, server)}.part`), false);
  assert.equal(existsSync(`${finalPath(dir, server)}.lock`), false);
  assert.equal(existsSync(join(dir, "models.lock.json")), false);
});

test("a wrong pinned size fails before the body is downloaded", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);
  await rejectsUnavailable(ensureModelFile({ ...pinned(server), bytes: 123 }, quiet(dir)), /^size mismatch$/);
  assert.equal(existsSync(finalPath(dir, server)), false);
  assert.equal(existsSync(`${finalPath(dir, server)}.part`), false);
});

test("HTTP 404 is a ModelUnavailableError naming the status and URL", async (t) => {
  const server = await startServer(t);
  const dir = await tempDir(t);
  const error = await rejectsUnavailable(
    ensureModelFile(pinned(server, "/missing.onnx"), quiet(dir)),
    new RegExp(`^HTTP 404 from ${server.origin}/missing\\.onnx$`),
  );
  assert.match(error.message, /ENCODER_COMPARE_MODEL_BASE_URL/);
  assert.equal(existsSync(finalPath(dir, server)), false);
});

test("offline never touches the network: cached file served, missing file unavailable", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);
  const req = pinned(server);

  const error = await rejectsUnavailable(ensureModelFile(req, quiet(dir, { offline: true })), /^offline and not in the cache$/);
  assert.match(error.message, new RegExp(finalPath(dir, server).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  assert.equal(server.hits(), 0);

  await ensureModelFile(req, quiet(dir));
  const cached = await ensureModelFile(req, quiet(dir, { offline: true }));
  assert.equal(cached.downloaded, false);
  assert.equal(cached.path, finalPath(dir, server));
  assert.equal(server.hits(), 1);

  await writeFile(finalPath(dir, server), randomBytes(MODEL_BYTES.length));
  await rejectsUnavailable(ensureModelFile(req, quiet(dir, { offline: true })), /^offline and the cached file is invalid$/);
  assert.equal(server.hits(), 1);
});

test("models.lock.json records an unpinned download and enforces it later", async (t) => {
  const server = await startServer(t);
  let body = MODEL_BYTES;
  server.route("/model.onnx", (req, res) => sendBody(req, res, body));
  const dir = await tempDir(t);
  const req: ModelFileRequest = { id: "test-model", url: `${server.origin}/model.onnx`, fileName: "model.onnx" };

  await ensureModelFile(req, quiet(dir));
  const lock = JSON.parse(await readFile(join(dir, "models.lock.json"), "utf8"));
  const entry = lock.models["test-model"]["model.onnx"];
  assert.equal(entry.url, req.url);
  assert.equal(entry.sha256, sha256(MODEL_BYTES));
  assert.equal(entry.bytes, MODEL_BYTES.length);
  assert.ok(!Number.isNaN(Date.parse(entry.recordedAt)));

  // Offline afterwards: the lock entry is the pin.
  assert.equal((await ensureModelFile(req, quiet(dir, { offline: true }))).sha256, sha256(MODEL_BYTES));

  // Upstream changes (same size, other bytes) and the cache is gone: refused, nothing cached.
  body = randomBytes(MODEL_BYTES.length);
  await rm(finalPath(dir, server));
  const error = await rejectsUnavailable(ensureModelFile(req, quiet(dir)), /^sha256 mismatch with models\.lock\.json$/);
  assert.match(error.message, /--update-lock test-model/);
  assert.match(error.message, /delete models\["test-model"\]\["model\.onnx"\]/);
  assert.equal(existsSync(finalPath(dir, server)), false);
  assert.equal(existsSync(`${finalPath(dir, server)}.part`), false);

  // Accepting the new file re-records the pin.
  const updated = await ensureModelFile(req, quiet(dir, { updateLock: true }));
  assert.equal(updated.sha256, sha256(body));
  const relocked = JSON.parse(await readFile(join(dir, "models.lock.json"), "utf8"));
  assert.equal(relocked.models["test-model"]["model.onnx"].sha256, sha256(body));
});

test("http to a non-loopback host is refused, also after a redirect", async (t) => {
  const server = await startServer(t);
  server.route("/hop", (_req, res) => {
    res.writeHead(302, { location: "http://models.example.org/model.onnx" });
    res.end();
  });
  const dir = await tempDir(t);

  for (const url of ["http://models.example.org/model.onnx", "http://192.168.1.20/model.onnx", "ftp://127.0.0.1/model.onnx"]) {
    const error = await rejectsUnavailable(ensureModelFile({ ...pinned(server), url }, quiet(dir)), /^insecure URL refused/);
    assert.match(error.message, /only https URLs are allowed/);
  }
  const viaMirror = await rejectsUnavailable(
    ensureModelFile(pinned(server), quiet(dir, { baseUrl: "http://mirror.example.org" })),
    /^insecure URL refused/,
  );
  assert.match(viaMirror.message, /mirror\.example\.org/);
  const redirected = await rejectsUnavailable(ensureModelFile(pinned(server, "/hop"), quiet(dir)), /^insecure URL refused/);
  assert.match(redirected.message, /redirected from/);
  assert.equal(server.hits(), 1);
});

test("a mirror base URL replaces the origin and keeps the path", async (t) => {
  const server = await startServer(t);
  server.route("/mirror/Org/repo/resolve/abc123/onnx/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);
  const req = {
    ...pinned(server),
    url: "https://huggingface.co/Org/repo/resolve/abc123/onnx/model.onnx?download=true",
  };

  const result = await ensureModelFile(req, quiet(dir, { baseUrl: `${server.origin}/mirror/` }));

  assert.equal(result.sha256, sha256(MODEL_BYTES));
  assert.deepEqual(server.requests.map((r) => r.path), ["/mirror/Org/repo/resolve/abc123/onnx/model.onnx?download=true"]);
  assert.equal(effectiveUrl("https://hub.example/a/b.onnx", "https://m.example"), "https://m.example/a/b.onnx");
  assert.equal(effectiveUrl("https://hub.example/a/b.onnx", undefined), "https://hub.example/a/b.onnx");
  assert.throws(() => effectiveUrl("https://hub.example/a", "not a url"), /ENCODER_COMPARE_MODEL_BASE_URL/);
});

test("redirects are followed (up to 5)", async (t) => {
  const server = await startServer(t);
  server.route("/hub/model.onnx", (_req, res) => {
    res.writeHead(302, { location: "/cdn/model.onnx?signature=secret" });
    res.end();
  });
  server.route("/cdn/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  server.route("/loop", (_req, res) => {
    res.writeHead(307, { location: "/loop" });
    res.end();
  });
  const dir = await tempDir(t);

  const result = await ensureModelFile(pinned(server, "/hub/model.onnx"), quiet(dir));
  assert.equal(result.sha256, sha256(MODEL_BYTES));
  assert.deepEqual(server.requests.map((r) => r.path), ["/hub/model.onnx", "/cdn/model.onnx?signature=secret"]);

  const error = await rejectsUnavailable(ensureModelFile({ ...pinned(server, "/loop"), fileName: "other.onnx" }, quiet(dir)), /^too many redirects$/);
  assert.doesNotMatch(error.message, /secret/);
  assert.equal(server.hits("/loop"), 6);
});

test("concurrent calls for the same file share one download", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);

  const results = await Promise.all([1, 2, 3].map(() => ensureModelFile(pinned(server), quiet(dir))));

  assert.equal(server.hits(), 1);
  for (const result of results) assert.equal(result.sha256, sha256(MODEL_BYTES));
});

test("one caller aborting does not cancel a download another caller waits for", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => setTimeout(() => sendBody(req, res, MODEL_BYTES), 100));
  const dir = await tempDir(t);
  const controller = new AbortController();

  const aborted = ensureModelFile(pinned(server), quiet(dir, { signal: controller.signal }));
  const kept = ensureModelFile(pinned(server), quiet(dir));
  controller.abort();

  await assert.rejects(aborted, { name: "AbortError" });
  assert.equal((await kept).sha256, sha256(MODEL_BYTES));
  assert.equal(server.hits(), 1);
});

test("an abort signal stops a download and keeps the part file", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES, { stallAfter: 200_000 }));
  const dir = await tempDir(t);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);

  await assert.rejects(ensureModelFile(pinned(server), quiet(dir, { signal: controller.signal })), { name: "AbortError" });
  assert.ok((await stat(`${finalPath(dir, server)}.part`)).size > 0);
  assert.equal(existsSync(`${finalPath(dir, server)}.lock`), false);
});

// ---------------------------------------------------------------------------------------------
// Cross-process lock, stalls, progress
// ---------------------------------------------------------------------------------------------

test("waits while another live process holds the download lock", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);
  await mkdir(dirname(finalPath(dir, server)), { recursive: true });
  const lockPath = `${finalPath(dir, server)}.lock`;
  await writeFile(lockPath, JSON.stringify({ pid: process.pid, hostname: hostname(), token: "other", createdAt: "" }));
  const lines: string[] = [];

  const pending = ensureModelFile(pinned(server), { ...quiet(dir), log: (l) => lines.push(l) });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(server.hits("/model.onnx"), 0, "no download while the lock is held");
  assert.ok(lines.some((l) => l.includes(`waiting for pid ${process.pid}`)), lines.join("\n"));
  await rm(lockPath);

  assert.equal((await pending).sha256, sha256(MODEL_BYTES));
  assert.equal(server.hits("/model.onnx"), 1);
});

test("two processes downloading the same file fetch it once", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => setTimeout(() => sendBody(req, res, MODEL_BYTES), 300));
  const dir = await tempDir(t);
  const module = fileURLToPath(new URL("../../plugins/encoder-compare/models/download.ts", import.meta.url));
  const script = `
    import { ensureModelFile } from ${JSON.stringify(module)};
    const result = await ensureModelFile(${JSON.stringify(pinned(server))}, { dir: ${JSON.stringify(dir)}, progress: "none", lockPollMs: 20 });
    process.stdout.write(JSON.stringify(result));
  `;
  const runChild = () =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });

  const children = await Promise.all([runChild(), runChild()]);

  for (const child of children) {
    assert.equal(child.code, 0, child.stderr);
    assert.equal(JSON.parse(child.stdout).sha256, sha256(MODEL_BYTES));
  }
  assert.deepEqual(children.map((c) => JSON.parse(c.stdout).downloaded).sort(), [false, true]);
  assert.equal(server.hits(), 1);
  assert.ok((await readFile(finalPath(dir, server))).equals(MODEL_BYTES));
});

test("a lock held by a dead process, or untouched for too long, is taken over", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);
  await mkdir(dirname(finalPath(dir, server)), { recursive: true });
  const lockPath = `${finalPath(dir, server)}.lock`;

  const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
  await writeFile(lockPath, JSON.stringify({ pid: deadPid, hostname: hostname(), token: "dead", createdAt: "" }));
  await ensureModelFile(pinned(server), quiet(dir));
  assert.equal(existsSync(lockPath), false);

  await rm(finalPath(dir, server));
  await writeFile(lockPath, JSON.stringify({ pid: process.pid, hostname: hostname(), token: "old", createdAt: "" }));
  const old = new Date(Date.now() - 60_000);
  await utimes(lockPath, old, old);
  const result = await ensureModelFile(pinned(server), quiet(dir, { lockStaleMs: 10_000 }));
  assert.equal(result.downloaded, true);
});

test("a stalled connection aborts with a clear error and a later call resumes", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res, nth) => sendBody(req, res, MODEL_BYTES, nth === 1 ? { stallAfter: 300_000 } : {}));
  const dir = await tempDir(t);

  const error = await rejectsUnavailable(
    ensureModelFile(pinned(server), quiet(dir, { stallTimeoutMs: 300, retries: 0 })),
    /^download stalled$/,
  );
  assert.match(error.message, /no data for 0\.3 s/);
  assert.match(error.message, /again to resume/);

  const result = await ensureModelFile(pinned(server), quiet(dir, { stallTimeoutMs: 300 }));
  assert.match(server.requests[1]!.range ?? "", /^bytes=\d+-$/);
  assert.equal(result.sha256, sha256(MODEL_BYTES));
});

test("TTY progress is one updating line with percent, MB, MB/s and ETA", async (t) => {
  const server = await startServer(t);
  server.route("/model.onnx", (req, res) => sendBody(req, res, MODEL_BYTES));
  const dir = await tempDir(t);
  let output = "";
  const lines: string[] = [];

  await ensureModelFile(pinned(server), {
    ...quiet(dir),
    progress: "tty",
    progressOutput: { write: (chunk: string) => (output += chunk) },
    log: (l) => lines.push(l),
  });

  assert.equal(lines.length, 0, "a TTY gets the progress line instead of log lines");
  assert.ok(output.startsWith("\rtest-model/model.onnx"));
  assert.ok(output.endsWith("\n"));
  assert.equal(output.split("\n").length, 2, "a single line, redrawn with \\r");
  const lastDraw = output.trimEnd().split("\r").at(-1)!;
  assert.match(lastDraw, /100\.0%\s+3\.2 MB \/ 3\.2 MB\s+[\d.]+ MB\/s\s+ETA 0:00/);
});

// ---------------------------------------------------------------------------------------------
// Inputs and the models directory
// ---------------------------------------------------------------------------------------------

test("ids and file names cannot escape the models directory", async (t) => {
  const dir = await tempDir(t);
  const req = { id: "../evil", url: "https://example.org/m.onnx", fileName: "m.onnx" };
  await assert.rejects(ensureModelFile(req, quiet(dir)), /cannot be used as a file name/);
  await assert.rejects(ensureModelFile({ ...req, id: "ok", fileName: "a/b.onnx" }, quiet(dir)), /cannot be used as a file name/);
  await assert.rejects(ensureModelFile({ ...req, id: "ok", sha256: "xyz" }, quiet(dir)), /not 64 hex digits/);
});

test("verifyModelFile reports a missing or unpinned file", async (t) => {
  const dir = await tempDir(t);
  const req = { id: "test-model", url: "https://example.org/m.onnx", fileName: "model.onnx" };
  const missing = await verifyModelFile({ ...req, sha256: "a".repeat(64) }, { dir });
  assert.equal(missing.ok, false);
  assert.match(missing.problem!, /does not exist/);

  await mkdir(dirname(cachedFilePath(dir, req.url)), { recursive: true });
  await writeFile(cachedFilePath(dir, req.url), ONNX_BLOB);
  const unpinned = await verifyModelFile(req, { dir });
  assert.equal(unpinned.ok, false);
  assert.match(unpinned.problem!, /no sha256 to check it against/);
});

test("modelsDir: option > env > XDG_CACHE_HOME > ~/.cache, never in node_modules", () => {
  const home = "/home/someone";
  assert.equal(modelsDir({ dir: "/data/models", env: { ENCODER_COMPARE_MODELS_DIR: "/env/models" }, homeDir: home }), "/data/models");
  assert.equal(
    modelsDir({ env: { ENCODER_COMPARE_MODELS_DIR: "/env/models", XDG_CACHE_HOME: "/xdg" }, homeDir: home }),
    "/env/models",
  );
  assert.equal(modelsDir({ env: { XDG_CACHE_HOME: "/xdg" }, homeDir: home }), "/xdg/encoder-compare/models");
  assert.equal(modelsDir({ env: { XDG_CACHE_HOME: "relative" }, homeDir: home }), "/home/someone/.cache/encoder-compare/models");
  assert.equal(modelsDir({ env: {}, homeDir: home }), "/home/someone/.cache/encoder-compare/models");
  assert.equal(modelsDir({ dir: "~/models", env: {}, homeDir: home }), "/home/someone/models");
  assert.equal(modelsDir({ dir: "rel/models", env: {}, homeDir: home }), join(process.cwd(), "rel/models"));
  assert.throws(() => modelsDir({ dir: "/project/node_modules/x", env: {}, homeDir: home }), /inside node_modules/);
  assert.throws(
    () => modelsDir({ env: { ENCODER_COMPARE_MODELS_DIR: "node_modules/.cache/m" }, homeDir: home }),
    /ENCODER_COMPARE_MODELS_DIR/,
  );
});

// ---------------------------------------------------------------------------------------------
// Cache layout: <source>/<revision>/<file>, and caches in the old <id>/<fileName> layout
// ---------------------------------------------------------------------------------------------

test("cache paths come from the URL: source, revision (or _), file; unsafe parts are refused", () => {
  const hf = cachedFilePath("/m", "https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/onnx/vision_model.onnx?download=true");
  assert.equal(hf, join("/m", "huggingface.co", "Xenova", "clip-vit-base-patch32", "main", "onnx", "vision_model.onnx"));
  assert.equal(cachedFilePath("/m", "http://127.0.0.1:8080/a/b.onnx"), join("/m", "127.0.0.1_8080", "a", "_", "b.onnx"));
  assert.equal(cachedFilePath("/m", "http://[::1]:1/b.onnx"), join("/m", "__1_1", "_", "b.onnx"));
  for (const url of [
    "https://h.example/a/%2e%2e%2fx/b.onnx",
    "https://h.example/a/..%2fx/b.onnx",
    "https://h.example/a/resolve/a%5Cb/c.onnx",
    "https://h.example/",
  ]) {
    assert.throws(() => cachedFilePath("/m", url), /Model URL/, url);
  }
});

test("a file in the old <id>/<fileName> layout is moved to the new place once, with its lock entry still used", async (t) => {
  const server = await startServer(t);
  const dir = await tempDir(t);
  const weights = await readFile(fileURLToPath(new URL("../fixtures/bit/tiny-resnetv2.safetensors", import.meta.url)));
  server.route("/bit/model.safetensors", (req, res) => sendBody(req, res, weights));
  const req: ModelFileRequest = { id: "bit-m-r50x1", url: `${server.origin}/bit/model.safetensors`, fileName: "model.safetensors" };
  const legacy = join(dir, "bit-m-r50x1", "model.safetensors");
  await mkdir(dirname(legacy), { recursive: true });
  await writeFile(legacy, weights);
  const entry = { url: req.url, sha256: sha256(weights), bytes: weights.length };
  await writeFile(join(dir, "models.lock.json"), JSON.stringify({ models: { "bit-m-r50x1": { "model.safetensors": entry } } }));

  const lines: string[] = [];
  const found = await ensureModelFile(req, quiet(dir, { offline: true, log: (line) => lines.push(line) }));
  assert.equal(found.path, cachedFilePath(dir, req.url));
  assert.equal(found.downloaded, false);
  assert.equal(existsSync(legacy), false);
  assert.equal(lines.filter((l) => l.startsWith(`moved the cached ${legacy} to ${found.path}`)).length, 1);
  assert.equal((await ensureModelFile(req, quiet(dir, { log: (line) => lines.push(line) }))).downloaded, false);
  assert.equal(lines.length, 1);
  assert.equal(server.hits(), 0);

  const fresh = await tempDir(t);
  const downloaded = await ensureModelFile(req, quiet(fresh));
  assert.deepEqual([downloaded.path, downloaded.downloaded], [cachedFilePath(fresh, req.url), true]);
  assert.equal(existsSync(join(fresh, "bit-m-r50x1")), false);
});
