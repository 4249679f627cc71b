// What a build reads, writes and shows, through real builds and the CLI: links out of the project, FIFOs, sparse
// files over the size limits, keyword values Nunjucks cannot read, capped warning lists, and cache and models
// folders that are unusable or read-only.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import { BUILTIN_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { testEngine } from "../support/engine.ts";
import { buildProject, chain, EMOJI, outsideSecret, projectMaker } from "../support/small-project.ts";
import { tree } from "../support/file-tree.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/file-boundaries");
const { outside: OUTSIDE, secret: SECRET } = outsideSecret(WORK);

const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex");

const project = projectMaker(WORK);
const build = buildProject;

/** No file of the site holds the outside file's bytes, and the store never hashed a path outside the project. */
function assertNothingFromOutside(dir: string): void {
  const secret = sha256(fs.readFileSync(SECRET));
  for (const [file, hash] of tree(path.join(dir, "_site"))) assert.notEqual(hash, secret, `${file} is the outside file`);
  const names = [...tree(path.join(dir, "_site")).keys()].join("\n");
  assert.doesNotMatch(names, new RegExp(secret.slice(0, 16)));
  const storeFile = path.join(dir, ".cache/embeddings.sqlite");
  if (!fs.existsSync(storeFile)) return;
  const store = new Database(storeFile, { readonly: true });
  const hashed = store.prepare("SELECT path, sha256 FROM file_hashes").all() as Array<{ path: string; sha256: string }>;
  store.close();
  for (const row of hashed) {
    assert.ok(row.path.startsWith(`${dir}${path.sep}`), `hashed ${row.path}`);
    assert.notEqual(row.sha256, secret);
  }
}

describe("links out of the project", () => {
  test("a dataset member linking outside is skipped with its reason, and nothing of it reaches _site", async () => {
    const p = project(`<% encoderCompare "query.png", k=3 %>`);
    fs.symlinkSync(SECRET, path.join(p.dataset, "zz.png"));
    const { summary } = await build(p.dir, { includeSelf: true });
    const skipped = summary.skipped.find((s) => s.file.endsWith("zz.png"));
    assert.match(skipped?.reason ?? "", /resolves to .*secret\.png, outside /);
    assertNothingFromOutside(p.dir);
  });

  test("JSON and CSV manifest entries that are links to outside are skipped", async () => {
    for (const kind of ["json", "csv"]) {
      const p = project(`<% encoderCompare "query.png", k=3 %>`);
      fs.symlinkSync(SECRET, path.join(p.dataset, "link.png"));
      const files = ["1f436.png", "link.png"];
      fs.writeFileSync(
        path.join(p.dataset, `manifest.${kind}`),
        kind === "json" ? JSON.stringify({ images: files.map((file) => ({ file })) }) : `file\n${files.join("\n")}\n`,
      );
      const { summary } = await build(p.dir);
      assert.match(summary.skipped.find((s) => s.file.endsWith("link.png"))?.reason ?? "", /outside/, kind);
      assertNothingFromOutside(p.dir);
    }
  });

  test("dataset= naming a folder that links outside fails the build naming the post", async () => {
    const p = project(`<% encoderCompare "query.png", dataset="linked" %>`);
    const outsideSet = path.join(OUTSIDE, "set");
    fs.mkdirSync(outsideSet, { recursive: true });
    fs.copyFileSync(SECRET, path.join(outsideSet, "secret.png"));
    fs.symlinkSync(outsideSet, path.join(p.dir, "linked"));
    // dataset= is relative to the project root (the cwd).
    const shortcode = `<% encoderCompare "query.png", dataset="${path.relative(ROOT, path.join(p.dir, "linked"))}" %>`;
    fs.writeFileSync(path.join(p.post, "index.md"), `---\ntemplateEngineOverride: njk,md\n---\n${shortcode}\n`);
    await assert.rejects(build(p.dir), (error) => {
      assert.match(chain(error), /posts\/p\/index\.md: encoderCompare: dataset ".*linked" is a link to .*, outside the project/);
      return true;
    });
    assertNothingFromOutside(p.dir);
  });
});

