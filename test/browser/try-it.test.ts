// "Try your own image" in a real browser: builds a page with tryIt=true against the demo
// dataset, serves it on 127.0.0.1 and, in headless Chromium, queries 30 images made here
// (crops, recolours, captioned copies of dataset members, new images). The widget's top 5 per
// built-in encoder must match the CLI's `query --json`; nothing may be fetched before the
// control opens, nor from another origin, nor with another method than GET.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing } from "../support/chromium.ts";
import sharp, { type Sharp } from "sharp";
import { seededRandom } from "../support/prng.ts";
import { serveStatic, type StaticServer } from "../support/static-server.ts";
import { ensurePackageBuilt } from "../support/package-build.ts";
import { axeViolations, isSerious } from "../support/axe.ts";
import { buildTryItSite } from "../support/try-it-site.ts";
import { BUILTIN_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { buildBuiltinGraph } from "../../plugins/encoder-compare/models/builtin-graphs.ts";

// The CLI runs from the compiled package (bin.js → dist/).
before(() => ensurePackageBuilt());

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/try-it");
const DEMO = "content/datasets/emoji-memes";
/** The first 240 images of the demo dataset: enough near-ties to test parity, quick to embed. */
const DATASET = path.relative(ROOT, path.join(WORK, "dataset"));
const DATASET_SIZE = 240;
const ENCODERS = ["pixels", "phash"];
const K = 5;
const TOLERANCE = 2e-3;
/** A group of the test dataset (not the first image's) for the expect= page. */
const EXPECTED_GROUP = "dog-face";
const run = promisify(execFile);
const skip = chromiumMissing;

interface Hit {
  id: string;
  score: number;
}

/** 30 query images: 8 crops, 8 recolours, 8 captioned copies of dataset members, 6 new images (2 with transparency). */
async function makeQueries(dir: string): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(DATASET, "manifest.json"), "utf8")) as { images: Array<{ file: string }> };
  const random = seededRandom(14);
  const member = (i: number) => path.join(DATASET, manifest.images[Math.floor((i * 7919) % manifest.images.length)].file);
  const files: string[] = [];
  const save = async (name: string, image: Sharp, i: number) => {
    const file = path.join(dir, `${name}.${i % 3 === 2 ? "jpg" : "png"}`);
    await (i % 3 === 2 ? image.jpeg({ quality: 88 }) : image.png()).toFile(file);
    files.push(file);
  };
  for (let i = 0; i < 8; i++) {
    const source = sharp(member(i));
    const { width = 0, height = 0 } = await source.metadata();
    const left = Math.floor(width * 0.1 * (1 + (i % 3)));
    const top = Math.floor(height * 0.05 * (1 + (i % 4)));
    await save(`crop-${i}`, sharp(member(i)).extract({ left, top, width: Math.floor(width * 0.6), height: Math.floor(height * 0.65) }), i);
  }
  for (let i = 0; i < 8; i++) {
    await save(
      `recolour-${i}`,
      sharp(member(i + 8))
        .flatten({ background: "#ffffff" })
        .modulate({ hue: 40 + 35 * i, saturation: 0.6 + 0.1 * i, brightness: 0.85 + 0.04 * i }),
      i,
    );
  }
  for (let i = 0; i < 8; i++) {
    const source = sharp(member(i + 16)).flatten({ background: "#ffffff" });
    const { width = 0, height = 0 } = await source.metadata();
    const band = `<svg width="${width}" height="${Math.floor(height / 5)}"><rect width="100%" height="100%" fill="black"/></svg>`;
    await save(`captioned-${i}`, sharp(await source.png().toBuffer()).composite([{ input: Buffer.from(band), gravity: i % 2 ? "north" : "south" }]), i);
  }
  for (let i = 0; i < 6; i++) {
    const width = 40 + Math.floor(random() * 300);
    const height = 40 + Math.floor(random() * 300);
    const channels = i < 2 ? 4 : 3;
    const data = Buffer.alloc(width * height * channels);
    const [a, b, c] = [random() * 255, random() * 255, random() * 255];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = (y * width + x) * channels;
        data[p] = (a + (x * 255) / width) % 256;
        data[p + 1] = (b + (y * 255) / height) % 256;
        data[p + 2] = Math.hypot(x - width / 2, y - height / 2) < Math.min(width, height) / 3 ? c : 255 - c;
        if (channels === 4) data[p + 3] = x < width / 2 ? 255 : 0; // opaque or clear: no rounding of partial alpha
      }
    }
    await save(`new-${i}`, sharp(data, { raw: { width, height, channels } }), i === 5 ? 2 : i);
  }
  return files;
}

