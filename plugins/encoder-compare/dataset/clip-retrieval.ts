// A folder written by `clip-retrieval inference`: img_emb/img_emb_<n>.npy shards and
// metadata/metadata_<n>.parquet (image_path, caption, url and any other metadata columns), the
// same <n> for both. Shards are read as embedding-reader (and so autofaiss) reads them: every
// .npy under img_emb/, subfolders included, in order of their path names; row numbers of a faiss
// index built from the folder follow that order. Numbers may have gaps (a partition with no
// images writes no file); each .npy is paired with the .parquet of the same subfolder and
// number, and a shard without its partner is refused. Opening reads only the .npy headers and
// the parquet footers; rows and metadata are read by offset when asked for, so the folder's size
// is bounded by the disk, not by memory. Given a lookup folder, a shard's metadata is decoded once
// into a lookup file there (metadata-lookup.ts), and hits then cost a few positioned reads each.
import fs from "node:fs";
import path from "node:path";
import type { AsyncBuffer } from "hyparquet";
import { DEFAULTS } from "../base/defaults.ts";
import { TextCaps } from "./dataset-text.ts";
import { DamagedLookup, MetadataLookup } from "./metadata-lookup.ts";
import { readNpyHeader, readNpyRows, type NpyMatrix } from "./npy.ts";
import { columnsWithin, openCheckedParquet, readRows, type OpenedParquet } from "./parquet-check.ts";
import { readAt, requireRegularFile } from "../base/safe-read.ts";

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
/** The partition number in a shard's name: img_emb_<n>.npy, metadata_<n>.parquet (as written, zero padding kept). */
const NUMBER = /(\d+)\.(npy|parquet)$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

export class EmbeddingsFolder {
  readonly dir: string;
  readonly shards: EmbeddingsShard[];
  readonly rows: number;
  readonly dim: number;
  /** Parquet row groups decoded so far by metadata() (each at most once per call), lookup files built included. */
  metadataReads = 0;
  /** Lookup files written so far (a shard's first lookup, or one whose file was missing, damaged or stale). */
  metadataLookupBuilds = 0;
  /** Why lookups fell back to reading the parquet (the lookup folder could not be written), if they did. */
  metadataLookupError?: string;
  readonly #lookupDir?: string;
  readonly #lookups = new Map<string, Promise<MetadataLookup | undefined>>();
  readonly #fds = new Map<string, number>();
  /** Parquet footers already parsed, by file: each shard's is read once, not once per row. */
  readonly #parquet = new Map<string, Promise<OpenedParquet>>();
  /** Metadata strings cut to their caps so far (the dataset warns once). */
  readonly textCaps = new TextCaps();

  private constructor(dir: string, shards: EmbeddingsShard[], footers: ReadonlyMap<string, OpenedParquet>, lookupDir?: string) {
    this.dir = dir;
    this.#lookupDir = lookupDir;
    this.shards = shards;
    this.rows = shards.reduce((sum, s) => sum + s.npy.rows, 0);
    this.dim = shards[0].npy.dim;
    // The footers parsed while opening serve the lookups: each file's footer is parsed once.
    for (const [name, { metadata, rows }] of footers) this.#parquet.set(name, Promise.resolve({ file: this.#fileBuffer(name), metadata, rows }));
  }