describe("only regular files are read", () => {
  test("a FIFO as a query image fails the build naming it, without waiting on the FIFO", { timeout: 60_000 }, async () => {
    const p = project(`<% encoderCompare "pipe.png" %>`);
    execFileSync("mkfifo", [path.join(p.post, "pipe.png")]);
    await assert.rejects(build(p.dir), (error) => {
      assert.match(chain(error), /index\.md: encoderCompare "pipe\.png": .*pipe\.png is not a regular file \(a FIFO\)/);
      return true;
    });
  });

  test("a FIFO dataset member is skipped; a FIFO manifest fails naming it", { timeout: 60_000 }, async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    execFileSync("mkfifo", [path.join(p.dataset, "fifo.png")]);
    const { summary } = await build(p.dir);
    assert.match(summary.skipped.find((s) => s.file.endsWith("fifo.png"))?.reason ?? "", /^not a regular file \(a FIFO\)$/);
    const engine = testEngine(path.join(p.dir, "engine"));
    execFileSync("mkfifo", [path.join(p.dataset, "manifest.json")]);
    assert.throws(() => engine.dataset(p.dataset), /dataset manifest .*manifest\.json cannot be read: not a regular file \(a FIFO\)/);
    await engine.close();
  });

  test("the CLI says a FIFO query is not a regular file, not that it does not exist", { timeout: 60_000 }, async () => {
    const fifo = path.join(WORK, "cli.fifo");
    fs.mkdirSync(WORK, { recursive: true });
    execFileSync("mkfifo", [fifo]);
    let err = "";
    const code = await main(["query", fifo], { write: () => {} }, { write: (c: string) => (err += c) }, { ENCODER_COMPARE_OFFLINE: "1" });
    assert.equal(code, 2);
    assert.match(err, /query image .*cli\.fifo is not a regular file \(a FIFO\)/);
  });

  test("a FIFO model file is an unavailable model, not a hang", { timeout: 60_000 }, async () => {
    const dir = path.join(WORK, "fifo-model");
    fs.mkdirSync(dir, { recursive: true });
    execFileSync("mkfifo", [path.join(dir, "model.onnx")]);
    const spec: EncoderSpec = { ...BUILTIN_ENCODERS[0], id: "fifo-model", source: { kind: "file", path: path.join(dir, "model.onnx") } };
    const engine = testEngine(dir, { strict: true }, [spec]);
    await assert.rejects(engine.encoder("fifo-model"), /not a regular file \(a FIFO\)/);
    await engine.close();
  });
});

describe("large files", () => {
  test("a dataset file over 2 GiB is skipped with the size limit named; the build goes on", async () => {
    const p = project(`<% encoderCompare "query.png", k=2 %>`);
    const huge = path.join(p.dataset, "huge.png");
    fs.writeFileSync(huge, fs.readFileSync(EMOJI("1f438")));
    fs.truncateSync(huge, 2 ** 31 + 4096); // sparse: no disk used
    const { pages, summary } = await build(p.dir);
    assert.match(summary.skipped.find((s) => s.file.endsWith("huge.png"))?.reason ?? "", /^2\.0 GiB, above the 256\.0 MiB limit$/);
    assert.match(pages[0].content, /<table/);
  });

  test("hashing streams: peak memory stays far below the file's size", async () => {
    const dir = path.join(WORK, "stream");
    fs.mkdirSync(dir, { recursive: true });
    const big = path.join(dir, "big.png");
    fs.writeFileSync(big, fs.readFileSync(EMOJI("1f438")));
    fs.truncateSync(big, 200 * 1024 ** 2);
    const script = `import { loadDataset } from ${JSON.stringify(path.join(ROOT, "plugins/encoder-compare/dataset/load.ts"))};
      const d = loadDataset(${JSON.stringify(dir)});
      console.log(JSON.stringify({ images: d.images.length, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));`;
    const out = JSON.parse(execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" }));
    assert.equal(out.images, 1);
    assert.ok(out.maxRssMiB < 170, `peak RSS ${out.maxRssMiB.toFixed(0)} MiB while hashing a 200 MiB file`);
  });
});

describe("keyword values Nunjucks cannot read", () => {
  test("through Eleventy: the build fails naming the post, the keyword and what was written", async () => {
    const cases: Array<[string, RegExp]> = [
      [`<% encoderCompare "query.png", k=1e9 %>`, /encoderCompare: k= has a value Nunjucks could not read .*; written as "k=1e9"/],
      [`<% encoderCompare "query.png", k=5x %>`, /written as "k=5x"/],
      [`<% encoderCompare "query.png", encoders=clipp %>`, /encoders= has a value .*written as "encoders=clipp"/],
      [`<% encoderCompare "query.png", rankOf=nosuch %>`, /rankOf= has a value .*written as "rankOf=nosuch"/],
      [`<% encoderEval disagreements=lots %>`, /encoderEval: disagreements= has a value .*written as "disagreements=lots"/],
      [`<% encoderCompare "query.png", rankOf="nosuch" %>`, /rankOf: no indexed image with id "nosuch"/],
    ];
    for (const [shortcode, message] of cases) {
      const p = project(shortcode);
      await assert.rejects(build(p.dir), (error) => {
        assert.match(chain(error), message, shortcode);
        assert.match(chain(error), /posts\/p\/index\.md/);
        return true;
      });
    }
  });
});

describe("warning lists are capped", () => {
  test("a manifest of 2,000 missing files gives one short warning line; the full list goes to a report under the cache", async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    const missing = Array.from({ length: 2_000 }, (_, i) => `missing-${String(i).padStart(6, "0")}.png`);
    fs.writeFileSync(path.join(p.dataset, "manifest.json"), JSON.stringify({ images: [{ file: "1f436.png" }, ...missing.map((file) => ({ file }))] }));
    let err = "";
    const rel = (x: string) => path.relative(ROOT, path.join(p.dir, x));
    const env = { ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(WORK, "models") };
    const args = ["index", "--dataset", rel("dataset"), "--cache-dir", rel(".cache"), "--encoders", "pixels"];
    const code = await main(args, { write: () => {} }, { write: (c: string) => (err += c) }, env);
    assert.equal(code, 0, err);
    const line = err.split("\n").find((l) => l.includes("skipped"))!;
    assert.ok(err.length < 2000, `${err.length} characters of warnings`);
    assert.match(line, /^2000 dataset image\(s\) skipped: .*missing-000000\.png \(file not found\); .* and 1990 more; /);
    assert.match(line, /; full list in .*\.cache\/reports\/skipped-images\.txt$/);
    const report = fs.readFileSync(path.join(p.dir, ".cache/reports/skipped-images.txt"), "utf8").trim().split("\n");
    assert.equal(report.length, 2_000);
  });
});

