// The recall of an embeddings dataset's faiss index, estimated once per index and remembered in the
// cache (keyed by the sha256 of the index bytes faiss parsed and everything else the answer depends on), for the log
// and the table's note: "IVF-PQ index, recall@10 ≈ 0.93 on 32 sampled queries".
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { EmbeddingsDatasetConfig } from "../dataset/embeddings-option.ts";
import { sampleRows } from "../dataset/python-random.ts";
import type { EmbeddingsSearch } from "../search/embeddings-search.ts";
import { estimateRecall, type RecallEstimate } from "../search/recall-estimate.ts";
import { writeFileAtomicSync } from "../base/atomic-write.ts";

export interface RecallReport {
  estimate: RecallEstimate;
  /** For the table: "IVF-PQ index, recall@10 ≈ 0.93 on 32 sampled queries". */
  note: string;
  cached: boolean;
}

const FORMAT = 1;

export function recallOf(
  search: EmbeddingsSearch,
  config: EmbeddingsDatasetConfig,
  label: string,
  context: { cacheDir: string; info: (message: string) => void; warn: (message: string) => void },
): RecallReport | undefined {
  const index = search.index;
  if (!index) return undefined;
  const inputs = {
    format: FORMAT,
    // Hashed once when the file was opened: a large index is not read again for the key.
    index: index.sha256,
    params: index.params,
    candidates: search.candidates,
    k: config.recallK,
    queries: config.recallQueries,
    seed: config.verifySeed,
    rows: search.folder.rows,
    shards: search.folder.shards.map((s) => [path.basename(s.npy.file), s.npy.rows]),
  };
  const key = crypto.createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 32);
  const file = path.join(context.cacheDir, "recall-estimates", `${key}.json`);
  let estimate: RecallEstimate | undefined;
  let cached = false;
  try {
    estimate = JSON.parse(fs.readFileSync(file, "utf8")) as RecallEstimate;
    cached = typeof estimate.recall === "number" && Array.isArray(estimate.rows);
  } catch {
    // Not remembered yet (or unreadable): estimated below.
  }
  if (!cached) {
    // One exact pass over every row: long for millions of rows, so the pause is announced.
    const pass = `one pass over ${search.folder.rows} rows`;
    context.info(`embeddings ${config.name}: estimating the index's recall@${config.recallK} against exact search (${pass}) …`);
    const started = performance.now();
    estimate = estimateRecall(search, sampleRows(search.folder.rows, config.recallQueries, config.verifySeed), config.recallK);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomicSync(file, JSON.stringify(estimate));
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    context.info(`embeddings ${config.name}: recall estimated in ${seconds} s (exact search over ${search.folder.rows} rows)`);
  }
  const { recall, k, rows } = estimate!;
  const figure = Number.isNaN(recall) ? "not measurable (too few rows)" : `≈ ${recall.toFixed(2)}`;
  const note = `${label} index, recall@${k} ${figure} on ${rows.length} sampled queries`;
  const how = Object.entries(index.params).map(([name, value]) => `${name} ${value}`).concat(`${search.candidates} candidates rescored`).join(", ");
  context.info(
    `embeddings ${config.name}: ${label} index (${how}), recall@${k} ${Number.isNaN(recall) ? figure : `≈ ${recall.toFixed(3)}`} ` +
      `on ${rows.length} sampled queries (seed ${config.verifySeed}) against exact search${cached ? " [remembered]" : ""}`,
  );
  if (recall < config.minRecall) {
    context.warn(
      `embeddings ${config.name}: the ${label} index finds only ${(recall * 100).toFixed(0)} % of exact search's top ${k} ` +
        `(below minRecall ${config.minRecall}); raise nprobe/efSearch or candidates, rebuild the index, or leave \`index\` out to search exactly`,
    );
  }
  return { estimate: estimate!, note, cached };
}