  /**
   * Lists and checks the shards (headers, sizes, matching metadata row counts). With `lookupDir` (a cache folder),
   * metadata lookups go through lookup files kept there, built on a shard's first lookup.
   */
  static async open(dir: string, options: { lookupDir?: string } = {}): Promise<EmbeddingsFolder> {
    const embDir = path.join(dir, "img_emb");
    if (!fs.existsSync(embDir) || !fs.statSync(embDir).isDirectory()) {
      throw new Error(`embeddings folder ${dir} has no img_emb/ folder; point \`embeddings\` at the output folder of \`clip-retrieval inference\``);
    }
    const npys = filesUnder(embDir, ".npy");
    if (npys.length === 0) throw new Error(`embeddings folder ${dir}: img_emb/ holds no .npy shard (img_emb_<n>.npy)`);
    const metaDir = path.join(dir, "metadata");
    const partners = fs.existsSync(metaDir) ? pairMetadata(dir, npys, filesUnder(metaDir, ".parquet")) : undefined;
    const shards: EmbeddingsShard[] = [];
    const footers = new Map<string, OpenedParquet>();
    let firstRow = 0;
    for (const name of npys) {
      requireRegularFile(path.join(embDir, name));
      const npy = readNpyHeader(path.join(embDir, name));
      if (shards.length && npy.dim !== shards[0].npy.dim) {
        throw new Error(`${npy.file}: vectors have ${npy.dim} dimensions, ${shards[0].npy.file} has ${shards[0].npy.dim}`);
      }
      let metadata: string | undefined;
      if (partners) {
        metadata = path.join(metaDir, partners.get(name)!);
        requireRegularFile(metadata);
        const opened = await openCheckedParquet(metadata);
        footers.set(metadata, opened);
        const { rows } = opened;
        if (rows !== npy.rows) throw new Error(`${metadata} has ${rows} rows but ${npy.file} has ${npy.rows}; the shards do not belong together`);
      }
      shards.push({ npy, metadata, firstRow });
      firstRow += npy.rows;
    }
    return new EmbeddingsFolder(dir, shards, footers, options.lookupDir);
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

  /** Byte ranges of a file read from its open descriptor (hyparquet's file reader opens a stream per range). */
  #fileBuffer(name: string): AsyncBuffer {
    const size = fs.statSync(name).size;
    return {
      byteLength: size,
      slice: async (start: number, end: number = size) => {
        // Opened on first use: a folder of thousands of shards does not hold a descriptor per file.
        const fd = this.#fd(name);
        const bytes = new Uint8Array(Math.max(0, end - start));
        const read = readAt(fd, bytes, start);
        if (read < bytes.length) throw new Error(`${name} is shorter than its parquet footer says (byte ${start + read})`);
        return bytes.buffer;
      },
    };
  }

  #parquetFile(name: string): Promise<OpenedParquet> {
    let opened = this.#parquet.get(name);
    if (!opened) {
      opened = openCheckedParquet(name, this.#fileBuffer(name));
      this.#parquet.set(name, opened);
    }
    return opened;
  }

  /**
   * Metadata of the given rows (in the order asked); rows without metadata get only `row`.
   * Rows are grouped by shard and parquet row group, and each group is decoded once, from its
   * first to its last wanted row: ten hits cost at most ten row-group reads, not ten whole-column reads each.
   */
  async metadata(rows: readonly number[]): Promise<RowMetadata[]> {
    const out = new Map<number, RowMetadata>();
    const byShard = new Map<EmbeddingsShard, number[]>();
    for (const row of new Set(rows)) {
      const shard = this.#shardOf(row);
      byShard.set(shard, [...(byShard.get(shard) ?? []), row - shard.firstRow]);
      out.set(row, { row });
    }
    for (const [shard, wanted] of byShard) {
      if (!shard.metadata) continue;
      const parquet = await this.#parquetFile(shard.metadata);
      const present = new Set(parquet.metadata.schema.slice(1).map((element) => element.name));
      const columns = METADATA_COLUMNS.filter((c) => present.has(c));
      if (columns.length === 0) continue;
      wanted.sort((a, b) => a - b);
      let groupStart = 0;
      for (const group of parquet.metadata.row_groups) {
        const groupEnd = groupStart + Number(group.num_rows);
        const inGroup = wanted.filter((r) => r >= groupStart && r < groupEnd);
        if (inGroup.length) {
          const rowStart = inGroup[0];
          const { read, tooLarge } = columnsWithin(parquet, rowStart, columns, DEFAULTS.datasetLimits.maxMetadataChunkBytes);
          for (const column of tooLarge) this.textCaps.unread(`${path.basename(shard.metadata)} column ${column} (row group from row ${groupStart})`);
          if (read.length === 0) {
            groupStart = groupEnd;
            continue;
          }
          const record = await this.#records(shard.metadata, parquet, columns, read, inGroup);
          for (const inShard of inGroup) {
            const entry = out.get(shard.firstRow + inShard)!;
            for (const column of read) {
              const value = record(inShard)[column];
              const text = value === null || value === undefined ? "" : this.#kept(column, String(value), shard.metadata, inShard);
              // Terminal control bytes never leave the reader (HTML escaping happens where it is rendered).
              if (text !== undefined && text.trim() !== "") entry[column] = text.replace(CONTROL_CHARACTERS, " ");
            }
          }
        }
        groupStart = groupEnd;
      }
    }
    return rows.map((row) => out.get(row)!);
  }

