// The SQLite embedding store (store/embedding-store.ts): round trips, and a corrupt or foreign-schema file moved
// aside with a warning.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { EmbeddingStore } from "../../plugins/encoder-compare/store/embedding-store.ts";

describe("EmbeddingStore", () => {
  test("round-trips vectors and file hashes", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-store-"));
    const store = EmbeddingStore.open(path.join(dir, "s.sqlite"));
    store.putVectors("enc", [["sha1", new Float32Array([0.5, -0.25])]]);
    assert.deepEqual([...store.getVectors("enc", ["sha1", "sha2"]).get("sha1")!], [0.5, -0.25]);
    assert.equal(store.getVectors("other", ["sha1"]).size, 0);
    store.rememberHashes([{ path: "/a", stat: { size: 3, mtimeMs: 7.9 }, sha256: "h" }]);
    assert.equal(store.knownHash("/a", { size: 3, mtimeMs: 7 }), "h");
    assert.equal(store.knownHash("/a", { size: 4, mtimeMs: 7 }), undefined);
    store.close();
  });
  test("a corrupt store file is moved aside and replaced, with a warning", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-store-"));
    const file = path.join(dir, "s.sqlite");
    fs.writeFileSync(file, "this is not a database ".repeat(100));
    const warnings: string[] = [];
    const store = EmbeddingStore.open(file, (w) => warnings.push(w));
    assert.equal(store.countVectors(), 0);
    assert.match(warnings[0], /was unusable .* moved it to .*broken/);
    store.close();
  });
});

describe("faults", () => {
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
