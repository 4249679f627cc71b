// Downloads from a misbehaving mirror (redirects to files, loops, short bodies, control bytes in a status line)
// and the meme importer's bad records, against loopback servers.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import { cachedFilePath } from "../../plugins/encoder-compare/models/cache-layout.ts";
import { ensureModelFile, ModelUnavailableError } from "../../plugins/encoder-compare/models/download.ts";
import { importForTest } from "../support/import-memes.ts";
import { type LoopbackServer, type Route, startLoopbackServer } from "../support/loopback-server.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/trust-classes-net");
const EMOJI = (code: string) => path.join(ROOT, `node_modules/emoji-datasource-google/img/google/64/${code}.png`);
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const servers: LoopbackServer[] = [];
async function server(routes: Record<string, Route>, fallback?: Route): Promise<LoopbackServer> {
  const s = await startLoopbackServer(routes, fallback);
  servers.push(s);
  return s;
}
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  fs.rmSync(WORK, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  fs.mkdirSync(WORK, { recursive: true });
  return fs.mkdtempSync(path.join(WORK, prefix));
}

describe("downloads from a misbehaving mirror", () => {
  const good = Buffer.alloc(50_000, 3);
  const pinned = { sha256: createHash("sha256").update(good).digest("hex"), bytes: good.length };

  /** ensureModelFile of `route` (pinned to `good`): the error, and what is left in the models folder. */
  async function download(route: Route): Promise<{ error: ModelUnavailableError; part?: number; cached: boolean }> {
    const s = await server({ "/model.onnx": route });
    const dir = tempDir("models-");
    const url = `${s.origin}/model.onnx`;
    try {
      await ensureModelFile({ id: "m", url, fileName: "model.onnx", ...pinned }, { dir, progress: "none", retryDelayMs: 10, lockPollMs: 20 });
    } catch (error) {
      assert.ok(error instanceof ModelUnavailableError, String(error));
      const file = cachedFilePath(dir, url);
      const part = fs.existsSync(`${file}.part`) ? fs.statSync(`${file}.part`).size : undefined;
      return { error, part, cached: fs.existsSync(file) };
    }
    assert.fail("the download should have failed");
  }

  test("a redirect to file:///etc/passwd is refused and shown as that URL", async () => {
    const { error, cached } = await download((_req, res) => res.writeHead(302, { location: "file:///etc/passwd" }).end());
    assert.match(error.message, /refusing to download model\.onnx from file:\/\/\/etc\/passwd \(redirected from http:\/\/127\.0\.0\.1:\d+\/model\.onnx\)/);
    assert.equal(cached, false);
  });

  test("a redirect loop, a redirect to plain http elsewhere, a 1 TB content-length: refused, nothing kept", async () => {
    const cases: Array<[Route, string, RegExp]> = [
      [(_req, res) => res.writeHead(302, { location: "/model.onnx?again" }).end(), "too many redirects", /redirected more than 5 times/],
      [
        (_req, res) => res.writeHead(301, { location: "http://mirror.example/model.onnx" }).end(),
        "insecure URL refused: http://mirror.example/model.onnx",
        /only https URLs/,
      ],
      [(_req, res) => res.writeHead(200, { "content-length": 10 ** 12 }).end(), "size mismatch", /declares 1000000000000 bytes, above the 50000-byte limit/],
    ];
    for (const [route, reason, message] of cases) {
      const { error, part, cached } = await download(route);
      assert.equal(error.reason, reason);
      assert.match(error.message, message);
      assert.equal(part, undefined, reason);
      assert.equal(cached, false, reason);
    }
  });

  test("a body shorter than its content-length keeps the part for a resume, and is not renamed into place", async () => {
    // The first reply drops after 1000 bytes; the retries find the mirror down.
    const { error, part, cached } = await download((_req, res, nth) => {
      if (nth > 1) return void res.writeHead(503).end();
      res.socket!.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${good.length}\r\n\r\n`), good.subarray(0, 1000)]));
    });
    // Bytes still buffered when the connection drops may not reach the disk (the pipeline destroys the file
    // stream); what is there is a prefix the next try resumes from.
    assert.ok(part !== undefined && part <= 1000, `part: ${part}`);
    assert.equal(cached, false);
  });

  test("a status line carrying ESC, BEL and a one-byte CSI (0x9b) reaches the terminal escaped", async () => {
    const s = await server({}, (_req, res) => {
      res.socket!.end(Buffer.from("HTTP/1.1 503 \u001b]0;pwned\u0007\u001b[2J\u009b2J\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", "latin1"));
    });
    let err = "";
    const env = { ENCODER_COMPARE_MODELS_DIR: tempDir("pull-"), ENCODER_COMPARE_MODEL_BASE_URL: s.origin };
    const code = await main(["models", "pull", "clip-vit-b32"], { write: (c: string) => (err += c) }, { write: (c: string) => (err += c) }, env);
    assert.equal(code, 1);
    assert.equal(RAW_CONTROL.exec(err), null, JSON.stringify(err));
    assert.match(err, /HTTP 503 \\u001b\]0;pwned\\u0007\\u001b\[2J\\u009b2J from /);
  });
});

describe("the meme importer and bad records", () => {
  test("a URL with a 3,000-character file name is imported under a capped id, not ending the import with ENAMETOOLONG; failure lines are capped", async () => {
    const png = fs.readFileSync(EMOJI("1f436"));
    const long = "x".repeat(3_000);
    const s = await server({}, (req, res) => {
      if (req.url!.startsWith("/img/ok")) return void res.writeHead(200, { "content-length": png.length }).end(png);
      res.writeHead(404).end("no");
    });
    const host = `//127.0.0.1:${new URL(s.origin).port}`;
    const memes = [
      { image_url: `${host}/img/ok-${long}.png`, caption_text: "long name" },
      { image_url: `${host}/img/gone-${long}.png`, caption_text: "long and missing" },
      { image_url: `${host}/img/ok/..%2F..%2F..%2Fescape.png`, caption_text: "encoded traversal" },
      { image_url: "file:///etc/passwd", caption_text: "local file" },
    ];
    s.route("/memes.json", (_req, res) => res.writeHead(200).end(JSON.stringify([{ name: "Doge", generated_memes: memes }])));
    const outDir = path.join(tempDir("import-"), "out");
    const { result, lines } = await importForTest(outDir, `${s.origin}/memes.json`);
    assert.equal(result.downloaded, 2);
    const images = fs.readdirSync(path.join(outDir, "images")).sort();
    assert.deepEqual(images, ["escape.png", `ok-${"x".repeat(117)}.png`]);
    const reasons = result.failed.map((f) => f.reason).sort();
    assert.equal(reasons.length, 2);
    assert.equal(reasons[0], "HTTP 404");
    assert.match(reasons[1], /^image URL file:\/\/\/etc\/passwd refused: only https URLs are allowed/);
    for (const line of lines.join("\n").split("\n")) assert.ok(line.length <= 400, `a ${line.length}-character log line`);
  });
});
