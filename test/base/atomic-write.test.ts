import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import { copyFileAtomicSync, removeDeadLeftovers, writeFileAtomic, writeFileAtomicSync } from "../../plugins/encoder-compare/base/atomic-write.ts";

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atomic-write-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const writers = {
  sync: async (file: string, data: string, options?: Parameters<typeof writeFileAtomicSync>[2]) => writeFileAtomicSync(file, data, options),
  async: writeFileAtomic,
};

for (const [name, write] of Object.entries(writers)) {
  test(`${name}: replaces the file whole, then its sidecar; no temp file remains`, async (t) => {
    const dir = scratch(t);
    const file = path.join(dir, "a.bin");
    fs.writeFileSync(file, "old");
    await write(file, "new", { sidecar: { file: path.join(dir, "a.json"), data: "{}" } });
    assert.deepEqual(fs.readdirSync(dir).sort(), ["a.bin", "a.json"]);
    assert.equal(fs.readFileSync(file, "utf8"), "new");
  });

  test(`${name}: a rename that fails leaves the old content, no temp file and no sidecar`, async (t) => {
    const dir = scratch(t);
    const target = path.join(dir, "busy");
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "inside"), "x");
    // The bytes reach the temp file; renaming a file over a non-empty folder then fails.
    await assert.rejects(write(target, "data", { sidecar: { file: path.join(dir, "busy.json"), data: "{}" } }));
    assert.deepEqual(fs.readdirSync(dir), ["busy"]);
    assert.deepEqual(fs.readdirSync(target), ["inside"]);
  });

  test(`${name}: a folder removed before the write leaves nothing behind`, async (t) => {
    const dir = scratch(t);
    const gone = path.join(dir, "gone");
    fs.mkdirSync(gone);
    fs.rmdirSync(gone);
    await assert.rejects(write(path.join(gone, "f"), "data"), { code: "ENOENT" });
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test(`${name}: a full disk (/dev/full as the temp file) throws ENOSPC and leaves the target as it was`, async (t) => {
    if (!fs.existsSync("/dev/full")) return t.skip("no /dev/full");
    const dir = scratch(t);
    const file = path.join(dir, "f");
    fs.writeFileSync(file, "old");
    // A symlink named as the temp: the write fails, and the cleanup removes the link, never /dev/full itself.
    const temp = path.join(dir, "f.tmp");
    fs.symlinkSync("/dev/full", temp);
    await assert.rejects(write(file, "new", { temp }), { code: "ENOSPC" });
    assert.deepEqual(fs.readdirSync(dir), ["f"]);
    assert.equal(fs.readFileSync(file, "utf8"), "old");
  });
}

test("copyFileAtomicSync copies whole under the target's name and leaves no temp file", (t) => {
  const dir = scratch(t);
  fs.writeFileSync(path.join(dir, "source.bin"), Buffer.alloc(70_000, 7));
  copyFileAtomicSync(path.join(dir, "source.bin"), path.join(dir, "copy.bin"));
  assert.deepEqual(fs.readFileSync(path.join(dir, "copy.bin")), Buffer.alloc(70_000, 7));
  assert.deepEqual(fs.readdirSync(dir).sort(), ["copy.bin", "source.bin"]);
});

test("removeDeadLeftovers removes the files and folders of a process that is gone, and nothing else", (t) => {
  const dir = scratch(t);
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
  for (const name of [`a.${dead}.tmp`, `a.${process.pid}.tmp`, "a.png", `a.${dead}.tmp.keep`]) fs.writeFileSync(path.join(dir, name), "x");
  fs.mkdirSync(path.join(dir, `.staging-${dead}`, "images"), { recursive: true });
  fs.mkdirSync(path.join(dir, `.staging-${process.pid}`));
  removeDeadLeftovers(dir, /^a\.(\d+)\.tmp$/);
  removeDeadLeftovers(dir, /^\.staging-(\d+)$/);
  assert.deepEqual(fs.readdirSync(dir).sort(), [`.staging-${process.pid}`, `a.${dead}.tmp.keep`, `a.${process.pid}.tmp`, "a.png"].sort());
  removeDeadLeftovers(path.join(dir, "missing"), /^(\d+)$/);
});
