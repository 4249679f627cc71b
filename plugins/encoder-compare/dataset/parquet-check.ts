// A parquet file a dataset names, opened so that what its footer claims is checked against what it holds: the row
// groups add up to the file's row count, and the last row is really there (a footer that claims 40 rows over 5 real
// ones is refused, not read as 35 empty rows). Every failure names the file.
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from "hyparquet";

export interface OpenedParquet {
  file: AsyncBuffer;
  metadata: FileMetaData;
  rows: number;
}

function refuse(name: string, what: string, cause?: unknown): never {
  throw new Error(`${name}: ${what}`, cause === undefined ? undefined : { cause });
}

/**
 * The file's footer, checked: row groups sum to num_rows, and the last row of one column can be read. `reader` reads
 * its bytes when the caller has its own (an open descriptor); by default the file is read by path.
 */
export async function openCheckedParquet(name: string, reader?: AsyncBuffer): Promise<OpenedParquet> {
  let file: AsyncBuffer;
  let metadata: FileMetaData;
  try {
    file = reader ?? (await asyncBufferFromFile(name));
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    refuse(name, `is not a readable parquet file: ${firstLine(error)}`, error);
  }
  const rows = Number(metadata.num_rows);
  if (!Number.isSafeInteger(rows) || rows < 0) refuse(name, `its footer claims ${metadata.num_rows} rows`);
  const inGroups = metadata.row_groups.reduce((sum, group) => sum + Number(group.num_rows), 0);
  if (inGroups !== rows) refuse(name, `its footer claims ${rows} rows but its row groups hold ${inGroups}; the file is damaged or was edited`);
  for (const [g, group] of metadata.row_groups.entries()) {
    for (const chunk of group.columns) {
      const values = Number(chunk.meta_data?.num_values ?? group.num_rows);
      if (values < Number(group.num_rows)) {
        const column = chunk.meta_data?.path_in_schema.join(".") ?? "?";
        refuse(name, `row group ${g} claims ${group.num_rows} rows but its column ${column} holds ${values} values`);
      }
    }
  }
  const opened = { file, metadata, rows };
  if (rows > 0) {
    // The cheapest column's last row: decoding it reads one column chunk, not the file.
    const chunks = metadata.row_groups[metadata.row_groups.length - 1].columns;
    const cheapest = [...chunks].sort((a, b) => Number(a.meta_data?.total_compressed_size ?? 0) - Number(b.meta_data?.total_compressed_size ?? 0))[0];
    const column = cheapest?.meta_data?.path_in_schema[0];
    if (column !== undefined) await readRow(name, opened, rows - 1, [column]);
  }
  return opened;
}

/**
 * The columns of `columns` whose chunk holding `row` decodes to at most `maxBytes` (reading one value decodes its
 * whole page, and a chunk of repeated 30 MB strings compresses to almost nothing): the others are left unread.
 */
export function columnsWithin<C extends string>(parquet: OpenedParquet, row: number, columns: readonly C[], maxBytes: number): { read: C[]; tooLarge: C[] } {
  let first = 0;
  const group = parquet.metadata.row_groups.find((g) => row < (first += Number(g.num_rows)));
  const read: C[] = [];
  const tooLarge: C[] = [];
  for (const column of columns) {
    const chunk = group?.columns.find((c) => c.meta_data?.path_in_schema[0] === column);
    (Number(chunk?.meta_data?.total_uncompressed_size ?? 0) > maxBytes ? tooLarge : read).push(column);
  }
  return { read, tooLarge };
}

/** One row's values of `columns`; a row the data does not hold is an error naming the file, not an empty record. */
async function readRow(name: string, parquet: OpenedParquet, row: number, columns: readonly string[]): Promise<Record<string, unknown>> {
  return (await readRows(name, parquet, row, row + 1, columns))[0];
}

/** Rows [rowStart, rowEnd) of `columns` in one decoding pass; every row must be in the data, as for readRow. */
export async function readRows(
  name: string,
  parquet: OpenedParquet,
  rowStart: number,
  rowEnd: number,
  columns: readonly string[],
): Promise<Array<Record<string, unknown>>> {
  let records: Array<Record<string, unknown>>;
  try {
    records = await parquetReadObjects({ file: parquet.file, metadata: parquet.metadata, columns: [...columns], rowStart, rowEnd });
  } catch (error) {
    const which = rowEnd - rowStart === 1 ? `row ${rowStart}` : `rows ${rowStart}…${rowEnd - 1}`;
    refuse(name, `${which} cannot be read: ${firstLine(error)}`, error);
  }
  for (let row = rowStart; row < rowEnd; row++) {
    const record = records[row - rowStart];
    // A row the data holds has every column, null where a value is missing; past the data, hyparquet gives undefined.
    const missing = columns.filter((column) => record?.[column] === undefined);
    if (missing.length > 0) {
      refuse(name, `its footer claims ${parquet.rows} rows but row ${row} is not in its data (column ${missing[0]}); the file is truncated or its footer lies`);
    }
  }
  return records;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0].slice(0, 200);
}
