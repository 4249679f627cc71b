// A faiss index file opened with autofaiss's tuned values: they are written into the one read of
// the file where it has a slot and saves another value, and the caller learns which were applied.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { openFaissIndexFile } from "../../plugins/encoder-compare/search/faiss-file.ts";
import { createFactoryIndex, faissStatus } from "../../plugins/encoder-compare/search/faiss.ts";

const NEEDS_FAISS = { skip: !faissStatus().available && "faiss-node not built" };
const work = fs.mkdtempSync(path.join(os.tmpdir(), "faiss-file-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function hnswFile(): string {
  const file = path.join(work, "hnsw.index");
  if (!fs.existsSync(file)) {
    const index = createFactoryIndex(4, "HNSW8,Flat");
    index.add([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    fs.writeFileSync(file, index.toBuffer());
  }
  return file;
}

/** Opens `file` counting how often it is read. */
function openCounting(...args: Parameters<typeof openFaissIndexFile>): { opened: ReturnType<typeof openFaissIndexFile>; reads: number } {
  const original = fs.readFileSync;
  let reads = 0;
  fs.readFileSync = ((...call: Parameters<typeof original>) => {
    if (call[0] === args[0]) reads++;
    return original(...call);
  }) as typeof original;
  try {
    return { opened: openFaissIndexFile(...args), reads };
  } finally {
    fs.readFileSync = original;
  }
}

test("a tuned value the file saves differently is applied in the one read; one it has no slot for is passed over", NEEDS_FAISS, () => {
  const file = hnswFile();
  const own = openFaissIndexFile(file).params.efSearch!;
  const { opened, reads } = openCounting(file, {}, { tuned: { efSearch: own + 7, nprobe: 3 } });
  assert.equal(reads, 1, "the index file is read once");
  assert.deepEqual(opened.tunedApplied, ["efSearch"]);
  assert.deepEqual(opened.params, { efSearch: own + 7 });
});

test("an override wins over a tuned value, and a tuned value equal to the file's is not reported", NEEDS_FAISS, () => {
  const file = hnswFile();
  const own = openFaissIndexFile(file).params.efSearch!;
  const overridden = openFaissIndexFile(file, { efSearch: own + 1 }, { tuned: { efSearch: own + 7 } });
  assert.deepEqual(overridden.tunedApplied, []);
  assert.deepEqual(overridden.params, { efSearch: own + 1 });
  const same = openFaissIndexFile(file, {}, { tuned: { efSearch: own } });
  assert.deepEqual(same.tunedApplied, []);
  assert.deepEqual(same.params, { efSearch: own });
});
