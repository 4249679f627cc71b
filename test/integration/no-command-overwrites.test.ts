// No command deletes or replaces what it did not write: export into a folder that holds files, into a dataset or
// the site's folders, and cache clear while a build or another process has the store open.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { EMOJI, outsideSecret, projectMaker, type SmallProject } from "../support/small-project.ts";
import { buildInChild, cliRunner, storeRows } from "../support/child-runs.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/no-command-overwrites");
outsideSecret(WORK);
const project = projectMaker(WORK);

const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex");
const CLI_ENV = { ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(WORK, "models") };

const cliInChild = cliRunner(CLI_ENV);

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

/** A project with a site config naming its input/output and the plugin's dataset, as the CLI reads it. */
function siteProject(): SmallProject {
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
              `import { buildProject } from ${JSON.stringify(path.join(ROOT, "test/support/small-project.ts"))};\n` +
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
