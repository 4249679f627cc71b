// Which folders may hold the cache and models (base/folder-check.ts): /dev/shm yes, the rest of /dev no.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { checkDataFolder } from "../../plugins/encoder-compare/base/folder-check.ts";

describe("cache and models folders are checked before use", () => {
  test("/dev/shm, the shared-memory tmpfs, is a folder for files; the rest of /dev is not", { skip: !fs.existsSync("/dev/shm") }, () => {
    const cache = fs.mkdtempSync("/dev/shm/ec-cache-");
    try {
      assert.doesNotThrow(() => checkDataFolder(path.join(cache, "encoder-compare"), "cacheDir (--cache-dir)"));
      assert.doesNotThrow(() => checkDataFolder("/dev/shm", "cacheDir (--cache-dir)"));
      for (const outside of ["/dev/ec-cache", "/dev/shmx/cache", "/dev/shm/../ec-cache"]) {
        assert.throws(() => checkDataFolder(outside, "cacheDir (--cache-dir)"), /is under \/dev, a kernel file system/, outside);
      }
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