  /**
   * The raw values of `rows` (sorted, in one row group) by row: from the shard's lookup file when there is one, else
   * decoded from the parquet from the first to the last of them in one pass.
   */
  async #records(file: string, parquet: OpenedParquet, columns: readonly string[], read: readonly string[], rows: readonly number[]) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const lookup = await this.#lookup(file, parquet, columns);
      if (!lookup) break;
      try {
        const found = new Map(rows.map((row) => [row, lookup.row(row)] as const));
        return (row: number): Record<string, unknown> => found.get(row)!;
      } catch (error) {
        if (!(error instanceof DamagedLookup)) throw error;
        // A row that fails its checksum: the file is rebuilt (once), never read past the damage.
        this.#dropLookup(file);
        this.#lookups.set(file, this.#buildLookup(file, parquet, columns));
      }
    }
    this.metadataReads++;
    const records = await readRows(file, parquet, rows[0], rows[rows.length - 1] + 1, read);
    return (row: number) => records[row - rows[0]];
  }

  #lookup(file: string, parquet: OpenedParquet, columns: readonly string[]): Promise<MetadataLookup | undefined> {
    if (this.#lookupDir === undefined) return Promise.resolve(undefined);
    let lookup = this.#lookups.get(file);
    if (!lookup) {
      const dir = this.#lookupDir;
      lookup = MetadataLookup.existing(dir, file, parquet, columns).then((found) => found ?? this.#buildLookup(file, parquet, columns));
      this.#lookups.set(file, lookup);
    }
    return lookup;
  }

  async #buildLookup(file: string, parquet: OpenedParquet, columns: readonly string[]): Promise<MetadataLookup | undefined> {
    this.metadataLookupBuilds++;
    try {
      return await MetadataLookup.build(this.#lookupDir!, file, parquet, columns, () => this.metadataReads++);
    } catch (error) {
      // A cache folder that cannot be written, or a row group that cannot be decoded, costs speed, not results: this
      // shard's lookups read the parquet as before (and a damaged row group is reported when one of its rows is asked for).
      this.metadataLookupError ??= `${file}: ${(error as Error).message.split("\n")[0]}`;
      return undefined;
    }
  }

  #dropLookup(file: string): void {
    void this.#lookups.get(file)?.then((lookup) => lookup?.close());
    this.#lookups.delete(file);
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
    for (const file of [...this.#lookups.keys()]) this.#dropLookup(file);
  }
}

/** Files under `root` (subfolders included) whose names end in `extension`, as paths relative to it, sorted by those paths. */
function filesUnder(root: string, extension: string): string[] {
  const found = (fs.readdirSync(root, { recursive: true, encoding: "utf8" }) as string[]).filter((name) => name.endsWith(extension));
  // Code-unit order, as Python sorts the paths embedding-reader globs; separators are "/" on every platform.
  return found.map((name) => name.split(path.sep).join("/")).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The key that pairs a shard with its metadata: its subfolder and partition number. */
function partitionKey(name: string): string | undefined {
  const number = NUMBER.exec(path.posix.basename(name))?.[1];
  return number === undefined ? undefined : `${path.posix.dirname(name)}/${number}`;
}

/** Each .npy's metadata file (relative names), or an error naming the first shard without a partner. */
function pairMetadata(dir: string, npys: readonly string[], parquets: readonly string[]): Map<string, string> {
  const byKey = new Map<string, string>();
  for (const name of parquets) {
    const key = partitionKey(name);
    if (key === undefined) throw new Error(`embeddings folder ${dir}: metadata/${name} has no partition number (metadata_<n>.parquet)`);
    if (byKey.has(key)) throw new Error(`embeddings folder ${dir}: metadata/${name} and metadata/${byKey.get(key)} have the same partition number`);
    byKey.set(key, name);
  }
  const pairs = new Map<string, string>();
  for (const name of npys) {
    const key = partitionKey(name);
    const partner = key === undefined ? undefined : byKey.get(key);
    if (partner === undefined) {
      const expected = key === undefined ? "a metadata_<n>.parquet (its name has no partition number)" : `metadata/${expectedMetadataName(name)}`;
      throw new Error(`embeddings folder ${dir}: img_emb/${name} has no metadata shard (expected ${expected}); each img_emb shard has one`);
    }
    byKey.delete(key!);
    pairs.set(name, partner);
  }
  const orphan = byKey.values().next().value;
  if (orphan !== undefined) {
    throw new Error(
      `embeddings folder ${dir}: metadata/${orphan} has no img_emb shard (expected img_emb/${expectedEmbName(orphan)}); ` +
        `its rows would be attributed to other vectors — restore the .npy or remove the .parquet`,
    );
  }
  return pairs;
}

const expectedMetadataName = (npy: string) => npy.replace(/img_emb_(\d+)\.npy$/, "metadata_$1.parquet").replace(/\.npy$/, ".parquet");
const expectedEmbName = (parquet: string) => parquet.replace(/metadata_(\d+)\.parquet$/, "img_emb_$1.npy");
