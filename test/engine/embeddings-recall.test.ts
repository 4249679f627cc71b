// The remembered recall estimate of an embeddings folder's faiss index: a warm build finds it by
// the hash taken when the index was opened, without reading the (possibly large) index file again.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { writeEmbeddingsFolder } from "../../plugins/encoder-compare/dataset/clip-retrieval-writer.ts";
import { EmbeddingsFolder } from "../../plugins/encoder-compare/dataset/clip-retrieval.ts";
import type { EmbeddingsDatasetConfig } from "../../plugins/encoder-compare/dataset/embeddings-option.ts";
import { recallOf } from "../../plugins/encoder-compare/engine/embeddings-recall.ts";
import { EmbeddingsSearch } from "../../plugins/encoder-compare/search/embeddings-search.ts";
import { openFaissIndexFile } from "../../plugins/encoder-compare/search/faiss-file.ts";
import { createFactoryIndex, faissStatus } from "../../plugins/encoder-compare/search/faiss.ts";
import { seededRandom } from "../support/prng.ts";

const NEEDS_FAISS = { skip: !faissStatus().available && "faiss-node not built" };
const work = fs.mkdtempSync(path.join(os.tmpdir(), "recall-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

const ROWS = 64;
const DIM = 8;

function unitVectors(): Float32Array {
  const random = seededRandom(7);
  const vectors = new Float32Array(ROWS * DIM);
  for (let row = 0; row < ROWS; row++) {
    let norm = 0;
    for (let d = 0; d < DIM; d++) norm += (vectors[row * DIM + d] = random() - 0.5) ** 2;
    for (let d = 0; d < DIM; d++) vectors[row * DIM + d] /= Math.sqrt(norm);
  }
  return vectors;
}

test("a remembered recall estimate is found without reading the index file again", NEEDS_FAISS, async () => {
  const vectors = unitVectors();
  const dir = path.join(work, "folder");
  const rows = Array.from({ length: ROWS }, (_, i) => ({ id: `r${i}`, image_path: `r${i}.png`, caption: `row ${i}` }));
  writeEmbeddingsFolder(dir, vectors, DIM, rows, { encoder: "test", dtype: "float32" });
  const built = createFactoryIndex(DIM, "HNSW8,Flat");
  built.add(Array.from(vectors));
  const indexFile = path.join(work, "hnsw.index");
  fs.writeFileSync(indexFile, built.toBuffer());

  const index = openFaissIndexFile(indexFile);
  assert.equal(index.sha256, crypto.createHash("sha256").update(fs.readFileSync(indexFile)).digest("hex"), "the hash is of the bytes as read");
  const folder = await EmbeddingsFolder.open(dir, { lookupDir: path.join(work, "lookup") });
  try {
    const search = new EmbeddingsSearch(folder, index, 16);
    const config = { name: "recall", recallK: 4, recallQueries: 8, verifySeed: 1, minRecall: 0 } as EmbeddingsDatasetConfig;
    const context = { cacheDir: path.join(work, "cache"), info: () => {}, warn: () => {} };
    const cold = recallOf(search, config, "HNSW", context)!;
    assert.equal(cold.cached, false);

    const touched: string[] = [];
    const spied = ["openSync", "readFileSync", "createReadStream", "readSync"] as const;
    const originals = spied.map((name) => fs[name]);
    for (const name of spied) {
      const original = fs[name] as (...args: unknown[]) => unknown;
      (fs as Record<string, unknown>)[name] = (...args: unknown[]) => {
        touched.push(`${name} ${String(args[0])}`);
        return original.apply(fs, args);
      };
    }
    let warm;
    try {
      warm = recallOf(search, config, "HNSW", context)!;
    } finally {
      spied.forEach((name, i) => ((fs as Record<string, unknown>)[name] = originals[i]));
    }
    assert.equal(warm.cached, true, "the second estimate is the remembered one");
    assert.deepEqual(warm.estimate, cold.estimate);
    assert.deepEqual(touched.filter((call) => call.endsWith(indexFile)), [], "the index file is not read to key the memo");
    assert.ok(touched.some((call) => call.startsWith("readFileSync")), "the spy sees the memo being read");
  } finally {
    folder.close();
  }
});
