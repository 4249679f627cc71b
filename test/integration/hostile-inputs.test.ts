// Inputs a site's posts and data may hold, through the real entry points (Eleventy's programmatic build, the CLI in
// this process or as a child): reads that leave the project, non-regular files, types decided by content, oversized
// and broken images, unreadable keyword values, thin images, capped warnings, cache folders that are links, and
// read-only models folders.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { before, describe, test } from "node:test";
import zlib from "node:zlib";
import sharp from "sharp";
import type { BuildSummary } from "../../plugins/encoder-compare/engine/summary.ts";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import { buildProject, chain, EMOJI, outsideSecret, projectMaker, type SmallProject } from "../support/small-project.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/hostile-inputs");
const { outside: OUTSIDE, secret: SECRET } = outsideSecret(WORK);
const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex");

const project = projectMaker(WORK);

async function build(dir: string): Promise<{ html: string; summary: BuildSummary }> {
  const { pages, summary } = await buildProject(dir);
  return { html: pages[0].content, summary };
}

/** The build fails; its message chain names the post and matches `message`. */
async function buildFails(dir: string, message: RegExp): Promise<void> {
  await assert.rejects(build(dir), (error) => {
    assert.match(chain(error), /posts\/p\/index\.md/);
    assert.match(chain(error), message);
    return true;
  });
}

/** No file of the site holds the outside file's bytes. */
function assertNothingFromOutside(dir: string): void {
  const secret = sha256(fs.readFileSync(SECRET));
  const site = path.join(dir, "_site");
  if (!fs.existsSync(site)) return;
  for (const entry of fs.readdirSync(site, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) assert.notEqual(sha256(fs.readFileSync(path.join(entry.parentPath, entry.name))), secret, `${entry.name} is the outside file`);
  }
}

const CLI_ENV = { ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(WORK, "models") };

/** The CLI's entry point in this process (for inputs that cannot hang it). */
async function cli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return cliWithEnv({}, ...args);
}

async function cliWithEnv(env: Record<string, string>, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const status = await main(args, { write: (c: string) => (stdout += c) }, { write: (c: string) => (stderr += c) }, { ...CLI_ENV, ...env });
  return { status, stdout, stderr };
}

/**
 * Several CLI runs in one child process with a hard deadline: an input that blocks the process
 * (a synchronous open of a FIFO) fails the test instead of stalling the whole run.
 */
function cliRunsInChild(runs: string[][]): Array<{ status: number; stderr: string }> {
  const script =
    `import { main } from ${JSON.stringify(path.join(ROOT, "plugins/encoder-compare/cli/main.ts"))};\n` +
    `const out = [];\n` +
    `for (const args of ${JSON.stringify(runs)}) {\n` +
    `  let stderr = "";\n` +
    `  const status = await main(args, { write: () => {} }, { write: (c) => (stderr += c) }, ${JSON.stringify(CLI_ENV)});\n` +
    `  out.push({ status, stderr });\n` +
    `}\n` +
    `console.log(JSON.stringify(out));\n`;
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
    killSignal: "SIGKILL",
  });
  assert.notEqual(child.signal, "SIGKILL", "the CLI hung (killed after 30 s)");
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout);
}

