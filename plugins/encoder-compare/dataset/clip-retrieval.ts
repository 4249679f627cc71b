// A folder written by `clip-retrieval inference`: img_emb/img_emb_<n>.npy shards and
// metadata/metadata_<n>.parquet (image_path, caption, url and any other metadata columns), the
// same <n> for both; shard order is row order (n counts from 0, zero-padded to a common width).
// Opening reads only the .npy headers and the parquet footers; rows and metadata are read by
// offset when asked for, so the folder's size is bounded by the disk, not by memory.
import fs from "node:fs";
import path from "node:path";
import { DATASET_LIMITS, TextCaps } from "./dataset-text.ts";
import { readNpyHeader, readNpyRows, type NpyMatrix } from "./npy.ts";
import { columnsWithin, openCheckedParquet, readRow, type OpenedParquet } from "./parquet-check.ts";
import { requireRegularFile } from "./safe-read.ts";

export interface EmbeddingsShard {
  npy: NpyMatrix;
  /** metadata_<n>.parquet, when the folder has metadata. */
  metadata?: string;
  firstRow: number;
}

/** What the metadata says about one row (only columns the folder has). */
export interface RowMetadata {
  row: number;
  id?: string;
  image_path?: string;
  caption?: string;
  url?: string;
}

const METADATA_COLUMNS = ["id", "image_path", "caption", "url"] as const;
const SHARD = /^img_emb_(\d+)\.npy$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

export class EmbeddingsFolder {
  readonly dir: string;
  readonly shards: EmbeddingsShard[];
  readonly rows: number;
  readonly dim: number;
  readonly #fds = new Map<string, number>();
  /** Parquet footers already parsed, by file: each shard's is read once, not once per row. */
  readonly #parquet = new Map<string, Promise<OpenedParquet>>();
  /** Metadata strings cut to their caps so far (the dataset warns once). */
  readonly textCaps = new TextCaps();

  private constructor(dir: string, shards: EmbeddingsShard[]) {
    this.dir = dir;
    this.shards = shards;
    this.rows = shards.reduce((sum, s) => sum + s.npy.rows, 0);
    this.dim = shards[0].npy.dim;
  }

  /** Lists and checks the shards (headers, sizes, matching metadata row counts). */
  static async open(dir: string): Promise<EmbeddingsFolder> {
    const embDir = path.join(dir, "img_emb");
    if (!fs.existsSync(embDir) || !fs.statSync(embDir).isDirectory()) {
      throw new Error(`embeddings folder ${dir} has no img_emb/ folder; point \`embeddings\` at the output folder of \`clip-retrieval inference\``);
    }
    const numbered = fs
      .readdirSync(embDir)
      .map((name) => ({ name, match: SHARD.exec(name) }))
      .filter((entry) => entry.match)
      .map((entry) => ({ name: entry.name, n: Number(entry.match![1]), suffix: entry.match![1] }))
      .sort((a, b) => a.n - b.n);
    if (numbered.length === 0) throw new Error(`embeddings folder ${dir}: img_emb/ holds no img_emb_<n>.npy shard`);
    numbered.forEach((entry, i) => {
      if (entry.n !== i) {
        const found = `found ${entry.name} after ${numbered[i - 1]?.name ?? "nothing"}`;
        throw new Error(`embeddings folder ${dir}: shard number ${i} is missing (${found}); rows would be misnumbered`);
      }
    });
    const metaDir = path.join(dir, "metadata");
    const hasMetadata = fs.existsSync(metaDir);
    const shards: EmbeddingsShard[] = [];
    let firstRow = 0;
    for (const entry of numbered) {
      requireRegularFile(path.join(embDir, entry.name));
      const npy = readNpyHeader(path.join(embDir, entry.name));
      if (shards.length && npy.dim !== shards[0].npy.dim) {
        throw new Error(`${npy.file}: vectors have ${npy.dim} dimensions, ${shards[0].npy.file} has ${shards[0].npy.dim}`);
      }
      let metadata: string | undefined;
      if (hasMetadata) {
        metadata = path.join(metaDir, `metadata_${entry.suffix}.parquet`);
        if (!fs.existsSync(metadata)) throw new Error(`embeddings folder ${dir}: ${metadata} is missing (each img_emb shard has a metadata shard)`);
        requireRegularFile(metadata);
        const { rows } = await openCheckedParquet(metadata);
        if (rows !== npy.rows) throw new Error(`${metadata} has ${rows} rows but ${npy.file} has ${npy.rows}; the shards do not belong together`);
      }
      shards.push({ npy, metadata, firstRow });
      firstRow += npy.rows;
    }
    return new EmbeddingsFolder(dir, shards);
  }

