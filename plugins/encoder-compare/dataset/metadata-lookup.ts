// A metadata shard's strings laid out for lookups by row. Reading one row of a parquet file decodes its whole page
// (tens of thousands of strings), so the first lookup in a shard decodes the file once, a row group at a time, and
// writes this file under the cache folder; later lookups, in this build or the next, read one table entry and one
// string range per row. The file is a cache, never trusted: it records which parquet it was made from (size, mtime,
// a hash of the footer), its header carries a checksum, and every row's entry and strings carry a CRC-32 checked on
// each read, so a damaged or stale file is rebuilt instead of being read.
//
// Layout (little-endian): a table of one fixed-size entry per row (start of its strings as float64, the byte length
// of each column's string as uint32, CRC-32 of those bytes and the strings as uint32), the strings (UTF-8, row after
// row, columns in order), a JSON header, and a trailer (header position as float64, header length, header CRC-32,
// magic). The table comes first because its size is known from the footer: it is filled in place while the strings
// are appended, so building holds one row group, not the file.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { crc32 } from "node:zlib";
import { removeDeadLeftovers, writeFileAtomicWith } from "../base/atomic-write.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { columnsWithin, readRows, type OpenedParquet } from "./parquet-check.ts";
import { readAt } from "../base/safe-read.ts";

const MAGIC = "ECMETA01";
const FORMAT = 1;
const TRAILER_BYTES = 24;
/** A build's temp file: `<lookup>.<pid>-<n>.tmp`, so two folders of one process building the same file do not share one. */
const TEMP = /^[0-9a-f]{32}\.bin\.(\d+)-\d+\.tmp$/;
let builds = 0;
/**
 * Rows decoded at a time while building: pyarrow writes row groups of up to a million rows, so a row group is not a
 * memory bound. A slice decodes the pages it overlaps (a 1 MB page holds ~35,000 paths): large slices waste little.
 */
const SLICE_ROWS = 131_072;

/** What a lookup file must say about its parquet to be used: the file as it is now. */
interface SourceIdentity {
  size: number;
  mtimeMs: number;
  footerSha256: string;
}

interface LookupHeader {
  format: number;
  source: SourceIdentity;
  columns: string[];
  rows: number;
  entryBytes: number;
}

/** A lookup file that fails a check; the caller rebuilds it. */
export class DamagedLookup extends Error {}

async function identityOf(parquetFile: string, parquet: OpenedParquet): Promise<SourceIdentity> {
  const stat = fs.statSync(parquetFile);
  const size = parquet.file.byteLength;
  // The footer's length sits in the 4 bytes before the closing "PAR1"; the footer (schema, row groups, statistics) is hashed.
  const tail = new DataView(await parquet.file.slice(size - 8, size));
  const footerBytes = tail.getUint32(0, true);
  const footer = new Uint8Array(await parquet.file.slice(size - 8 - footerBytes, size));
  return { size, mtimeMs: stat.mtimeMs, footerSha256: createHash("sha256").update(footer).digest("hex") };
}

const entryBytesOf = (columns: number) => 8 + 4 * columns + 4;

function readExactly(fd: number, length: number, position: number): Buffer {
  const bytes = Buffer.alloc(length);
  const read = readAt(fd, bytes, position);
  if (read < length) throw new DamagedLookup(`ends at byte ${position + read}, before its table says`);
  return bytes;
}

export class MetadataLookup {
  readonly file: string;
  readonly columns: readonly string[];
  readonly #fd: number;
  readonly #rows: number;
  readonly #entryBytes: number;
  readonly #dataEnd: number;

  private constructor(file: string, fd: number, header: LookupHeader, dataEnd: number) {
    this.file = file;
    this.#fd = fd;
    this.columns = header.columns;
    this.#rows = header.rows;
    this.#entryBytes = header.entryBytes;
    this.#dataEnd = dataEnd;
  }

  /** Where the lookup file of `parquetFile` lives under `dir` (one per parquet path; its header says which content). */
  static fileFor(dir: string, parquetFile: string): string {
    return path.join(dir, `${createHash("sha256").update(path.resolve(parquetFile)).digest("hex").slice(0, 32)}.bin`);
  }