/** A PNG whose header declares `width`×`height` grey pixels, with data for only a few rows (a decompression bomb's shape). */
function bombPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([Buffer.from(type, "latin1"), data])));
    return Buffer.concat([length, Buffer.from(type, "latin1"), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth; colour type 0 (grey)
  const rows = zlib.deflateSync(Buffer.alloc(10 * (width + 1)));
  return Buffer.concat([Buffer.from("\x89PNG\r\n\x1a\n", "latin1"), chunk("IHDR", header), chunk("IDAT", rows), chunk("IEND", Buffer.alloc(0))]);
}

describe("reads that leave the project", () => {
  test("a chain of links and a relative ../ link out of the dataset are skipped with their reason; nothing reaches _site", async () => {
    const p = project(`<% encoderCompare "query.png", k=3 %>`);
    fs.symlinkSync(SECRET, path.join(p.dir, "middle.png"));
    fs.symlinkSync(path.join(p.dir, "middle.png"), path.join(p.dataset, "chain.png"));
    fs.symlinkSync(path.relative(p.dataset, SECRET), path.join(p.dataset, "dotdot.png"));
    const { summary } = await build(p.dir);
    const reasons = new Map(summary.skipped.map((s) => [path.basename(s.file), s.reason]));
    assert.match(reasons.get("chain.png") ?? "", /^resolves to .*secret\.png, outside /);
    assert.match(reasons.get("dotdot.png") ?? "", /^resolves to .*secret\.png, outside /);
    assertNothingFromOutside(p.dir);
  });

  test("query images: a link out, a ../ path out, an absolute path, a device: each fails naming the post and the path", async () => {
    const cases: Array<[(p: SmallProject) => string, RegExp]> = [
      [
        (p) => (fs.symlinkSync(SECRET, path.join(p.post, "linked.png")), "linked.png"),
        /encoderCompare "linked\.png": the path is a link to .*secret\.png, outside the project/,
      ],
      [(p) => path.relative(p.post, SECRET), /the path leads outside the project \(.*secret\.png\)/],
      [() => SECRET, /absolute paths are refused/],
      [() => "/dev/zero", /"\/dev\/zero": absolute paths are refused/],
    ];
    for (const [query, message] of cases) {
      const p = project("");
      fs.writeFileSync(path.join(p.post, "index.md"), `---\ntemplateEngineOverride: njk,md\n---\n<% encoderCompare "${query(p)}" %>\n`);
      await buildFails(p.dir, message);
      assertNothingFromOutside(p.dir);
    }
  });

  test("manifest entries that point out of the dataset (../, absolute) fail naming the manifest and the row", async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    fs.writeFileSync(path.join(p.dataset, "manifest.csv"), `file\n1f436.png\n../../../../../../..${SECRET}\n`);
    await buildFails(p.dir, /manifest\.csv: row 3 \(line 3\) file ".*secret\.png" points outside the dataset folder/);
    const q = project(`<% encoderCompare "query.png" %>`);
    fs.writeFileSync(path.join(q.dataset, "manifest.json"), JSON.stringify({ images: [{ file: "1f436.png" }, { file: SECRET }] }));
    await buildFails(q.dir, /manifest\.json: images\[1\] file ".*secret\.png" points outside the dataset folder/);
  });
});

describe("non-regular files", () => {
  test("a socket and a device among the members are skipped saying what they are; a folder as query fails naming it", async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(p.dataset, "socket.png"), resolve));
    let device = true;
    try {
      execFileSync("mknod", [path.join(p.dataset, "zero.png"), "c", "1", "5"], { stdio: "ignore" });
    } catch {
      device = false; // not root: no device node to test with
    }
    try {
      const { summary } = await build(p.dir);
      const reasons = new Map(summary.skipped.map((s) => [path.basename(s.file), s.reason]));
      assert.equal(reasons.get("socket.png"), "not a regular file (a socket)");
      if (device) assert.equal(reasons.get("zero.png"), "not a regular file (a device)");
    } finally {
      server.close();
    }
    const q = project(`<% encoderCompare "folder.png" %>`);
    fs.mkdirSync(path.join(q.post, "folder.png"));
    await buildFails(q.dir, /encoderCompare "folder\.png": .*folder\.png is a folder, not an image/);
  });

  describe("an embeddings folder (clip-retrieval layout) whose files are not regular", () => {
    const data = path.join(WORK, "emb-data");
    const exported = path.join(WORK, "emb");
    const cacheDir = path.join(WORK, "emb-cache");
    before(async () => {
      fs.mkdirSync(data, { recursive: true });
      for (const code of ["1f436", "1f431"]) fs.copyFileSync(EMOJI(code), path.join(data, `${code}.png`));
      const run = await cli("export", "--encoder", "pixels", "--dataset", data, "--cache-dir", cacheDir, exported);
      assert.equal(run.status, 0, run.stderr);
    });

    /** A copy of the exported folder with `file` replaced by what `make` creates there. */
    function brokenCopy(name: string, file: string, make: (target: string) => void): string {
      const dir = path.join(WORK, `emb-${name}`);
      fs.cpSync(exported, dir, { recursive: true });
      fs.rmSync(path.join(dir, file));
      make(path.join(dir, file));
      return dir;
    }

    test("a FIFO as shard, metadata or sidecar, and a folder as shard: the CLI fails at once naming it, without waiting on a FIFO", () => {
      const fifo = (target: string) => execFileSync("mkfifo", [target]);
      const cases: Array<[string, string, (target: string) => void, string]> = [
        ["npy-fifo", "img_emb/img_emb_0.npy", fifo, "a FIFO"],
        ["parquet-fifo", "metadata/metadata_0.parquet", fifo, "a FIFO"],
        ["sidecar-fifo", "encoder-compare.json", fifo, "a FIFO"],
        ["npy-folder", "img_emb/img_emb_0.npy", (target) => fs.mkdirSync(target), "a folder"],
      ];
      const dirs = cases.map(([name, file, make]) => brokenCopy(name, file, make));
      const query = path.join(data, "1f436.png");
      const runs = cliRunsInChild(dirs.map((dir) => ["query", "--dataset", dir, "--cache-dir", cacheDir, "--encoders", "pixels", query]));
      cases.forEach(([, file, , kind], i) => {
        assert.equal(runs[i].status, 1, file);
        assert.equal(runs[i].stderr, `encoder-compare: ${path.join(dirs[i], file)}: not a regular file (${kind})\n`);
      });
    });

    test("a vector of NaN or Infinity fails the sample check naming its row, never verified nor listed with score NaN", async () => {
      for (const [name, value] of [["nan", "np.nan"], ["inf", "np.inf"]] as const) {
        const dir = path.join(WORK, `emb-${name}`);
        fs.cpSync(exported, dir, { recursive: true });
        const npy = path.join(dir, "img_emb/img_emb_0.npy");
        execFileSync("/usr/bin/python3", ["-c", `import numpy as np, sys; a = np.load(sys.argv[1]); a[0, 5] = ${value}; np.save(sys.argv[1], a)`, npy]);
        const run = await cli("query", "--dataset", dir, "--cache-dir", cacheDir, "--encoders", "pixels", path.join(data, "1f436.png"));
        assert.equal(run.status, 1, run.stdout);
        const shown = name === "nan" ? "NaN" : "Infinity";
        assert.match(run.stderr, new RegExp(`broken vectors: row 0 \\(1f431\\.png\\) holds ${shown}; every value must be a finite number`));
        assert.doesNotMatch(run.stdout, /NaN/);
      }
    });
    test("an images folder holding a link out of it: that row is not re-embedded for the check nor shown, so the outside file is never read", async () => {
      const dir = path.join(WORK, "emb-linked-images");
      fs.cpSync(exported, dir, { recursive: true });
      const images = path.join(WORK, "emb-linked-images-files");
      fs.mkdirSync(images, { recursive: true });
      fs.copyFileSync(path.join(data, "1f436.png"), path.join(images, "1f436.png"));
      fs.symlinkSync(SECRET, path.join(images, "1f431.png"));
      const sidecar = path.join(dir, "encoder-compare.json");
      fs.writeFileSync(sidecar, JSON.stringify({ ...JSON.parse(fs.readFileSync(sidecar, "utf8")), images: path.relative(dir, images) }));
      const run = await cli("query", "--dataset", dir, "--cache-dir", cacheDir, "--encoders", "pixels", path.join(data, "1f436.png"));
      // Re-embedding the linked row would read the outside image, which disagrees with the row's stored vector.
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr + run.stdout, /vectors verified: 1 sampled images/);
      assert.doesNotMatch(run.stderr + run.stdout, new RegExp(OUTSIDE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    });
  });
});

