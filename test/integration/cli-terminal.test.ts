// The CLI as a user runs it, in real processes: inside a site it takes the site's encoders and
// dataset (and --help says so); a missing or empty dataset is an error naming the command that
// makes it; output to a pipe is never truncated; the self-exclusion note is printed once; and
// hostile dataset text (escape sequences, CR, BEL, C1 CSI, separators, bidi overrides, newlines in
// captions and file names) reaches neither stdout nor stderr raw.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makePluginSite } from "../support/plugin-site.ts";
import { ensurePackageBuilt } from "../support/package-build.ts";

// The CLI runs from the compiled package (bin.js → dist/).
before(() => ensurePackageBuilt());

const ROOT = process.cwd();
const BIN = path.join(ROOT, "plugins/encoder-compare/bin.js");
const EMOJI = path.join(ROOT, "node_modules/emoji-datasource-google/img/google/64");
/** Anything a terminal would act on, other than the line feed between lines. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const HOSTILE_CAPTION = "red \u001b[31mALERT\u001b[0m\r overwritten \u0007 bell \u009b2J csi \u2028 sep \u202etxt.exe\nforged line";
const HOSTILE_FILE = "evil\u001b[2J\nname.png";
const LONG_CAPTION = `a caption that goes on ${"and on ".repeat(30)}to the end`;

function cli(cwd: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, ENCODER_COMPARE_OFFLINE: "1" } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

let site = "";

function makeSite(pluginOptions: object): string {
  const dir = makePluginSite("ec-cli-site-", pluginOptions);
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module", scripts: { dataset: "node make-data.js" } }));
  return dir;
}

function fillDataset(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const name of ["1f436.png", "1f437.png", "1f438.png", "1f439.png"]) fs.copyFileSync(path.join(EMOJI, name), path.join(dir, name));
  fs.copyFileSync(path.join(EMOJI, "1f43a.png"), path.join(dir, HOSTILE_FILE));
  fs.writeFileSync(path.join(dir, "bad\u001b]0;pwned\u0007.png"), "not an image");
  const images = [
    { file: "1f436.png", caption: "the query" },
    { file: "1f437.png", caption: HOSTILE_CAPTION },
    { file: "1f438.png", caption: LONG_CAPTION },
    { file: "1f439.png", caption: "plain" },
    { file: HOSTILE_FILE },
    { file: "bad\u001b]0;pwned\u0007.png", caption: "broken" },
  ];
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify({ images }));
}

before(() => {
  site = makeSite({ encoders: ["phash"], dataset: "data", cacheDir: ".cache/ec" });
});
after(() => {
  if (site) fs.rmSync(site, { recursive: true, force: true });
});

describe("CLI inside a site", () => {
  test("a fresh clone (dataset not made yet): missing or empty is an error naming `npm run dataset`", () => {
    const missing = cli(site, "query", path.join(EMOJI, "1f436.png"));
    assert.equal(missing.status, 1, missing.stderr);
    assert.equal(missing.stdout, "");
    assert.match(missing.stderr, /^encoder-compare: dataset folder "data" does not exist; make it with `npm run dataset`\n$/);
    fs.mkdirSync(path.join(site, "data"));
    fs.writeFileSync(path.join(site, "data", "README.md"), "made by npm run dataset\n");
    const empty = cli(site, "query", path.join(EMOJI, "1f436.png"));
    assert.equal(empty.status, 1, empty.stderr);
    assert.match(empty.stderr, /^encoder-compare: dataset folder "data" has no images; make it with `npm run dataset`\n$/);
    // A folder named on the command line gets the importer's command instead.
    const flagged = cli(site, "index", "--dataset", "elsewhere");
    assert.match(
      flagged.stderr,
      /dataset folder "elsewhere" does not exist; put images in it, or make one with `npx encoder-compare dataset import jina-memes --out elsewhere`/,
    );
  });

  test("defaults come from the site's plugin options, and --help says where from", () => {
    fillDataset(path.join(site, "data"));
    const help = cli(site, "query", "--help");
    assert.equal(help.status, 0);
    assert.match(
      help.stdout,
      /\nDefaults here \(.*\):\n {2}encoders {2}phash {2}\(the site's \.eleventy\.ts\)\n {2}dataset {3}data {2}\(the site's \.eleventy\.ts\)\n/,
    );
    const elsewhere = cli(os.tmpdir(), "index", "--help");
    assert.match(elsewhere.stdout, /encoders {2}pixels, phash {2}\(plugin default\)/);
    const run = cli(site, "query", "data/1f436.png");
    assert.equal(run.status, 0, run.stderr);
    const heading = run.stdout.split("\n")[1];
    assert.equal(heading.trim(), "phash (64-bit DCT hash)");
    const flagged = cli(site, "query", "data/1f436.png", "--encoders", "pixels");
    assert.equal(flagged.stdout.split("\n")[1].trim(), "pixels (16×16 thumbnail)");
  });

  test("hostile captions and file names are escaped on stdout and stderr; a pipe gets every caption whole; one self-exclusion note", () => {
    const run = cli(site, "query", "data/1f436.png", "--encoders", "pixels,phash", "--k", "5");
    assert.equal(run.status, 0, run.stderr);
    for (const [name, text] of [["stdout", run.stdout], ["stderr", run.stderr]]) {
      const found = RAW_CONTROL.exec(text);
      assert.equal(found, null, `${name} holds U+${found?.[0].charCodeAt(0).toString(16).padStart(4, "0")}: ${JSON.stringify(text)}`);
    }
    const visible = "red \\u001b[31mALERT\\u001b[0m\\r overwritten \\u0007 bell \\u009b2J csi \\u2028 sep \\u202etxt.exe\\nforged line";
    assert.ok(run.stdout.includes(visible), run.stdout);
    assert.ok(run.stdout.includes("evil\\u001b[2J\\nname.png"), run.stdout);
    assert.ok(!run.stdout.split("\n").some((line) => line.startsWith("forged line")));
    // Not a terminal: nothing is cut, in either column.
    assert.equal(run.stdout.split(LONG_CAPTION).length - 1, 2, run.stdout);
    assert.equal(run.stdout.split("\n").filter((line) => line.includes("the query itself is in the dataset")).length, 1);
    assert.match(run.stdout, /\n {4}\(the query itself is in the dataset and left out of the results\)\n$/);
    // The unreadable member is reported with its name escaped.
    assert.match(run.stderr, /bad\\u001b\]0;pwned\\u0007\.png/);

    const json = cli(site, "query", "data/1f436.png", "--encoders", "pixels", "--k", "5", "--json");
    assert.equal(json.status, 0, json.stderr);
    assert.equal(RAW_CONTROL.exec(json.stdout), null);
    const captions = JSON.parse(json.stdout)[0].results[0].hits.map((h: { caption: string }) => h.caption);
    assert.ok(captions.includes(HOSTILE_CAPTION), "JSON output stays valid and exact");
    assert.ok(captions.includes(HOSTILE_FILE));
  });

  test("the --html page links the query and every result to its full-size copy, as the shortcode's table does", () => {
    if (!fs.existsSync(path.join(site, "data"))) fillDataset(path.join(site, "data"));
    const page = path.join(site, "out", "page.html");
    fs.mkdirSync(path.dirname(page), { recursive: true });
    const run = cli(site, "query", "data/1f436.png", "--encoders", "pixels", "--k", "3", "--html", page);
    assert.equal(run.status, 0, run.stderr);
    const html = fs.readFileSync(page, "utf8");
    const links = [...html.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(links.length, 4, html);
    for (const link of links) assert.ok(fs.statSync(path.join(path.dirname(page), decodeURI(link))).isFile(), link);
  });

  test("error messages with hostile paths are escaped", () => {
    const run = cli(site, "query", "no\u001b[2Jsuch\u009b.png");
    assert.equal(run.status, 2);
    assert.equal(RAW_CONTROL.exec(run.stderr), null, JSON.stringify(run.stderr));
    assert.match(run.stderr, /no\\u001b\[2Jsuch\\u009b\.png/);
  });
});

describe("the build's log", () => {
  test("a real Eleventy build prints the skipped member's hostile name escaped", () => {
    fs.writeFileSync(path.join(site, "index.njk"), '{% encoderCompare "data/1f436.png", encoders=["pixels"] %}\n');
    const eleventy = path.join(ROOT, "node_modules/@11ty/eleventy/cmd.cjs");
    const tsx = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");
    const build = spawnSync(process.execPath, [tsx, eleventy, "--config=.eleventy.ts"], { cwd: site, encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    const log = build.stdout + build.stderr;
    assert.equal(RAW_CONTROL.exec(log), null, JSON.stringify(log));
    assert.match(log, /\[encoder-compare\] 1 dataset image\(s\) skipped: data\/bad\\u001b\]0;pwned\\u0007\.png \(unsupported content: not a PNG/);

    // A failing build: Eleventy prints the plugin's error, which names the hostile path escaped.
    fs.writeFileSync(path.join(site, "broken.njk"), '{% encoderCompare "no\u001b[2Jsuch.png", encoders=["pixels"] %}\n');
    const failed = spawnSync(process.execPath, [tsx, eleventy, "--config=.eleventy.ts"], { cwd: site, encoding: "utf8" });
    fs.rmSync(path.join(site, "broken.njk"));
    assert.equal(failed.status, 1);
    assert.equal(RAW_CONTROL.exec(failed.stdout + failed.stderr), null, JSON.stringify(failed.stderr));
    assert.match(failed.stderr, /no\\u001b\[2Jsuch\.png/);
  });
});
