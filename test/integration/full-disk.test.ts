// A full disk under the cache (a small tmpfs, as root) loses nothing: the build fails in one line naming the folder
// and the space, the store is kept and reused, and only proven corruption sets a store aside.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { EMOJI, outsideSecret, projectMaker } from "../support/small-project.ts";
import { buildInChild, storeRows } from "../support/child-runs.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/full-disk");
outsideSecret(WORK);
const project = projectMaker(WORK);

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
        const line = /embedding store in .*disk\/cache cannot be written: the disk is full \([\d.]+ [MG]iB free there\); free at least [\d.]+ [MG]iB/;
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