describe("types decided by content", () => {
  test("an HTML page named .jpg and an empty .png are skipped with their reason; the build goes on", async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    fs.writeFileSync(path.join(p.dataset, "page.jpg"), "<!doctype html><html><body>log in</body></html>");
    fs.writeFileSync(path.join(p.dataset, "empty.png"), "");
    const { html, summary } = await build(p.dir);
    const reasons = new Map(summary.skipped.map((s) => [path.basename(s.file), s.reason]));
    assert.equal(reasons.get("page.jpg"), "not a supported image");
    assert.match(reasons.get("empty.png") ?? "", /^unsupported content: not a PNG, JPEG/);
    assert.match(html, /<table/);
  });
});

describe("oversized and broken images", () => {
  test("a 60000×60000 PNG header is refused before decoding, as a member and as a query", async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    fs.writeFileSync(path.join(p.dataset, "bomb.png"), bombPng(60_000, 60_000));
    const { summary } = await build(p.dir);
    assert.deepEqual(summary.skipped.map((s) => [path.basename(s.file), s.reason]), [["bomb.png", "image is larger than the pixel limit (limitInputPixels)"]]);
    const q = project(`<% encoderCompare "bomb.png" %>`);
    fs.writeFileSync(path.join(q.post, "bomb.png"), bombPng(60_000, 60_000));
    await buildFails(q.dir, /cannot read query image .*bomb\.png: image is larger than the pixel limit \(limitInputPixels\)/);
  });

  test("a 300 MiB query image and a 65 MiB manifest (sparse) fail naming them and the limit", async () => {
    const p = project(`<% encoderCompare "huge.png" %>`);
    fs.copyFileSync(EMOJI("1f438"), path.join(p.post, "huge.png"));
    fs.truncateSync(path.join(p.post, "huge.png"), 300 * 1024 ** 2);
    await buildFails(p.dir, /cannot read query image .*huge\.png: 300\.0 MiB, above the 256\.0 MiB limit/);
    const q = project(`<% encoderCompare "query.png" %>`);
    fs.writeFileSync(path.join(q.dataset, "manifest.json"), "{");
    fs.truncateSync(path.join(q.dataset, "manifest.json"), 65 * 1024 ** 2);
    await buildFails(q.dir, /manifest\.json cannot be read: 65\.0 MiB, above the 64\.0 MiB limit/);
  });

  test("truncated images are skipped as corrupt or truncated, in those words rather than libvips' own text", async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    const codes = ["1f438", "1f439", "1f43a", "1f43b", "1f43c", "1f43d"];
    codes.forEach((code, i) => fs.writeFileSync(path.join(p.dataset, `cut${i}.png`), fs.readFileSync(EMOJI(code)).subarray(0, 150 + 100 * i)));
    const { summary } = await build(p.dir);
    const reasons = summary.skipped.map((s) => s.reason);
    assert.deepEqual(reasons, codes.map(() => "cannot be decoded: a corrupt or truncated image file"));
  });

  test("an SVG with an XML prolog, an external entity and a file: image, named .jpg, draws nothing from disk", async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    fs.writeFileSync(
      path.join(p.dataset, "doc.jpg"),
      `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
        `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="8" height="8">` +
        `<text>&x;</text><image xlink:href="file://${SECRET}" width="8" height="8"/></svg>`,
    );
    const { summary } = await build(p.dir);
    assert.match(summary.skipped.find((s) => s.file.endsWith("doc.jpg"))?.reason ?? "", /XML parse error: .*Entity 'x' not defined/);
    assertNothingFromOutside(p.dir);
  });
});

describe("keyword values", () => {
  const cases: Array<[string, RegExp]> = [
    // none/null must not quietly mean "use the default".
    [`<% encoderCompare "query.png", layout=none %>`, /encoderCompare: layout= is none \(null\); give it a value, .*; written as "layout=none"/],
    [`<% encoderCompare "query.png", tryIt=null %>`, /encoderCompare: tryIt= is none \(null\); .*written as "tryIt=null"/],
    [`<% encoderEval disagreements=none %>`, /encoderEval: disagreements= is none \(null\)/],
    // Nunjucks keeps only the last of a keyword given twice.
    [`<% encoderCompare "query.png", k=1, encoders=["pixels"], k=3 %>`, /encoderCompare: keyword "k" is given twice in one tag \("k=1", then "k=3"\)/],
    [`<% encoderEval k=2, k = 3 %>`, /encoderEval: keyword "k" is given twice in one tag \("k=2", then "k=3"\)/],
    // A lookalike must not be shown as the very name it imitates.
    [`<% encoderCompare "query.png", encoders="pix\u0435ls" %>`, /unknown encoder "pix\\u0435ls"; known encoders: pixels,/],
    [`<% encoderCompare "query.png", \uff4b=2 %>`, /unknown keyword "\\uff4b"; known keywords: k,/],
    // Full-width digits and hex are unreadable to Nunjucks: named with what was written.
    [`<% encoderCompare "query.png", k=\uff13 %>`, /k= has a value Nunjucks could not read .*written as "k=\uff13"/],
    [`<% encoderCompare "query.png", k=0x10 %>`, /written as "k=0x10"/],
  ];
  test("each fails the build naming the post, the keyword and what was written", async () => {
    for (const [shortcode, message] of cases) await buildFails(project(shortcode).dir, message);
  });

  test("a keyword written twice only inside a quoted value, or in two different tags, is not a repeat", async () => {
    const p = project(`<% encoderCompare "query.png", k=2, rankOf="k=1" %>\n\n<% encoderCompare "query.png", k=1 %>`);
    await buildFails(p.dir, /rankOf: no indexed image with id "k=1"/);
  });
});

describe("thin images", () => {
  test("a 1×20000 dataset member and a 30000×1 query build within the budget", async () => {
    const p = project(`<% encoderCompare "thin.png", k=3 %>`);
    await sharp({ create: { width: 1, height: 20_000, channels: 3, background: "#0f0" } }).png().toFile(path.join(p.dataset, "tall.png"));
    await sharp({ create: { width: 30_000, height: 1, channels: 3, background: "#0f0" } }).png().toFile(path.join(p.post, "thin.png"));
    const { html, summary } = await build(p.dir);
    assert.deepEqual(summary.skipped, []);
    assert.match(html, /<table/);
  });
});

describe("capped warnings", () => {
  test("the CLI caps its skipped-images line like the build: 10 items, each cut, the rest in a report file", async () => {
    const dir = path.join(WORK, "capped-cli");
    const data = path.join(dir, "data");
    fs.mkdirSync(data, { recursive: true });
    fs.copyFileSync(EMOJI("1f436"), path.join(data, "good.png"));
    const names = Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, "0")}-${"n".repeat(230)}.png`);
    for (const name of names) fs.writeFileSync(path.join(data, name), "<html>not an image</html>");
    const cacheDir = path.join(dir, "cache");
    const run = await cli("query", "--dataset", data, "--cache-dir", cacheDir, "--encoders", "pixels", path.join(data, "good.png"));
    assert.equal(run.status, 0, run.stderr);
    const line = run.stderr.split("\n").find((l) => l.includes("dataset image(s) skipped"))!;
    const report = path.join(cacheDir, "reports", "skipped-images.txt");
    assert.ok(line.startsWith("warning: 12 dataset image(s) skipped: "), line);
    assert.ok(line.endsWith(` and 2 more; full list in ${report}`), line);
    const items = line.slice("warning: 12 dataset image(s) skipped: ".length, line.indexOf(" and 2 more")).split("; ");
    assert.equal(items.length, 10);
    for (const item of items) assert.ok(item.length <= 200, `${item.length} characters`);
    assert.equal(fs.readFileSync(report, "utf8").trim().split("\n").length, 12);
  });
});

