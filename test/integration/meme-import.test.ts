// The meme importer against a loopback mirror: failures reported with their reasons, resumed runs, --limit, and the
// CLI's URL and flags.
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import { importJinaMemes, type ImportOptions, parseMemesJson, planImages, sampleMemes } from "../../plugins/encoder-compare/dataset/import-jina.ts";
import { loadDataset } from "../../plugins/encoder-compare/dataset/load.ts";
import { startLoopbackServer } from "../support/loopback-server.ts";

interface Mirror {
  origin: string;
  requests: Map<string, number>;
  maxInFlight: number;
  close(): Promise<void>;
}

async function startMirror(routes: Record<string, (count: number, res: http.ServerResponse) => void>): Promise<Mirror> {
  const requests = new Map<string, number>();
  let inFlight = 0;
  const mirror = { requests, maxInFlight: 0 } as Mirror;
  const server = await startLoopbackServer({}, (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const count = (requests.get(url.pathname) ?? 0) + 1;
    requests.set(url.pathname, count);
    inFlight++;
    mirror.maxInFlight = Math.max(mirror.maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    // A little latency so concurrent downloads overlap.
    setTimeout(() => {
      const route = routes[url.pathname];
      if (route) route(count, res);
      else res.writeHead(404).end("not found");
    }, 5);
  });
  mirror.origin = server.origin;
  mirror.close = () => server.close();
  return mirror;
}

describe("importing from a loopback mirror", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-import-"));
  let mirror: Mirror;
  let memesJson: string;
  const images = new Map<string, Buffer>();

  before(async () => {
    const colours = ["#c0392b", "#27ae60", "#2980b9", "#f39c12", "#8e44ad", "#16a085", "#2c3e50"];
    for (const [i, colour] of colours.entries()) {
      const base = sharp({ create: { width: 24 + i, height: 20, channels: 3, background: colour } });
      images.set(`/img/ok${i}.${i % 2 ? "png" : "jpg"}`, await (i % 2 ? base.png() : base.jpeg()).toBuffer());
    }
    const send = (body: Buffer, type: string) => (_: number, res: http.ServerResponse) => res.writeHead(200, { "content-type": type }).end(body);
    const routes: Record<string, (count: number, res: http.ServerResponse) => void> = {};
    for (const [p, body] of images) routes[p] = send(body, "image/*");
    routes["/img/flaky.jpg"] = (count, res) => (count === 1 ? res.writeHead(503).end() : send(images.get("/img/ok0.jpg")!, "image/jpeg")(count, res));
    routes["/img/busy.png"] = (count, res) =>
      count === 1 ? res.writeHead(429, { "retry-after": "0" }).end() : send(images.get("/img/ok1.png")!, "image/png")(count, res);
    routes["/img/broken.jpg"] = (_, res) => res.writeHead(500).end("oops");
    routes["/img/page.jpg"] = (_, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!DOCTYPE html><p>removed</p>");
    routes["/img/moved.jpg"] = (_, res) => res.writeHead(302, { location: "/img/ok2.jpg" }).end();
    routes["/img/insecure.jpg"] = (_, res) => res.writeHead(302, { location: "http://example.com/x.jpg" }).end();
    routes["/memes.json"] = (_, res) => res.writeHead(200, { "content-type": "application/json" }).end(memesJson);

    mirror = await startMirror(routes);
    const host = `//127.0.0.1:${new URL(mirror.origin).port}`;
    memesJson = JSON.stringify([
      {
        name: "Doge",
        generated_memes: [
          { image_url: `${host}/img/ok0.jpg`, caption_text: "much <wow>" },
          { image_url: `${host}/img/ok1.png`, caption_text: "so test" },
          { image_url: `${host}/img/flaky.jpg`, caption_text: "flaky then fine" },
          { image_url: `${host}/img/missing.jpg`, caption_text: "gone" },
        ],
      },
      {
        name: "Buff Doge vs. Cheems",
        generated_memes: [
          { image_url: `${host}/img/ok2.jpg`, caption_text: "strong" },
          { image_url: `${host}/img/ok3.png` },
          { image_url: `${host}/img/busy.png`, caption_text: "rate limited once" },
          { image_url: `${host}/img/broken.jpg` },
          { caption_text: "no image at all" },
        ],
      },
      {
        name: "This Is Sparta",
        generated_memes: [
          { image_url: `${host}/img/ok4.jpg`, caption_text: "kick" },
          { image_url: `${host}/img/ok5.png`, caption_text: "pit" },
          { image_url: `${host}/img/page.jpg`, caption_text: "html" },
          { image_url: `${host}/img/moved.jpg`, caption_text: "redirected" },
          { image_url: `${host}/img/insecure.jpg`, caption_text: "redirected to plain http" },
          { image_url: `${host}/img/ok6.jpg`, caption_text: "last" },
        ],
      },
    ]);
  });
  after(async () => {
    await mirror.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function options(outDir: string, extra: Partial<ImportOptions> = {}): ImportOptions & { lines: string[] } {
    const lines: string[] = [];
    return {
      outDir,
      url: `${mirror.origin}/memes.json`,
      limit: 100,
      seed: 42,
      concurrency: 3,
      attempts: 3,
      backoffMs: 1,
      timeoutMs: 5_000,
      maxImageBytes: 1_000_000,
      refresh: false,
      log: (line) => lines.push(line),
      lines,
      ...extra,
    };
  }

  test("downloads the sample, reports every failure with its reason, and writes a loadable manifest", async () => {
    const out = path.join(dir, "full");
    const opts = options(out);
    const result = await importJinaMemes(opts);
    assert.equal(result.memes, 15);
    assert.equal(result.sampled, 15);
    assert.equal(result.downloaded, 10);
    assert.equal(result.reused, 0);
    const reasons = Object.fromEntries(result.failed.map((f) => [f.id, f.reason]));
    assert.deepEqual(Object.keys(reasons).sort(), ["broken", "insecure", "meme-9", "missing", "page"]);
    assert.match(reasons.missing, /^HTTP 404$/);
    assert.match(reasons.broken, /^HTTP 500$/);
    assert.match(reasons.page, /^not an image \(starts with "<!DOCTYPE html><"\)$/);
    assert.match(reasons["meme-9"], /no image URL in memes\.json/);
    assert.match(
      reasons.insecure,
      /^redirect from http:\/\/127\.0\.0\.1:\d+\/img\/insecure\.jpg to http:\/\/example\.com\/x\.jpg refused: only https URLs are allowed/,
    );
    assert.ok(mirror.maxInFlight <= 3, `at most 3 downloads at once, saw ${mirror.maxInFlight}`);
    assert.equal(mirror.requests.get("/img/flaky.jpg"), 2, "a 503 is retried");
    assert.equal(mirror.requests.get("/img/busy.png"), 2, "a 429 is retried");
    assert.equal(mirror.requests.get("/img/broken.jpg"), 3, "a 500 is retried up to the attempt limit");
    assert.equal(mirror.requests.get("/img/missing.jpg"), 1, "a 404 is not retried");

    const manifest = JSON.parse(fs.readFileSync(result.manifestFile, "utf8"));
    assert.equal(manifest.name, "jina-memes");
    assert.deepEqual(manifest.source, {
      url: `${mirror.origin}/memes.json`,
      memesJsonSha256: manifest.source.memesJsonSha256,
      seed: 42,
      limit: 100,
      memes: 15,
    });
    const byId = Object.fromEntries(manifest.images.map((i: { id: string }) => [i.id, i]));
    assert.deepEqual(byId.ok0, { id: "ok0", file: "images/ok0.jpg", caption: "much <wow>", group: "Doge" });
    assert.deepEqual(byId.ok3, { id: "ok3", file: "images/ok3.png", caption: "Buff Doge vs. Cheems", group: "Buff Doge vs. Cheems" });
    assert.deepEqual(byId.moved, { id: "moved", file: "images/moved.jpg", caption: "redirected", group: "This Is Sparta" });
    // The flaky URL ends in .jpg but the bytes decide the extension.
    assert.equal(byId.busy.file, "images/busy.png");
    assert.deepEqual(manifest.images.map((i: { id: string }) => i.id), [...manifest.images.map((i: { id: string }) => i.id)].sort());

    const dataset = loadDataset(out);
    assert.equal(dataset.images.length, 10 - 3, "ok0/flaky, ok1/busy and ok2/moved are byte-identical: indexed once each");
    assert.equal(dataset.skipped.length, 3);
    const report = JSON.parse(fs.readFileSync(path.join(out, "import-report.json"), "utf8"));
    assert.equal(report.failed.length, 5);
    assert.ok(opts.lines.some((l) => /5 image\(s\) failed:\n {2}broken: HTTP 500/.test(l)));
    assert.ok(opts.lines.some((l) => /^images: 15\/15 done/.test(l)), "a final progress line on a non-terminal");
  });

  test("a second run resumes: present images and memes.json are reused, only failures are tried again", async () => {
    const out = path.join(dir, "full");
    const before = new Map(mirror.requests);
    const firstManifest = fs.readFileSync(path.join(out, "manifest.json"), "utf8");
    fs.writeFileSync(path.join(out, "images", "ok4.jpg.999.part"), "half");
    const opts = options(out);
    const result = await importJinaMemes(opts);
    assert.equal(result.reused, 10);
    assert.equal(result.downloaded, 0);
    assert.equal(result.failed.length, 5);
    assert.equal(mirror.requests.get("/memes.json"), before.get("/memes.json"), "memes.json reused");
    assert.equal(mirror.requests.get("/img/ok0.jpg"), before.get("/img/ok0.jpg"), "present image not downloaded again");
    assert.equal(mirror.requests.get("/img/missing.jpg"), (before.get("/img/missing.jpg") ?? 0) + 1, "failed image tried again");
    assert.equal(fs.readFileSync(path.join(out, "manifest.json"), "utf8"), firstManifest, "same manifest");
    assert.ok(!fs.existsSync(path.join(out, "images", "ok4.jpg.999.part")), "stale partial files removed");
    assert.ok(opts.lines.some((l) => /using the copy in/.test(l)));

    // A corrupted image is not "valid": it is downloaded again.
    fs.writeFileSync(path.join(out, "images", "ok5.png"), "garbage");
    const again = await importJinaMemes(options(out));
    assert.equal(again.downloaded, 1);
    assert.ok(sharp(path.join(out, "images", "ok5.png")));
    assert.equal((await sharp(path.join(out, "images", "ok5.png")).metadata()).format, "png");
  });

  test("--limit keeps the first memes of the CPython shuffle; a terminal gets one redrawn progress line", async () => {
    const out = path.join(dir, "limited");
    const drawn: string[] = [];
    const result = await importJinaMemes(options(out, { limit: 4, seed: 7, tty: { write: (chunk: string) => drawn.push(chunk) } }));
    const expected = planImages(sampleMemes(parseMemesJson(JSON.parse(memesJson), "m"), 4, 7), new URL(`${mirror.origin}/memes.json`)).map((p) => p.id);
    const manifest = JSON.parse(fs.readFileSync(result.manifestFile, "utf8"));
    const imported = manifest.images.map((i: { id: string }) => i.id);
    const failed = result.failed.map((f) => f.id);
    assert.deepEqual([...imported, ...failed].sort(), [...expected].sort());
    assert.equal(result.sampled, 4);
    assert.ok(drawn.length > 0 && drawn.every((c) => c.startsWith("\r") || c === "\n"), "progress redrawn in place");
  });

  test("the CLI takes the URL from ENCODER_COMPARE_DATASET_URL, refuses plain http elsewhere, and checks its flags", async () => {
    const chunks = { out: "", err: "" };
    const out = { write: (c: string) => (chunks.out += c) };
    const err = { write: (c: string) => (chunks.err += c) };
    const target = path.join(dir, "cli");
    const code = await main(["dataset", "import", "jina-memes", "--out", target, "--concurrency", "2", "--retries", "0"], out, err, {
      ENCODER_COMPARE_DATASET_URL: `${mirror.origin}/memes.json`,
    });
    assert.equal(code, 0, chunks.err + chunks.out);
    assert.equal(chunks.out.trim(), path.join(target, "manifest.json"));
    assert.match(chunks.err, new RegExp(`memes\\.json: downloading ${mirror.origin}/memes\\.json`));

    chunks.err = "";
    const refused = await main(["dataset", "import", "jina-memes", "--out", path.join(dir, "refused"), "--url", "http://example.com/memes.json"], out, err, {});
    assert.equal(refused, 1);
    assert.match(chunks.err, /memes\.json URL http:\/\/example\.com\/memes\.json refused: only https URLs are allowed/);

    for (const [args, message] of [
      [["dataset", "import"], /name the dataset to import: jina-memes/],
      [["dataset", "import", "kaggle"], /unknown dataset "kaggle"/],
      [["dataset", "import", "jina-memes", "--seed", "-1"], /--seed must be a whole number|--seed needs a value/],
      [["dataset", "import", "jina-memes", "--limit", "0"], /--limit must be a positive integer/],
    ] as Array<[string[], RegExp]>) {
      chunks.err = "";
      assert.equal(await main(args, out, err, {}), 2, args.join(" "));
      assert.match(chunks.err, message);
    }
  });
});
