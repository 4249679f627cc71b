// Faults with real processes: an index run or a build killed mid-way resumes cleanly, and two processes share one
// store. The CLI's `index` command and a child build are the processes.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { buildProject, projectMaker } from "../support/small-project.ts";
import { tree } from "../support/file-tree.ts";

const ROOT = process.cwd();
const CLI = path.join(ROOT, "plugins/encoder-compare/cli/main.ts");
const EMOJI_DIR = path.join(ROOT, "node_modules/emoji-datasource-google/img/google/64");

function dataset(count: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-faults-"));
  const data = path.join(dir, "data");
  fs.mkdirSync(data);
  for (const file of fs.readdirSync(EMOJI_DIR).sort().slice(0, count)) fs.copyFileSync(path.join(EMOJI_DIR, file), path.join(data, file));
  return dir;
}

function indexArgs(dir: string, encoders = "pixels"): string[] {
  return ["--import", "tsx", CLI, "index", "--dataset", path.join(dir, "data"), "--cache-dir", path.join(dir, "cache"), "--encoders", encoders];
}

function vectorCount(dir: string): number {
  const file = path.join(dir, "cache/embeddings.sqlite");
  if (!fs.existsSync(file)) return 0;
  try {
    const db = new Database(file, { readonly: true, timeout: 5000 });
    const n = (db.prepare("SELECT count(*) AS n FROM embeddings").get() as { n: number }).n;
    db.close();
    return n;
  } catch {
    return 0;
  }
}

const WORK = path.join(ROOT, "test/.output/process-faults");

const project = projectMaker(WORK);
const build = buildProject;

before(() => fs.rmSync(WORK, { recursive: true, force: true }));
after(() => fs.rmSync(WORK, { recursive: true, force: true }));

describe("faults", () => {
  test("a process killed while embedding leaves a consistent store; the next run embeds only the rest", async () => {
    const dir = dataset(600);
    const child = spawn(process.execPath, indexArgs(dir), { cwd: ROOT, stdio: "ignore" });
    const deadline = Date.now() + 60_000;
    while (vectorCount(dir) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const partial = vectorCount(dir);
    assert.ok(partial > 0 && partial < 600, `killed after ${partial} of 600 vectors (batches are committed whole)`);
    assert.equal(partial % 16, 0, "only whole batches are committed");

    const rerun = spawnSync(process.execPath, indexArgs(dir), { cwd: ROOT, encoding: "utf8" });
    assert.equal(rerun.status, 0, rerun.stderr);
    // Some emoji files are byte-identical (indexed once), so the total is the distinct count.
    const [, embedded] = rerun.stdout.match(new RegExp(`pixels: (\\d+) embedded, ${partial} cached`)) ?? [];
    assert.ok(embedded, rerun.stdout);
    assert.equal(vectorCount(dir), partial + Number(embedded));
    assert.ok(partial + Number(embedded) > 550);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("two processes embedding into one store at once both succeed, nothing lost or doubled", async () => {
    const dir = dataset(200);
    const run = (encoders: string) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, indexArgs(dir, encoders), { cwd: ROOT });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        child.on("exit", (code) => resolve({ code, out, err }));
      });
    const [a, b] = await Promise.all([run("pixels,phash"), run("phash,pixels")]);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    const again = spawnSync(process.execPath, indexArgs(dir, "pixels,phash"), { cwd: ROOT, encoding: "utf8" });
    const [, pixels, phash] = again.stdout.match(/pixels: 0 embedded, (\d+) cached .* phash: 0 embedded, (\d+) cached/) ?? [];
    assert.ok(pixels && pixels === phash, again.stdout);
    assert.equal(vectorCount(dir), 2 * Number(pixels));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("a build killed while writing images", () => {
  /** Runs the build in a child process and SIGKILLs it once a temp file is written. */
  function killedBuild(dir: string): Promise<{ paused?: string }> {
    const rel = (x: string) => path.relative(ROOT, path.join(dir, x));
    const child = spawn(process.execPath, ["--import", "tsx", "test/support/build-child.ts", rel("content"), rel("_site"), rel(".cache")], {
      env: { ...process.env, DATASET: rel("dataset"), PAUSE_BEFORE_RENAME: "1" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    return new Promise((resolve, reject) => {
      child.stdout.on("data", (chunk) => {
        out += chunk;
        const paused = /^paused (.*)$/m.exec(out);
        if (paused) child.kill("SIGKILL");
      });
      child.on("exit", (code, signal) => {
        const paused = /^paused (.*)$/m.exec(out)?.[1];
        if (signal === "SIGKILL" && paused) resolve({ paused });
        else reject(new Error(`child build: code ${code}, signal ${signal}, output ${out}`));
      });
    });
  }

  test("leaves no temp file in _site, and a rebuild gives the tree of a clean build", { timeout: 120_000 }, async () => {
    const killed = project(`<% encoderCompare "query.png", k=2 %>`);
    const { paused } = await killedBuild(killed.dir);
    assert.ok(paused && fs.existsSync(paused), "the build was killed with a temp file on disk");
    const site = path.join(killed.dir, "_site");
    assert.deepEqual([...tree(site).keys()].filter((f) => f.endsWith(".tmp")), []);
    await build(killed.dir);
    assert.equal(fs.existsSync(paused!), false, "the stale temp file was removed");
    const clean = project(`<% encoderCompare "query.png", k=2 %>`);
    await build(clean.dir);
    assert.deepEqual(tree(site), tree(path.join(clean.dir, "_site")));
  });
});