describe("cache folder that is a link", () => {
  test("a dangling link or a loop of links as --cache-dir fails naming the option and the link, not with a bare ENOENT/ELOOP from mkdir", async () => {
    const dir = path.join(WORK, "links");
    fs.mkdirSync(dir, { recursive: true });
    fs.symlinkSync("loop-b", path.join(dir, "loop-a"));
    fs.symlinkSync("loop-a", path.join(dir, "loop-b"));
    fs.symlinkSync(path.join(OUTSIDE, "nothing-here"), path.join(dir, "dangling"));
    const data = path.join(WORK, "links-data");
    fs.mkdirSync(data, { recursive: true });
    fs.copyFileSync(EMOJI("1f436"), path.join(data, "1f436.png"));
    for (const [cacheDir, link, why] of [
      [path.join(dir, "loop-a"), path.join(dir, "loop-a"), "a loop of links"],
      [path.join(dir, "loop-a", "sub"), path.join(dir, "loop-a"), "a loop of links"],
      [path.join(dir, "dangling"), path.join(dir, "dangling"), "it points to nothing"],
    ]) {
      const run = await cli("index", "--dataset", data, "--encoders", "pixels", "--cache-dir", cacheDir);
      assert.equal(run.status, 1, run.stderr);
      assert.equal(
        run.stderr,
        `encoder-compare: cacheDir (--cache-dir) "${cacheDir}" cannot be used: ${link} is a symbolic link that cannot be followed (${why}); ` +
          `set cacheDir (--cache-dir) to a folder on disk\n`,
      );
    }
  });
});

