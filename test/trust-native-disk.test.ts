// Trust boundaries: bytes that native code parses, a full disk, commands that would delete what
// they did not write, the preview server and refusals that must say what cannot work. Every
// case goes through a real entry point: a site build or the CLI in a child process with a kill
// timer, a small tmpfs, loopback servers.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { faissStatus } from "../plugins/encoder-compare/search/faiss.ts";
import { EMOJI, outsideSecret, projectMaker, type TrustProject } from "./support/trust-project.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/trust-native-disk");
outsideSecret(WORK);
const project = projectMaker(WORK);
const NEEDS_FAISS = { skip: !faissStatus().available && "faiss-node not built" };
const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex");
const CLI_ENV = { ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(WORK, "models") };

interface ChildRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Builds the project in a child process (a crash of native code there cannot take the test run
 * down) with a kill timer; stdout holds "built <sha256 of the page>" or "failed <error chain>".
 */
function buildInChild(p: TrustProject, options: Record<string, unknown> = {}, env: Record<string, string> = {}): ChildRun {
  const script =
    `import { buildProject, chain } from ${JSON.stringify(path.join(ROOT, "test/support/trust-project.ts"))};\n` +
    `import crypto from "node:crypto";\n` +
    `try {\n` +
    `  const { pages, summary } = await buildProject(${JSON.stringify(p.dir)}, ${JSON.stringify(options)});\n` +
    `  const embedded = summary.encoders.reduce((sum, e) => sum + e.embedded, 0);\n` +
    `  console.log("built " + crypto.createHash("sha256").update(pages[0].content).digest("hex") + " embedded " + embedded);\n` +
    `} catch (error) { console.log("failed " + chain(error).replace(/\\n/g, " | ")); process.exitCode = 1; }\n`;
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 180_000,
    killSignal: "SIGKILL",
    env: { ...process.env, ...env },
  });
  assert.notEqual(child.signal, "SIGKILL", `the build hung (killed after 180 s)\n${child.stderr}`);
  return { status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr };
}

/** The CLI as a process with a kill timer. */
function cliInChild(args: string[], cwd = ROOT, timeout = 120_000): ChildRun {
  const child = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "plugins/encoder-compare/bin.js"), ...args], {
    cwd,
    encoding: "utf8",
    timeout,
    killSignal: "SIGKILL",
    env: { ...process.env, ...CLI_ENV },
  });
  assert.notEqual(child.signal, "SIGKILL", `encoder-compare ${args.join(" ")} hung\n${child.stderr}`);
  return { status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr };
}

/** Every file under `dir` with its sha256 (links and folders by kind). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = entry.isFile() ? sha256(fs.readFileSync(file)) : entry.isDirectory() ? "dir" : "other";
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Native code: faiss indexes

/** The HNSW struct's entry point and max level in a serialised IHNf index (see setHnswEfSearch). */
function hnswEntryOffset(bytes: Buffer): number {
  let at = 4 + 4 + 8 + 8 + 8 + 1 + 4;
  for (const width of [8, 4, 4, 8, 4]) at += 8 + Number(bytes.readBigUInt64LE(at)) * width;
  return at;
}

/** An embeddings folder exported from the project's dataset, with HNSW and IVF indexes written by python3-faiss. */
function embeddingsWithIndexes(p: TrustProject): string {
  const folder = path.join(p.dir, "emb");
  const cache = path.relative(ROOT, path.join(p.dir, ".cache"));
  const run = cliInChild(["export", "--encoder", "pixels", "--dataset", path.relative(ROOT, p.dataset), "--cache-dir", cache, folder]);
  assert.equal(run.status, 0, run.stderr);
  const python =
    "import sys, glob, numpy as np, faiss\n" +
    "x = np.concatenate([np.load(f) for f in sorted(glob.glob(sys.argv[1] + '/img_emb/*.npy'))]).astype(np.float32)\n" +
    "for key, name in (('HNSW8', 'hnsw'), ('IVF1,Flat', 'ivf')):\n" +
    "    index = faiss.index_factory(x.shape[1], key, faiss.METRIC_INNER_PRODUCT); index.train(x); index.add(x)\n" +
    "    faiss.write_index(index, sys.argv[1] + '/' + name + '.index')\n";
  execFileSync("/usr/bin/python3", ["-c", python, folder], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, OMP_NUM_THREADS: "1" } });
  return folder;
}

