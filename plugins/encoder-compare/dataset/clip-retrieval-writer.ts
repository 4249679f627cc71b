// Writes embeddings in the layout `clip-retrieval inference` produces (img_emb/img_emb_<n>.npy,
// metadata/metadata_<n>.parquet, n zero-padded to a common width), so clip-retrieval's back end
// and autofaiss read what this tool computed. A sidecar encoder-compare.json names the encoder, so
// the folder can be used as a dataset without restating it, and records the row count, so a shard
// lost later is noticed.
import fs from "node:fs";
import path from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import { encodeNpy } from "./npy.ts";
import { floatToHalf } from "../base/half-float.ts";

import { SIDECAR } from "./embeddings-option.ts";

export { SIDECAR };

export interface ExportRow {
  id: string;
  image_path: string;
  caption: string;
}

export interface ExportOptions {
  encoder: string;
  /** Rows per shard (default: all in one shard). */
  shardRows?: number;
  /** clip-retrieval writes float16; float32 keeps our vectors bit for bit. */
  dtype?: "float16" | "float32";
  /** Where image_path resolves, written to the sidecar relative to the folder. */
  imagesDir?: string;
}

/** The shard files a folder in this layout holds (img_emb/img_emb_<n>.npy, metadata/metadata_<n>.parquet), relative, sorted. */
export function existingShards(outDir: string): string[] {
  const shards: string[] = [];
  for (const [sub, pattern] of [["img_emb", /^img_emb_\d+\.npy$/], ["metadata", /^metadata_\d+\.parquet$/]] as const) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(path.join(outDir, sub)).sort();
    } catch {
      // absent: no shards
    }
    for (const name of names) if (pattern.test(name)) shards.push(`${sub}/${name}`);
  }
  return shards;
}

export function writeEmbeddingsFolder(
  outDir: string,
  vectors: Float32Array,
  dim: number,
  rows: readonly ExportRow[],
  options: ExportOptions,
): { shards: number } {
  if (vectors.length !== rows.length * dim) throw new Error(`internal: ${rows.length} rows need ${rows.length * dim} values, got ${vectors.length}`);
  const shardRows = Math.max(1, options.shardRows ?? rows.length);
  const shards = Math.max(1, Math.ceil(rows.length / shardRows));
  const width = Math.floor(Math.log10(shards)) + 1;
  // Shards of an earlier, larger export would otherwise be read as rows of this one.
  for (const shard of existingShards(outDir)) fs.rmSync(path.join(outDir, shard));
  for (const sub of ["img_emb", "metadata"]) fs.mkdirSync(path.join(outDir, sub), { recursive: true });
  for (let s = 0; s < shards; s++) {
    const suffix = String(s).padStart(width, "0");
    const slice = rows.slice(s * shardRows, (s + 1) * shardRows);
    const values = vectors.subarray(s * shardRows * dim, (s * shardRows + slice.length) * dim);
    const data = options.dtype === "float16" ? Uint16Array.from(values, floatToHalf) : values;
    fs.writeFileSync(path.join(outDir, "img_emb", `img_emb_${suffix}.npy`), encodeNpy(data, slice.length, dim));
    parquetWriteFile({
      filename: path.join(outDir, "metadata", `metadata_${suffix}.parquet`),
      columnData: [
        { name: "image_path", data: slice.map((r) => r.image_path), type: "STRING" },
        { name: "caption", data: slice.map((r) => r.caption), type: "STRING" },
        { name: "id", data: slice.map((r) => r.id), type: "STRING" },
      ],
    });
  }
  const sidecar = { encoder: options.encoder, rows: rows.length, ...(options.imagesDir ? { images: path.relative(outDir, options.imagesDir) || "." } : {}) };
  fs.writeFileSync(path.join(outDir, SIDECAR), JSON.stringify(sidecar, null, 2) + "\n");
  return { shards };
}