describe("read-only folders", () => {
  test("a read-only models folder, empty or holding the built-in graphs, serves a build (stand-ins labelled as ever)", async (t) => {
    if (process.getuid?.() !== 0) return t.skip("needs root for a read-only bind mount (chmod does not stop root)");
    const data = path.join(WORK, "ro-data");
    fs.mkdirSync(data, { recursive: true });
    for (const code of ["1f436", "1f431"]) fs.copyFileSync(EMOJI(code), path.join(data, `${code}.png`));
    const full = path.join(WORK, "ro-models-full");
    const empty = path.join(WORK, "ro-models-empty");
    fs.mkdirSync(empty, { recursive: true });
    const index = (models: string, encoders: string, cache: string) =>
      cliWithEnv({ ENCODER_COMPARE_MODELS_DIR: models }, "index", "--dataset", data, "--encoders", encoders, "--cache-dir", path.join(WORK, cache));
    const first = await index(full, "pixels", "ro-c0");
    assert.equal(first.status, 0, first.stderr);
    for (const [i, models] of [full, empty].entries()) {
      try {
        execFileSync("mount", ["--bind", models, models], { stdio: "ignore" });
        execFileSync("mount", ["-o", "remount,ro,bind", models], { stdio: "ignore" });
      } catch {
        return t.skip("no read-only bind mount here (needs CAP_SYS_ADMIN)");
      }
      try {
        const run = await index(models, "pixels,clip-vit-b32", `ro-c${i + 1}`);
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /^pixels: 2 embedded, 0 cached .* · clip-vit-b32→pixels: /);
      } finally {
        execFileSync("umount", ["-l", models]);
      }
    }
  });
});