  /** The lookup file for this parquet and these columns when one is there and matches; undefined when it must be built. */
  static async existing(dir: string, parquetFile: string, parquet: OpenedParquet, columns: readonly string[]): Promise<MetadataLookup | undefined> {
    const file = MetadataLookup.fileFor(dir, parquetFile);
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch {
      return undefined;
    }
    try {
      const { header, headerStart } = readHeader(fd);
      const source = await identityOf(parquetFile, parquet);
      const same =
        header.format === FORMAT &&
        header.rows === parquet.rows &&
        header.entryBytes === entryBytesOf(columns.length) &&
        JSON.stringify(header.columns) === JSON.stringify(columns) &&
        JSON.stringify(header.source) === JSON.stringify(source);
      if (!same) throw new DamagedLookup("was made from another file or version");
      return new MetadataLookup(file, fd, header, headerStart);
    } catch (error) {
      fs.closeSync(fd);
      if (error instanceof DamagedLookup || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  /**
   * Decodes `parquetFile`'s `columns` a row group at a time and writes its lookup file (atomically); returns it opened.
   * `onGroup` is called once per row group decoded. A column whose chunk is above the metadata chunk limit is not decoded
   * (its strings are stored empty; readers refuse it from the footer, as a direct read does).
   */
  static async build(
    dir: string,
    parquetFile: string,
    parquet: OpenedParquet,
    columns: readonly string[],
    onGroup: () => void,
    sliceRows = SLICE_ROWS,
  ): Promise<MetadataLookup> {
    const file = MetadataLookup.fileFor(dir, parquetFile);
    fs.mkdirSync(dir, { recursive: true });
    // What a killed build left behind.
    removeDeadLeftovers(dir, TEMP);
    const entryBytes = entryBytesOf(columns.length);
    const rows = parquet.rows;
    const source = await identityOf(parquetFile, parquet);
    await writeFileAtomicWith(file, async (temp) => {
      const fd = fs.openSync(temp, "w");
      try {
        let position = rows * entryBytes;
        let groupStart = 0;
        for (const group of parquet.metadata.row_groups) {
          const groupEnd = groupStart + Number(group.num_rows);
          const { read } = columnsWithin(parquet, groupStart, columns, DEFAULTS.datasetLimits.maxMetadataChunkBytes);
          if (read.length && groupEnd > groupStart) onGroup();
          for (let sliceStart = groupStart; sliceStart < groupEnd; sliceStart += sliceRows) {
            const count = Math.min(sliceRows, groupEnd - sliceStart);
            const records = read.length ? await readRows(parquetFile, parquet, sliceStart, sliceStart + count, read) : [];
            position = writeSlice(fd, position, sliceStart, count, records, columns, read, parquetFile);
          }
          groupStart = groupEnd;
        }
        const header: LookupHeader = { format: FORMAT, source, columns: [...columns], rows, entryBytes };
        const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
        const trailer = Buffer.alloc(TRAILER_BYTES);
        trailer.writeDoubleLE(position, 0);
        trailer.writeUInt32LE(headerBytes.length, 8);
        trailer.writeUInt32LE(crc32(headerBytes), 12);
        trailer.write(MAGIC, 16, "latin1");
        fs.writeSync(fd, Buffer.concat([headerBytes, trailer]), 0, headerBytes.length + TRAILER_BYTES, position);
      } finally {
        fs.closeSync(fd);
      }
    }, { temp: `${file}.${process.pid}-${++builds}.tmp` });
    const opened = await MetadataLookup.existing(dir, parquetFile, parquet, columns);
    if (!opened) throw new Error(`${file}: the metadata lookup file just written does not read back`);
    return opened;
  }

  /** One row's strings by column (empty where the parquet has null); DamagedLookup when its checksum fails. */
  row(row: number): Record<string, string> {
    if (!Number.isInteger(row) || row < 0 || row >= this.#rows) throw new RangeError(`row ${row} is outside ${this.file} (${this.#rows} rows)`);
    const entry = readExactly(this.#fd, this.#entryBytes, row * this.#entryBytes);
    const start = entry.readDoubleLE(0);
    const lengths = this.columns.map((_, c) => entry.readUInt32LE(8 + 4 * c));
    const length = lengths.reduce((sum, n) => sum + n, 0);
    const tableEnd = this.#rows * this.#entryBytes;
    if (!Number.isSafeInteger(start) || start < tableEnd || start + length > this.#dataEnd) {
      throw new DamagedLookup(`row ${row}'s strings lie outside the file`);
    }
    const data = readExactly(this.#fd, length, start);
    if (crc32(data, crc32(entry.subarray(0, this.#entryBytes - 4))) !== entry.readUInt32LE(this.#entryBytes - 4)) {
      throw new DamagedLookup(`row ${row} fails its checksum`);
    }
    const record: Record<string, string> = {};
    let at = 0;
    for (const [c, column] of this.columns.entries()) {
      record[column] = data.toString("utf8", at, at + lengths[c]);
      at += lengths[c];
    }
    return record;
  }

  close(): void {
    fs.closeSync(this.#fd);
  }
}

/**
 * Appends the strings of rows [first, first + count) at `position` and fills their table entries; returns where the
 * strings end. One string and one encoding per slice (not per cell): the byte lengths come from Buffer.byteLength.
 */
function writeSlice(
  fd: number,
  position: number,
  first: number,
  count: number,
  records: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
  read: readonly string[],
  parquetFile: string,
): number {
  const entryBytes = entryBytesOf(columns.length);
  const texts: string[] = new Array(count * columns.length);
  const lengths = new Uint32Array(count * columns.length);
  const readAt = columns.map((column) => read.includes(column));
  for (let r = 0; r < count; r++) {
    for (let c = 0; c < columns.length; c++) {
      const value = readAt[c] ? records[r][columns[c]] : undefined;
      const text = value === null || value === undefined ? "" : String(value);
      texts[r * columns.length + c] = text;
      lengths[r * columns.length + c] = Buffer.byteLength(text, "utf8");
    }
  }
  const data = Buffer.from(texts.join(""), "utf8");
  // Strings decoded from parquet are well-formed UTF-16, so their lengths add up; if not, offsets would be wrong.
  if (data.length !== lengths.reduce((sum, n) => sum + n, 0)) throw new Error(`${parquetFile}: a string does not encode to UTF-8 losslessly`);
  const table = Buffer.alloc(count * entryBytes);
  let at = 0;
  for (let r = 0; r < count; r++) {
    const entry = table.subarray(r * entryBytes, (r + 1) * entryBytes);
    entry.writeDoubleLE(position + at, 0);
    let rowBytes = 0;
    for (let c = 0; c < columns.length; c++) {
      const length = lengths[r * columns.length + c];
      entry.writeUInt32LE(length, 8 + 4 * c);
      rowBytes += length;
    }
    entry.writeUInt32LE(crc32(data.subarray(at, at + rowBytes), crc32(entry.subarray(0, entryBytes - 4))), entryBytes - 4);
    at += rowBytes;
  }
  fs.writeSync(fd, data, 0, data.length, position);
  fs.writeSync(fd, table, 0, table.length, first * entryBytes);
  return position + data.length;
}

/** The header, after checking the trailer's magic, the header's checksum and that the file ends where it says. */
function readHeader(fd: number): { header: LookupHeader; headerStart: number } {
  const size = fs.fstatSync(fd).size;
  if (size < TRAILER_BYTES) throw new DamagedLookup("is shorter than its trailer");
  const trailer = readExactly(fd, TRAILER_BYTES, size - TRAILER_BYTES);
  if (trailer.toString("latin1", 16) !== MAGIC) throw new DamagedLookup("has no trailer");
  const headerStart = trailer.readDoubleLE(0);
  const headerLength = trailer.readUInt32LE(8);
  if (!Number.isSafeInteger(headerStart) || headerStart < 0 || headerStart + headerLength + TRAILER_BYTES !== size) {
    throw new DamagedLookup("has a bad trailer");
  }
  const bytes = readExactly(fd, headerLength, headerStart);
  if (crc32(bytes) !== trailer.readUInt32LE(12)) throw new DamagedLookup("fails its header checksum");
  const header = JSON.parse(bytes.toString("utf8")) as LookupHeader;
  if (header.rows * header.entryBytes > headerStart) throw new DamagedLookup("has a table longer than the file");
  return { header, headerStart };
}