async function cliTop5(queries: string[], cacheDir: string): Promise<Map<string, Map<string, Hit[]>>> {
  const args = [
    "plugins/encoder-compare/bin.js",
    "query",
    "--json",
    "--k",
    String(K),
    "--encoders",
    ENCODERS.join(","),
    "--dataset",
    DATASET,
    "--cache-dir",
    cacheDir,
    ...queries,
  ];
  const { stdout } = await run("node", args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const parsed = JSON.parse(stdout) as Array<{ query: string; results: Array<{ encoderId: string; hits: Hit[] }> }>;
  return new Map(parsed.map((q) => [path.basename(q.query), new Map(q.results.map((r) => [r.encoderId, r.hits]))]));
}

describe("Try your own image (Chromium)", { skip }, () => {
  let server: StaticServer;
  let site: string;
  let browser: Browser;
  let queries: string[];
  /** A dataset member, byte for byte: left out of its own results in the browser as in the CLI. */
  let selfQuery: string;
  let expected: Map<string, Map<string, Hit[]>>;
  const cacheDir = path.join(WORK, "cache");

  before(async () => {
    await run("npx", ["tsx", "scripts/make-demo-dataset.ts", "--if-missing"], { cwd: ROOT });
    const demo = JSON.parse(fs.readFileSync(path.join(DEMO, "manifest.json"), "utf8")) as { name: string; images: Array<{ file: string }> };
    const images = demo.images.slice(0, DATASET_SIZE);
    fs.mkdirSync(path.join(DATASET, "images"), { recursive: true });
    for (const image of images) fs.copyFileSync(path.join(DEMO, image.file), path.join(DATASET, image.file));
    fs.writeFileSync(path.join(DATASET, "manifest.json"), JSON.stringify({ name: demo.name, images }));
    queries = await makeQueries(path.join(WORK, "queries"));
    selfQuery = path.join(WORK, "queries", "member.png");
    const manifest = JSON.parse(fs.readFileSync(path.join(DATASET, "manifest.json"), "utf8")) as { images: Array<{ file: string }> };
    fs.copyFileSync(path.join(DATASET, manifest.images[3].file), selfQuery);
    // "mine": a downloaded-model stand-in (the pixels graph as a file) that the site opts in to publishing.
    const model = path.join(WORK, "mine.onnx");
    fs.writeFileSync(model, buildBuiltinGraph("pixels"));
    const mine: EncoderSpec = { ...BUILTIN_ENCODERS[0], id: "mine", label: "Mine", source: { kind: "file", path: path.relative(ROOT, model) } };
    ({ site } = await buildTryItSite(WORK, {
      dataset: DATASET,
      encoders: ENCODERS,
      k: K,
      cacheDir,
      extraPages: { "opt-in": `encoders=["phash", "mine"], k=${K}`, expect: `encoders=${JSON.stringify(ENCODERS)}, k=${K}, expect="${EXPECTED_GROUP}"` },
      pluginOptions: { customEncoders: [mine], tryItModels: ["mine"] },
    }));
    expected = await cliTop5([...queries, selfQuery], cacheDir);
    server = await serveStatic(site);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test("without JavaScript the page shows the same tables and no control", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const tables = async (url: string) => {
      await page.goto(server.origin + url);
      return page.$$eval("table.encoder-compare", (all) => all.map((t) => t.outerHTML));
    };
    const without = await tables("/without/");
    assert.equal(without.length, 2);
    assert.deepEqual(await tables("/with/"), without);
    assert.equal(await page.isVisible(".ec-tryit"), false);
    await context.close();
  });

  test("30 queries: in-browser top 5 equals the CLI's, fetching only same-origin GETs after the control opens", async () => {
    const context = await browser.newContext();
    const page: Page = await context.newPage();
    const requests: Array<{ url: string; method: string; opened: boolean }> = [];
    let opened = false;
    page.on("request", (request) => requests.push({ url: request.url(), method: request.method(), opened }));
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(server.origin + "/with/");
    const button = page.getByRole("button", { name: "Try your own image" });
    await button.waitFor();
    await page.waitForLoadState("networkidle");
    // Before opening: the page, its own table images and the loader; no widget, index, graph or wasm.
    const tableImages = await page.$$eval("table.encoder-compare img", (all) => all.map((img) => new URL((img as HTMLImageElement).currentSrc).pathname));
    const beforeOpen = requests.map((r) => new URL(r.url).pathname).filter((p) => !tableImages.includes(p));
    assert.equal(beforeOpen.length, 2, `before opening only the page and the loader are fetched, got ${beforeOpen.join(", ")}`);
    assert.match(beforeOpen[1], /^\/encoder-compare\/tryit-loader-[0-9a-f]{16}\.js$/);

    opened = true;
    // Reachable with Tab, opened with Enter.
    for (let i = 0; i < 60 && !(await button.evaluate((b) => b === document.activeElement)); i++) await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    assert.equal(await button.getAttribute("aria-expanded"), "true");
    const input = page.getByLabel("Choose an image (or drop or paste one here)");
    await input.waitFor();

    const seriousViolations = async () => (await axeViolations(page)).filter(isSerious).map((v) => `${v.id}: ${v.help}`);
    assert.deepEqual(await seriousViolations(), []);

    const figures = new Map(ENCODERS.map((e) => [e, { same: 0, maxDiff: 0, mismatches: [] as string[] }]));
    for (const query of queries) {
      const name = path.basename(query);
      const results = page.evaluate(
        () => new Promise<any>((resolve) => document.addEventListener("encoder-compare:results", (e) => resolve((e as CustomEvent).detail), { once: true })),
      );
      await input.setInputFiles(query);
      const detail = (await results) as { file: string; results: Array<{ encoderId: string; hits: Hit[] }> };
      assert.equal(detail.file, name);
      for (const { encoderId: encoder, hits } of detail.results) {
        const want = expected.get(name)!.get(encoder)!;
        const f = figures.get(encoder)!;
        const sameIds = want.map((h) => h.id).join() === hits.map((h) => h.id).join();
        if (sameIds) f.same++;
        else
          f.mismatches.push(
            `${name}: cli ${want.map((h) => `${h.id} ${h.score.toFixed(4)}`).join(", ")} | ` +
              `browser ${hits.map((h) => `${h.id} ${h.score.toFixed(4)}`).join(", ")}`,
          );
        for (const [i, h] of hits.entries()) {
          const cli = want.find((w) => w.id === h.id)?.score ?? want[i]?.score;
          if (cli !== undefined) f.maxDiff = Math.max(f.maxDiff, Math.abs(cli - h.score));
        }
      }
    }
    const report = [...figures].map(
      ([e, f]) => `${e}: ${f.same}/${queries.length} same top-${K}, max |Δscore| ${f.maxDiff.toExponential(2)}${f.mismatches.map((m) => `\n  ${m}`).join("")}`,
    );
    fs.writeFileSync(path.join(WORK, "parity.txt"), report.join("\n") + "\n");
    for (const [encoder, f] of figures) {
      assert.ok(f.same >= queries.length - 1, `${encoder}: ${report.join("\n")}`);
      assert.ok(f.maxDiff <= TOLERANCE, `${encoder}: ${report.join("\n")}`);
    }

    assert.deepEqual(await seriousViolations(), [], "with results shown");
    // The results: the build's table markup, announced in the live region.
    assert.equal(await page.locator(".ec-tryit-results table.encoder-compare").count(), ENCODERS.length);
    assert.match((await page.getByRole("status").textContent()) ?? "", /^Results for new-5\.jpg are below\. Best match by pixels: .+; by phash: .+\.$/);
    const self = page.evaluate(
      () => new Promise<any>((resolve) => document.addEventListener("encoder-compare:results", (e) => resolve((e as CustomEvent).detail), { once: true })),
    );
    await input.setInputFiles(selfQuery);
    for (const { encoderId: encoder, hits } of ((await self) as { results: Array<{ encoderId: string; hits: Hit[] }> }).results) {
      assert.deepEqual(hits.map((h) => h.id), expected.get("member.png")!.get(encoder)!.map((h) => h.id), encoder);
    }
    assert.equal(await page.locator(".ec-tryit-results .ec-self").count(), ENCODERS.length);

    // Not an image: one line in the live region, and the widget keeps working.
    const notImage = path.join(WORK, "queries", "notes.txt");
    fs.writeFileSync(notImage, "not an image");
    await input.setInputFiles(notImage);
    await page.getByText("Could not use notes.txt: this browser cannot decode it as an image.").waitFor();

    const origin = new URL(server.origin).origin;
    const foreign = requests.filter((r) => !r.url.startsWith("blob:") && !r.url.startsWith("data:") && new URL(r.url).origin !== origin);
    assert.deepEqual(foreign, []);
    assert.deepEqual(requests.filter((r) => r.method !== "GET"), []);
    assert.deepEqual(problems, []);
    assert.deepEqual(server.notFound, []);
    await context.close();
  });

  /** The tables in `selector` as markup to compare: images (blob: thumbnails in the widget) and score figures left out. */
  const tableMarkup = (page: Page, selector: string) =>
    page.$$eval(selector, (tables) =>
      tables.map((table) => {
        const copy = table.cloneNode(true) as HTMLElement;
        for (const el of copy.querySelectorAll("img, .ec-tiles")) el.remove();
        for (const el of copy.querySelectorAll(".ec-score data")) el.textContent = "";
        for (const el of copy.querySelectorAll(".ec-score data")) el.removeAttribute("value");
        return copy.outerHTML;
      }),
    );

  const openWidget = async (page: Page, url: string) => {
    await page.goto(server.origin + url);
    await page.getByRole("button", { name: "Try your own image" }).click();
    const input = page.getByLabel("Choose an image (or drop or paste one here)");
    await input.waitFor();
    return async (file: string) => {
      const results = page.evaluate(
        () => new Promise<any>((resolve) => document.addEventListener("encoder-compare:results", (e) => resolve((e as CustomEvent).detail), { once: true })),
      );
      await input.setInputFiles(file);
      return ((await results) as { results: Array<{ encoderId: string; hits: Hit[] }> }).results;
    };
  };

  test("the widget's table is the build's table for the same image: marks, tally, caption links, the query's own link", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const query = await openWidget(page, "/with/");
    // The page's query is a dataset image with a group: the build marks its results against that group.
    await query(path.join(WORK, "content", "q.png"));
    const built = await tableMarkup(page, "main > table.encoder-compare");
    const widget = await tableMarkup(page, ".ec-tryit-results table.encoder-compare");
    assert.equal(built.length, ENCODERS.length);
    assert.ok(built.every((t) => t.includes('class="ec-tally"') && t.includes('class="ec-mark"')), "the build's tables have marks and a tally");
    assert.deepEqual(widget, built);
    // Every caption and tile links to a full-size image the site serves.
    const links = await page.$$eval(".ec-tryit-results table.encoder-compare a", (all) => all.map((a) => (a as HTMLAnchorElement).href));
    assert.ok(links.length >= ENCODERS.length * (K + 1), links.join(" "));
    for (const link of new Set(links)) assert.equal((await fetch(link)).status, 200, link);
    await context.close();
  });

  test("expect= marks the widget's results for any image, with the build's tally", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const query = await openWidget(page, "/expect/");
    const groups = new Map(
      (JSON.parse(fs.readFileSync(path.join(DATASET, "manifest.json"), "utf8")) as { images: Array<{ id?: string; file: string; group?: string }> }).images.map(
        (image) => [image.id ?? image.file, image.group],
      ),
    );
    for (const file of [queries[0], queries[9], queries[25]]) {
      const results = await query(file);
      const tables = page.locator(".ec-tryit-results table.encoder-compare");
      assert.equal(await tables.count(), ENCODERS.length);
      for (const [i, { hits }] of results.entries()) {
        const marks = await tables.nth(i).locator(".ec-hits li .ec-mark").allTextContents();
        const want = hits.map((h) => (groups.get(h.id) === EXPECTED_GROUP ? "✓" : "✗"));
        assert.deepEqual(marks, want, `${path.basename(file)} ${results[i].encoderId}`);
        const matches = want.filter((m) => m === "✓").length;
        assert.equal(await tables.nth(i).locator(".ec-tally").textContent(), `${matches} of ${K} results are ${EXPECTED_GROUP}`);
      }
    }
    await context.close();
  });

  test("the panel says which encoders run in the browser", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await openWidget(page, "/with/");
    assert.match(
      (await page.locator(".ec-tryit-intro").textContent()) ?? "",
      /embedded here with pixels \(16×16 thumbnail\) and phash \(64-bit DCT hash\), as at build time/,
    );
    await context.close();
  });

  test("an opted-in model shows its download size and is fetched only when the reader asks", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const graphs: string[] = [];
    page.on("request", (request) => {
      if (/\/graph-mine-/.test(request.url())) graphs.push(request.url());
    });
    await page.goto(server.origin + "/opt-in/");
    await page.getByRole("button", { name: "Try your own image" }).click();
    const input = page.getByLabel("Choose an image (or drop or paste one here)");
    await input.waitFor();
    const load = page.getByRole("button", { name: /^Also run Mine \(0 MB download\)$/ });
    await load.waitFor();
    // Two different files: choosing the same file again fires no change event.
    const query = async (file: string) => {
      const results = page.evaluate(
        () => new Promise<any>((resolve) => document.addEventListener("encoder-compare:results", (e) => resolve((e as CustomEvent).detail), { once: true })),
      );
      await input.setInputFiles(file);
      return ((await results) as { results: Array<{ encoderId: string; hits: Hit[] }> }).results;
    };
    assert.deepEqual((await query(queries[0])).map((r) => r.encoderId), ["phash"]);
    assert.deepEqual(graphs, []);
    await load.click();
    await page.getByText("Mine is loaded; it runs on your next image.").waitFor();
    assert.equal(graphs.length, 1);
    const results = await query(queries[1]);
    assert.deepEqual(results.map((r) => r.encoderId), ["phash", "mine"]);
    // The same graph as the built-in pixels: the same answer as the CLI's pixels.
    assert.deepEqual(results[1].hits.map((h) => h.id), expected.get(path.basename(queries[1]))!.get("pixels")!.map((h) => h.id));
    await context.close();
  });

  test("on a cross-origin-isolated page (onnxruntime with threads) the answer is the same", async () => {
    const isolated = await serveStatic(site, { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" });
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(isolated.origin + "/with/");
      assert.equal(await page.evaluate(() => crossOriginIsolated), true);
      await page.getByRole("button", { name: "Try your own image" }).click();
      const input = page.getByLabel("Choose an image (or drop or paste one here)");
      await input.waitFor();
      const results = page.evaluate(
        () => new Promise<any>((resolve) => document.addEventListener("encoder-compare:results", (e) => resolve((e as CustomEvent).detail), { once: true })),
      );
      await input.setInputFiles(queries[2]);
      for (const { encoderId: encoder, hits } of ((await results) as { results: Array<{ encoderId: string; hits: Hit[] }> }).results) {
        assert.deepEqual(hits.map((h) => h.id), expected.get(path.basename(queries[2]))!.get(encoder)!.map((h) => h.id), encoder);
      }
    } finally {
      await context.close();
      await isolated.close();
    }
  });
});