  #shardOf(row: number): EmbeddingsShard {
    if (!Number.isInteger(row) || row < 0 || row >= this.rows) throw new Error(`row ${row} is outside embeddings folder ${this.dir} (${this.rows} rows)`);
    let lo = 0;
    let hi = this.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.shards[mid].firstRow <= row) lo = mid;
      else hi = mid - 1;
    }
    return this.shards[lo];
  }

  #fd(file: string): number {
    let fd = this.#fds.get(file);
    if (fd === undefined) this.#fds.set(file, (fd = fs.openSync(file, "r")));
    return fd;
  }

  /** Rows [start, start+count) as float32, row-major (may span shards). */
  readRows(start: number, count: number, target: Float32Array = new Float32Array(count * this.dim)): Float32Array {
    let done = 0;
    while (done < count) {
      const shard = this.#shardOf(start + done);
      const inShard = start + done - shard.firstRow;
      const take = Math.min(count - done, shard.npy.rows - inShard);
      readNpyRows(shard.npy, this.#fd(shard.npy.file), inShard, take, target, done * this.dim);
      done += take;
    }
    return target;
  }

  /** Calls `visit` with consecutive blocks of rows (bounded memory: `blockRows` at a time). */
  forEachBlock(visit: (firstRow: number, block: Float32Array, count: number) => void, blockRows = Math.min(16_384, Math.ceil(2 ** 24 / this.dim))): void {
    const buffer = new Float32Array(blockRows * this.dim);
    for (let start = 0; start < this.rows; start += blockRows) {
      const count = Math.min(blockRows, this.rows - start);
      visit(start, this.readRows(start, count, buffer), count);
    }
  }

  #parquetFile(name: string): Promise<OpenedParquet> {
    let opened = this.#parquet.get(name);
    if (!opened) {
      opened = openCheckedParquet(name);
      this.#parquet.set(name, opened);
    }
    return opened;
  }

  /** Metadata of the given rows (in the order asked); rows without metadata get only `row`. */
  async metadata(rows: readonly number[]): Promise<RowMetadata[]> {
    const out = new Map<number, RowMetadata>();
    for (const row of rows) {
      if (out.has(row)) continue;
      const shard = this.#shardOf(row);
      const entry: RowMetadata = { row };
      const parquet = shard.metadata ? await this.#parquetFile(shard.metadata) : undefined;
      const present = new Set(parquet?.metadata.schema.slice(1).map((element) => element.name));
      const columns = METADATA_COLUMNS.filter((c) => present.has(c));
      if (parquet && columns.length) {
        const inShard = row - shard.firstRow;
        const { read, tooLarge } = columnsWithin(parquet, inShard, columns, DATASET_LIMITS.maxMetadataChunkBytes);
        for (const column of tooLarge) this.textCaps.unread(`${path.basename(shard.metadata!)} column ${column} (row ${inShard})`);
        const record = read.length ? await readRow(shard.metadata!, parquet, inShard, read) : {};
        for (const column of read) {
          const value = record[column];
          // Terminal control bytes never leave the reader (HTML escaping happens where it is rendered).
          const text = value === null || value === undefined ? "" : this.#kept(column, String(value), shard.metadata!, inShard);
          if (text !== undefined && text.trim() !== "") entry[column] = text.replace(CONTROL_CHARACTERS, " ");
        }
      }
      out.set(row, entry);
    }
    return rows.map((row) => out.get(row)!);
  }

  /** A metadata string as kept: cut to its cap (a url or image_path too long is dropped: cut, it names another resource). */
  #kept(column: (typeof METADATA_COLUMNS)[number], value: string, file: string, row: number): string | undefined {
    const where = () => `${path.basename(file)} row ${row}`;
    if (column === "url" || column === "image_path") return this.textCaps.url(value, () => `${where()} ${column}`);
    return this.textCaps.keep(value, column === "caption" ? "caption" : "id", where);
  }

  close(): void {
    for (const fd of this.#fds.values()) fs.closeSync(fd);
    this.#fds.clear();
    this.#parquet.clear();
  }
}
