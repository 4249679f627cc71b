// Faults with real processes: a build killed mid-embedding resumes, two processes share one
// store, a store from another schema is replaced. Uses the CLI's `index` command as the
// embedding process.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { EmbeddingStore } from "../plugins/encoder-compare/store/embedding-store.ts";

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

  test("a store from another schema version is moved aside with a warning and rebuilt", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-schema-"));
    const file = path.join(dir, "embeddings.sqlite");
    const old = new Database(file);
    old.exec("CREATE TABLE embeddings (x); PRAGMA user_version = 99;");
    old.close();
    const warnings: string[] = [];
    const store = EmbeddingStore.open(file, (w) => warnings.push(w));
    assert.equal(store.countVectors(), 0);
    store.close();
    assert.match(warnings.join("\n"), /schema version 99, this version of encoder-compare uses \d+.*moved it to/);
    assert.equal(fs.readdirSync(dir).filter((f) => f.includes(".broken-")).length, 1);
    // Opening again finds the new store healthy: no second warning, no crash loop.
    const again = EmbeddingStore.open(file, (w) => warnings.push(w));
    again.close();
    assert.equal(warnings.length, 1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