function embeddingsOptions(p: TrustProject, folder: string, index: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const rel = (file: string) => path.relative(ROOT, file);
  return { dataset: { embeddings: rel(folder), encoder: "pixels", images: rel(p.dataset), index: rel(index), ...extra } };
}

describe("native code never parses unchecked bytes", NEEDS_FAISS, () => {
  test("a user's faiss index that crashes faiss (entry point, max level, a cut IVF header with nprobe) fails the build naming it", () => {
    const p = project(`<% encoderCompare "query.png", k=2 %>`);
    const folder = embeddingsWithIndexes(p);
    const good = buildInChild(p, embeddingsOptions(p, folder, path.join(folder, "hnsw.index")));
    assert.match(good.stdout, /^built [0-9a-f]{64} /m, good.stderr);
    const hnsw = fs.readFileSync(path.join(folder, "hnsw.index"));
    const ivf = fs.readFileSync(path.join(folder, "ivf.index"));
    const variants: Array<[string, Buffer, Record<string, unknown>, RegExp]> = [
      ["entry-point.index", Buffer.from(hnsw).fill(0x7f, hnswEntryOffset(hnsw), hnswEntryOffset(hnsw) + 4), {}, /faiss crashed reading it \(SIGSEGV\)/],
      ["max-level.index", Buffer.from(hnsw).fill(0x10, hnswEntryOffset(hnsw) + 4, hnswEntryOffset(hnsw) + 6), { efSearch: 5 }, /faiss crashed/],
      ["cut-ivf.index", ivf.subarray(0, 49), { nprobe: 2 }, /cut-ivf\.index \(IwFl\) is cut short: it ends \(49 bytes\) inside the header that holds nprobe/],
      ["cut-ivf-own.index", ivf.subarray(0, 49), {}, /cut-ivf-own\.index is damaged or not a faiss index: faiss refused it/],
      ["half.index", hnsw.subarray(0, hnsw.length >> 1), {}, /half\.index is damaged or not a faiss index: faiss refused it/],
    ];
    for (const [name, bytes, extra, message] of variants) {
      const file = path.join(folder, name);
      fs.writeFileSync(file, bytes);
      const run = buildInChild(p, embeddingsOptions(p, folder, file, extra));
      assert.equal(run.signal, null, `${name}: the build crashed (${run.signal})`);
      assert.equal(run.status, 1, `${name}: ${run.stdout}${run.stderr}`);
      const line = run.stdout.trim();
      assert.match(line, new RegExp(name.replace(/\./g, "\\.")), name);
      assert.match(line, message, name);
      assert.doesNotMatch(line, /out of range/, name);
    }
    // A good file is checked once: its verdict is remembered by content hash.
    assert.equal(fs.readdirSync(path.join(p.dir, ".cache/faiss-checks")).length, 1);
  });

  const NEXT_QUERY: Record<string, string> = { "1f697": "1f40d", "1f438": "1f418", "1f42d": "1f422", "1f34e": "1f427" };
  test("the plugin's own ANN cache file changed on disk is rebuilt, not parsed; every later build works", () => {
    const p = project(`<% encoderCompare "query.png", k=2 %>`);
    const options = { indexBackend: "ann" };
    const first = buildInChild(p, options);
    assert.match(first.stdout, /^built /m, first.stderr);
    const indexes = path.join(p.dir, ".cache/indexes");
    const graphOf = () => fs.readdirSync(indexes).find((f) => f.endsWith(".faiss"))!;
    const damage: Array<[string, string, (bytes: Buffer) => void]> = [
      ["entry point", "1f697", (b) => b.fill(0x7f, hnswEntryOffset(b), hnswEntryOffset(b) + 4)],
      ["max level", "1f438", (b) => b.fill(0x10, hnswEntryOffset(b) + 4, hnswEntryOffset(b) + 6)],
      ["last byte", "1f42d", (b) => (b[b.length - 1] ^= 0xff)],
      ["zeroed first 4 KB", "1f34e", (b) => b.fill(0, 0, Math.min(4096, b.length))],
    ];
    for (const [what, query, change] of damage) {
      const file = path.join(indexes, graphOf());
      const bytes = fs.readFileSync(file);
      change(bytes);
      fs.writeFileSync(file, bytes);
      // Another query image: its results are not remembered, so the index is needed.
      fs.copyFileSync(EMOJI(query), path.join(p.post, "query.png"));
      const run = buildInChild(p, options);
      assert.equal(run.signal, null, `${what}: the build crashed (${run.signal})`);
      assert.match(run.stdout, /^built /m, `${what}: ${run.stdout}${run.stderr}`);
      assert.notDeepEqual(fs.readFileSync(path.join(indexes, graphOf())), bytes, `${what}: the damaged graph was kept`);
      // The rewritten cache serves the next build (another query again) without complaint.
      fs.copyFileSync(EMOJI(NEXT_QUERY[query]), path.join(p.post, "query.png"));
      const again = buildInChild(p, options);
      assert.match(again.stdout, /^built /m, what);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A full disk

/** A tmpfs of `size` mounted at `dir` for the test's length (root only); undefined where mounting is not allowed. */
function smallDisk(dir: string, size: string): { unmount: () => void } | undefined {
  fs.mkdirSync(dir, { recursive: true });
  const mount = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { encoding: "utf8" });
  if (mount.status !== 0) return undefined;
  return { unmount: () => void spawnSync("umount", ["-l", dir]) };
}

/** Fills the file system of `dir` up to `leave` free bytes. */
function fill(dir: string, leave: number): void {
  const { bavail, bsize } = fs.statfsSync(dir);
  const filler = path.join(dir, "filler");
  const fd = fs.openSync(filler, "a");
  try {
    let left = Math.max(0, bavail * bsize - leave);
    const chunk = Buffer.alloc(64 << 10, 1);
    while (left > 0) left -= fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    fs.closeSync(fd);
  }
}

/** The store's integrity check and its vectors (encoder key + image sha256), read with SQLite directly. */
function storeRows(file: string): { integrity: string; vectors: string[] } {
  const db = new Database(file, { readonly: true });
  try {
    const integrity = db.pragma("integrity_check", { simple: true }) as string;
    const vectors = db.prepare("SELECT encoder_key || ' ' || image_sha256 AS v FROM embeddings ORDER BY v").pluck().all() as string[];
    return { integrity, vectors };
  } finally {
    db.close();
  }
}

const CAN_MOUNT = process.getuid?.() === 0 ? {} : { skip: "mounting a small tmpfs needs root" };

describe("a full disk loses nothing", CAN_MOUNT, () => {
  test("a build on a full cache disk fails in one line naming the folder and the space; the store is kept and reused after", () => {
    // Free space left on the cache's disk: nothing, enough to open the store but not to write, a little more.
    for (const leave of [0, 16 << 10, 48 << 10]) {
      const p = project(`<% encoderCompare "query.png", k=2 %>`);
      const disk = smallDisk(path.join(p.dir, "disk"), "6m");
      assert.ok(disk, "mount failed");
      try {
        const cacheDir = path.join(p.dir, "disk/cache");
        const options = { cacheDir, encoders: ["pixels", "phash"] };
        const first = buildInChild(p, options);
        assert.match(first.stdout, /^built [0-9a-f]{64} embedded 8$/m, first.stderr);
        const store = path.join(cacheDir, "embeddings.sqlite");
        const before = storeRows(store);
        // New images to embed, then a full disk.
        for (const code of ["1f697", "1f438", "1f42d"]) fs.copyFileSync(EMOJI(code), path.join(p.dataset, `${code}.png`));
        fill(path.join(p.dir, "disk"), leave);
        const full = buildInChild(p, options);
        assert.equal(full.signal, null);
        assert.equal(full.status, 1, `free ${leave}: ${full.stdout}`);
        const line = /embedding store in .*disk\/cache cannot be written: the disk is full \([\d.]+ MB free there\); free at least [\d.]+ MB/;
        assert.match(full.stdout, line, `${leave}`);
        assert.equal(fs.readdirSync(cacheDir).filter((f) => f.includes(".broken")).length, 0, `free ${leave}: the store was set aside`);
        const kept = storeRows(store);
        assert.equal(kept.integrity, "ok", `free ${leave}`);
        assert.deepEqual(kept.vectors.filter((v) => before.vectors.includes(v)), before.vectors, `free ${leave}: vectors were lost`);
        // Space again: at most the three new images are embedded (per encoder; what the failed build stored is kept).
        fs.rmSync(path.join(p.dir, "disk/filler"));
        const after = buildInChild(p, options);
        const embedded = Number(/^built [0-9a-f]{64} embedded (\d+)$/m.exec(after.stdout)?.[1]);
        assert.ok(embedded <= 6, `free ${leave}: ${after.stdout}${after.stderr}`);
        assert.equal(storeRows(store).vectors.length, before.vectors.length + 6);
      } finally {
        disk.unmount();
      }
    }
  });

  test("only proven corruption sets a store aside, and one copy at most", () => {
    const p = project(`<% encoderCompare "query.png", k=2 %>`);
    const cache = path.join(p.dir, ".cache");
    const store = path.join(cache, "embeddings.sqlite");
    for (let round = 0; round < 3; round++) {
      const run = buildInChild(p);
      assert.match(run.stdout, /^built [0-9a-f]{64} embedded 4$/m, `${round}: ${run.stdout}${run.stderr}`);
      fs.writeFileSync(store, "not a database ".repeat(400));
      for (const suffix of ["-wal", "-shm"]) fs.rmSync(store + suffix, { force: true });
    }
    assert.equal(fs.readdirSync(cache).filter((f) => /\.broken-\d+$/.test(f)).length, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// Commands that would delete or replace what they did not write

/** A project with a site config naming its input/output and the plugin's dataset, as the CLI reads it. */
function siteProject(): TrustProject {
  const p = project(`<% encoderCompare "query.png", k=2 %>`);
  fs.writeFileSync(
    path.join(p.dir, "eleventy.config.mjs"),
    "function encoderComparePlugin() {}\n" +
      "export default function (config) {\n" +
      '  config.addPlugin(encoderComparePlugin, { dataset: "dataset", cacheDir: ".cache", encoders: ["pixels"] });\n' +
      '  return { dir: { input: "content", output: "_site" } };\n' +
      "}\n",
  );
  return p;
}

describe("no command deletes or replaces what it did not write", () => {
  test("export into a folder that holds files refuses without --force, naming what it would replace; --force names it and keeps the rest", () => {
    const p = siteProject();
    const out = path.join(p.dir, "out");
    assert.equal(cliInChild(["export", "--encoder", "pixels", "--shard-rows", "1", "out"], p.dir).status, 0);
    // Someone else's clip-retrieval folder: more shards than ours, their own notes.
    fs.writeFileSync(path.join(out, "img_emb/img_emb_7.npy"), "theirs");
    fs.writeFileSync(path.join(out, "notes.txt"), "theirs");
    const cases: Array<[string, RegExp]> = [
      ["out", /export: .*out is not empty \(encoder-compare\.json, img_emb, metadata, notes\.txt\); exporting would replace or remove .*img_emb_7\.npy/],
    ];
    const onlyNotes = path.join(p.dir, "notes-only");
    fs.mkdirSync(onlyNotes);
    fs.writeFileSync(path.join(onlyNotes, "README"), "theirs");
    cases.push(["notes-only", /export: .*notes-only is not empty \(README\) — add --force/]);
    const hidden = path.join(p.dir, "hidden");
    fs.mkdirSync(hidden);
    fs.writeFileSync(path.join(hidden, ".keep"), "");
    cases.push(["hidden", /export: .*hidden is not empty \(\.keep\)/]);
    for (const [dir, message] of cases) {
      const before = snapshot(path.join(p.dir, dir));
      const run = cliInChild(["export", "--encoder", "pixels", dir], p.dir);
      assert.equal(run.status, 1, `${dir}: ${run.stderr}`);
      assert.match(run.stderr, message, dir);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
      assert.deepEqual(snapshot(path.join(p.dir, dir)), before, `${dir} changed`);
    }
    const forced = cliInChild(["export", "--encoder", "pixels", "--force", "out"], p.dir);
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stderr, /^--force: replacing img_emb\/img_emb_0\.npy, .*img_emb_7\.npy, metadata\/metadata_0\.parquet.*encoder-compare\.json in out$/m);
    assert.equal(fs.readFileSync(path.join(out, "notes.txt"), "utf8"), "theirs");
  });

  test("export never writes into a configured dataset, the dataset it reads, or the site's input or output", () => {
    const p = siteProject();
    fs.mkdirSync(path.join(p.dir, "_site"));
    fs.mkdirSync(path.join(p.dir, "elsewhere"));
    fs.symlinkSync(path.join(p.dir, "_site"), path.join(p.dir, "elsewhere/site-link"));
    const cases: Array<[string[], RegExp]> = [
      [["dataset"], /export: .*dataset is the dataset being exported/],
      [["dataset/sub"], /export: .*dataset\/sub is inside the dataset being exported/],
      [["--dataset", "elsewhere", "dataset"], /export: .*dataset is the configured dataset \(dataset\)/],
      [["content"], /export: .*content is the site's input folder/],
      [["content/posts/x"], /export: .*content\/posts\/x is inside the site's input folder/],
      [["_site/data"], /export: .*_site\/data is inside the site's output folder/],
      [["elsewhere/site-link/emb"], /export: .*site-link\/emb is inside the site's output folder/],
    ];
    for (const [args, message] of cases) {
      const before = snapshot(p.dir);
      const run = cliInChild(["export", "--encoder", "pixels", "--force", ...args], p.dir);
      assert.equal(run.status, 1, `${args.join(" ")}: ${run.stderr}`);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
      assert.match(run.stderr, message);
      assert.deepEqual(snapshot(p.dir), before, `${args.join(" ")} changed the project`);
    }
  });

  test("cache clear while a build or another process has the store open waits, then refuses and deletes nothing", async () => {
    const p = project(`<% encoderCompare "query.png", k=2 %>`);
    const cache = path.join(p.dir, ".cache");
    const store = path.join(cache, "embeddings.sqlite");
    const child = (script: string) =>
      spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const STORE_MODULE = JSON.stringify(path.join(ROOT, "plugins/encoder-compare/store/embedding-store.ts"));
    const holders: Array<[string, () => ReturnType<typeof spawn>]> = [
      [
        "a build that has just stored its first new vectors",
        () =>
          child(
            `import fs from "node:fs";\nimport { EmbeddingStore } from ${STORE_MODULE};\n` +
              `import { buildProject } from ${JSON.stringify(path.join(ROOT, "test/support/trust-project.ts"))};\n` +
              "const put = EmbeddingStore.prototype.putVectors;\n" +
              "EmbeddingStore.prototype.putVectors = function (...args) {\n" +
              "  put.apply(this, args);\n" +
              '  fs.writeSync(1, "paused\\n");\n' +
              // Held until the test kills it: a slow machine must not let the build finish and release the store.
              "  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);\n" +
              "};\n" +
              `await buildProject(${JSON.stringify(p.dir)});\n`,
          ),
      ],
      [
        "a process that keeps the store open (as the preview server does)",
        () =>
          child(
            `import { EmbeddingStore } from ${STORE_MODULE};\n` +
              `EmbeddingStore.open(${JSON.stringify(store)}).countVectors(); console.log("paused"); setInterval(() => {}, 1000);`,
          ),
      ],
    ];
    assert.match(buildInChild(p).stdout, /^built /m);
    let added = 0;
    for (const [who, start] of holders) {
      // A new dataset image: the build has something to embed.
      fs.copyFileSync(EMOJI(["1f697", "1f438"][added++]), path.join(p.dataset, `new-${added}.png`));
      const holder = start();
      const kill = setTimeout(() => holder.kill("SIGKILL"), 180_000);
      try {
        let paused = "";
        await new Promise<void>((resolve, reject) => {
          let seen = "";
          holder.stdout!.on("data", (chunk) => ((seen += chunk), /paused/.test(seen) && (paused = seen) && resolve()));
          holder.on("exit", () => reject(new Error(`${who} ended before pausing: ${seen}`)));
        });
        const vectors = storeRows(store).vectors;
        assert.ok(vectors.length >= 4, who);
        const run = cliInChild(["cache", "clear", "--cache-dir", path.relative(ROOT, cache)]);
        assert.equal(run.status, 1, `${who}: ${run.stdout}${run.stderr} ${paused}`);
        assert.match(run.stderr, /^cache clear: embedding store .*embeddings\.sqlite is in use by a build, a preview server or another command \(waited 5 s\)/);
        assert.match(run.stderr, /nothing was deleted\n$/);
        assert.deepEqual(storeRows(store).vectors, vectors, who);
      } finally {
        clearTimeout(kill);
        holder.kill("SIGKILL");
        await new Promise((resolve) => (holder.exitCode !== null || holder.signalCode !== null ? resolve(undefined) : holder.on("exit", resolve)));
      }
    }
    const run = cliInChild(["cache", "clear", "--cache-dir", path.relative(ROOT, cache)]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^emptied .*embeddings\.sqlite \(\d+ vectors removed\)\n$/);
    assert.deepEqual(storeRows(store), { integrity: "ok", vectors: [] });
    assert.match(buildInChild(p).stdout, /^built [0-9a-f]{64} embedded 6$/m);
  });
});

// ---------------------------------------------------------------------------------------------
// The preview server

/** A free TCP port on this machine. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One raw HTTP request; resolves with the status line, or "no answer" after `ms`, or the connect error's code. */
function rawRequest(host: string, port: number, target: string, ms = 15_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let data = "";
    const timer = setTimeout(() => (socket.destroy(), resolve("no answer")), ms);
    socket.on("connect", () => socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
    socket.on("data", (chunk) => (data += chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(error.code ?? error.message)));
    socket.on("close", () => (clearTimeout(timer), resolve(data.split("\r\n")[0] || "closed without an answer")));
  });
}

/** A non-loopback IPv4 address of this machine, if it has one. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const address of list ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return undefined;
}

/** Starts the preview server of a one-post site with the plugin; resolves once it accepts connections on loopback. */
async function startPreview(pluginOptions: Record<string, unknown>): Promise<{ port: number; stop: () => Promise<void>; log: () => string }> {
  const p = project("");
  fs.writeFileSync(path.join(p.post, "index.md"), "# Hello\n");
  fs.writeFileSync(
    path.join(p.dir, "eleventy.config.mjs"),
    `import plugin from ${JSON.stringify(path.join(ROOT, "plugins/encoder-compare/index.ts"))};\n` +
      "export default function (config) {\n" +
      "  config.setUseGitIgnore(false);\n" +
      `  config.addPlugin(plugin, ${JSON.stringify({ dataset: "dataset", cacheDir: ".cache", encoders: ["pixels"], ...pluginOptions })});\n` +
      '  return { dir: { input: "content", output: "_site" } };\n' +
      "}\n",
  );
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "test/support/preview-child.ts"), String(port)], {
    cwd: p.dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout!.on("data", (chunk) => (log += chunk));
  child.stderr!.on("data", (chunk) => (log += chunk));
  const kill = setTimeout(() => child.kill("SIGKILL"), 240_000);
  const stop = async () => {
    clearTimeout(kill);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.on("exit", resolve));
    }
  };
  const deadline = Date.now() + 120_000;
  while (!/\[preview-child\] listening/.test(log) || (await rawRequest("127.0.0.1", port, "/", 2_000)) === "ECONNREFUSED") {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`the preview server did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { port, stop, log: () => log };
}

describe("the preview server", () => {
  test("every request gets an answer: paths that climb out or do not decode get 400, the site still serves", { timeout: 300_000 }, async () => {
    const preview = await startPreview({});
    try {
      const answers: Record<string, string> = {};
      for (const target of [
        "/..%2f..%2fetc%2fhostname",
        "/posts/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/..%5c..%5cetc%5chostname",
        "/%E0%A4%A",
        "/%",
        "/a%00b",
        "http://localhost/..%2f..%2fetc%2fhostname",
      ]) {
        answers[target] = await rawRequest("127.0.0.1", preview.port, target);
      }
      for (const [target, status] of Object.entries(answers)) assert.equal(status, "HTTP/1.1 400 Bad Request", `${target}: ${status}\n${preview.log()}`);
      assert.equal(await rawRequest("127.0.0.1", preview.port, "/posts/p/"), "HTTP/1.1 200 OK");
      assert.equal(await rawRequest("127.0.0.1", preview.port, "/..%252f..%252fetc%252fhostname"), "HTTP/1.1 404 Not Found");
      assert.doesNotMatch(preview.log(), /unhandled|UnhandledPromiseRejection/i);
    } finally {
      await preview.stop();
    }
  });

  const NEEDS_OUTSIDE_ADDRESS = { timeout: 300_000, skip: !outsideAddress() && "no non-loopback address" };
  test("it listens on this machine only unless previewHost says otherwise", NEEDS_OUTSIDE_ADDRESS, async () => {
    const outside = outsideAddress()!;
    const local = await startPreview({});
    try {
      assert.equal(await rawRequest(outside, local.port, "/posts/p/"), "ECONNREFUSED");
      assert.equal(await rawRequest("127.0.0.1", local.port, "/posts/p/"), "HTTP/1.1 200 OK");
    } finally {
      await local.stop();
    }
    const shared = await startPreview({ previewHost: "0.0.0.0" });
    try {
      assert.equal(await rawRequest(outside, shared.port, "/posts/p/"), "HTTP/1.1 200 OK");
    } finally {
      await shared.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Refusals that say what cannot work

/** An embeddings folder exported from the project's dataset (pixels vectors). */
function exportedEmbeddings(p: TrustProject): string {
  const folder = path.join(p.dir, "emb");
  const cache = path.relative(ROOT, path.join(p.dir, ".cache"));
  const run = cliInChild(["export", "--encoder", "pixels", "--dataset", path.relative(ROOT, p.dataset), "--cache-dir", cache, folder]);
  assert.equal(run.status, 0, run.stderr);
  return folder;
}

describe("refusals say exactly what cannot work", () => {
  test("tryIt with an embeddings dataset fails naming the post, the dataset and why, however tryIt was asked for", () => {
    const rel = (file: string) => path.relative(ROOT, file);
    const cases: Array<[string, Record<string, unknown>]> = [
      [`<% encoderCompare "query.png", k=2, tryIt=true %>`, {}],
      [`<% encoderCompare "query.png", k=2 %>`, { tryIt: true }],
      [`<% encoderCompare "query.png", k=2, dataset="big", tryIt=true %>`, {}],
    ];
    for (const [shortcode, extra] of cases) {
      const p = project(shortcode);
      const folder = exportedEmbeddings(p);
      const embeddings = { embeddings: rel(folder), encoder: "pixels", images: rel(p.dataset) };
      const options = shortcode.includes('dataset="big"') ? { datasets: { big: embeddings }, ...extra } : { dataset: embeddings, ...extra };
      const run = buildInChild(p, options);
      assert.equal(run.status, 1, `${shortcode}: ${run.stdout}${run.stderr}`);
      assert.match(run.stdout, /posts\/p\/index\.md: encoderCompare: tryIt cannot use the embeddings dataset "[^"]*(emb|big)" \(.*emb\): /, shortcode);
      assert.match(run.stdout, /publishes a vector and a thumbnail of every dataset image .* remove tryIt=true here \(or the tryIt plugin option\)/);
      assert.doesNotMatch(run.stdout, /encoderEval, rankOf and the index command/);
    }
  });

  test("query --html with an embeddings dataset writes the page; a page that cannot be written leaves no _files/ of its own behind", () => {
    const p = project("");
    const folder = exportedEmbeddings(p);
    const query = path.join(p.post, "query.png");
    const args = (html: string) => ["query", query, "--encoders", "pixels", "--dataset", folder, "--cache-dir", path.join(p.dir, ".cache"), "--html", html];
    const ok = cliInChild(args(path.join(p.dir, "page.html")));
    assert.equal(ok.status, 0, ok.stderr);
    const page = fs.readFileSync(path.join(p.dir, "page.html"), "utf8");
    assert.match(page, /<span class="ec-scope">top 3 of 3 images in emb, by cosine similarity<\/span>/);
    assert.match(page, /<span class="ec-note">\(vectors verified: 3 sampled images/);
    for (const src of page.matchAll(/src="(page_files\/[^"]+)"/g)) assert.ok(fs.existsSync(path.join(p.dir, src[1])), src[1]);
    // The page's own name is taken by a folder: nothing may be left in its _files/.
    fs.mkdirSync(path.join(p.dir, "folder.html"));
    // A _files/ folder that was there before keeps what it held, and loses what this run added.
    fs.mkdirSync(path.join(p.dir, "kept_files"));
    fs.writeFileSync(path.join(p.dir, "kept_files/mine.txt"), "mine");
    fs.mkdirSync(path.join(p.dir, "kept.html"));
    // A page below a file that is not a folder.
    fs.writeFileSync(path.join(p.dir, "plain"), "");
    const failing: Array<[string, string, string[]]> = [
      ["folder.html", "folder_files", []],
      ["kept.html", "kept_files", ["mine.txt"]],
      ["plain/page.html", "plain/page_files", []],
    ];
    for (const [html, assets, left] of failing) {
      const run = cliInChild(args(path.join(p.dir, html)));
      assert.equal(run.status, 1, `${html}: ${run.stderr}`);
      const line = run.stderr.trim().split("\n").pop()!;
      assert.match(line, new RegExp(`^encoder-compare: --html .*${html.replace(/[./]/g, "\\$&")} was not written \\(`), html);
      const remaining = fs.existsSync(path.join(p.dir, assets)) ? fs.readdirSync(path.join(p.dir, assets)) : [];
      assert.deepEqual(remaining, left, html);
    }
  });
});