describe("cache and models folders are checked before use", () => {
  const env = { ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(WORK, "models") };
  const run = async (args: string[], extraEnv: Record<string, string> = {}) => {
    let err = "";
    const code = await main(["index", "--encoders", "pixels", ...args], { write: () => {} }, { write: (c: string) => (err += c) }, { ...env, ...extraEnv });
    return { code, err };
  };

  test("--cache-dir on /proc or /sys, or below a file, fails at once naming the option", { timeout: 60_000 }, async () => {
    for (const [dir, message] of [
      ["/proc/x", /cacheDir \(--cache-dir\) "\/proc\/x" is under \/proc, a kernel file system/],
      ["/sys/kernel/x/y", /cacheDir \(--cache-dir\) "\/sys\/kernel\/x\/y" is under \/sys/],
      [path.join(SECRET, "cache"), /cannot be created: .*secret\.png is a file, not a folder/],
    ] as const) {
      const { code, err } = await run(["--cache-dir", dir]);
      assert.equal(code, 1, dir);
      assert.match(err, message);
    }
  });

  test("a models folder on /proc fails naming $ENCODER_COMPARE_MODELS_DIR", { timeout: 60_000 }, async () => {
    const { code, err } = await run([], { ENCODER_COMPARE_MODELS_DIR: "/proc/self/models" });
    assert.equal(code, 1);
    assert.match(err, /\$ENCODER_COMPARE_MODELS_DIR "\/proc\/self\/models" is under \/proc/);
  });
});

describe("a read-only cache", () => {
  /** Makes `dir` read-only for real: a read-only bind mount as root, else (not root) permissions. Returns the undo, or a reason to skip. */
  function makeReadOnly(dir: string): (() => void) | string {
    if (process.getuid?.() !== 0) {
      execFileSync("chmod", ["-R", "a-w", dir]);
      return () => execFileSync("chmod", ["-R", "u+w", dir]);
    }
    try {
      execFileSync("mount", ["--bind", dir, dir], { stdio: "ignore" });
      execFileSync("mount", ["-o", "remount,ro,bind", dir], { stdio: "ignore" });
    } catch {
      try {
        execFileSync("umount", [dir], { stdio: "ignore" });
      } catch {
        // was not mounted
      }
      return "root without CAP_SYS_ADMIN: no read-only bind mount (chmod does not stop root)";
    }
    return () => execFileSync("umount", ["-l", dir]);
  }

  test("a fully cached build renders from it; one that must embed fails naming the folder and the option", { timeout: 60_000 }, async (t) => {
    const p = project(`<% encoderCompare "query.png", k=2 %>`);
    const first = await build(p.dir);
    const cache = path.join(p.dir, ".cache");
    const undo = makeReadOnly(cache);
    if (typeof undo === "string") return t.skip(undo);
    try {
      const again = await build(p.dir);
      assert.equal(again.pages[0].content, first.pages[0].content);
      assert.equal(again.summary.encoders[0].embedded, 0);
      fs.copyFileSync(EMOJI("1f697"), path.join(p.dataset, "new.png"));
      await assert.rejects(build(p.dir), (error) => {
        const message = chain(error);
        assert.match(message, /1 image\(s\) of the dataset for pixels must be embedded, but the cache folder .*\.cache is read-only \((EROFS|EACCES)\); /);
        assert.match(message, /cacheDir option \(--cache-dir\)/);
        return true;
      });
    } finally {
      undo();
    }
    assert.deepEqual(fs.readdirSync(cache).filter((f) => f.includes("broken")), [], "nothing was moved aside");
  });
});
