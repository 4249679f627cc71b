// A dataset's manifest: manifest.json ({ name, images: [{ id, file, caption, group }] }) or
// manifest.csv (a header row naming the columns id, file, caption, group; RFC 4180 quoting).
// This module only reads and parses; load.ts validates the entries and hashes the files.
import fs from "node:fs";
import path from "node:path";
import { DEFAULTS } from "../base/defaults.ts";
import { readCheckedSync, realRoots } from "../base/safe-read.ts";

export const MANIFEST_FILES = ["manifest.json", "manifest.csv"] as const;

export interface RawManifestEntry {
  id?: unknown;
  file?: unknown;
  caption?: unknown;
  group?: unknown;
  /** Where the entry is, for messages: "images[3]" or "row 4 (line 5)". */
  where: string;
}

export interface RawManifest {
  /** Absolute path of the manifest file. */
  file: string;
  name?: string;
  entries: RawManifestEntry[];
}

/** The CSV columns this project reads; any other column is ignored. */
export const CSV_COLUMNS = ["id", "file", "caption", "group"] as const;

export class CsvSyntaxError extends Error {}

export interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts. */
  line: number;
}

/**
 * Splits CSV text into records per RFC 4180: fields separated by commas, records by CRLF or
 * LF; a field in double quotes may hold commas, line breaks and doubled quotes (""). A leading
 * byte-order mark is dropped and a final line break does not start an empty record.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let fields: string[] = [];
  let recordLine = 1;
  const endRecord = () => {
    records.push({ fields, line: recordLine });
    fields = [];
  };
  if (i >= text.length) return records;
  for (;;) {
    // One field starts at i.
    let value = "";
    if (text[i] === '"') {
      const openedOn = line;
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote < 0) throw new CsvSyntaxError(`line ${openedOn}: a quoted field is never closed (missing ")`);
        const chunk = text.slice(i, quote);
        value += chunk;
        line += countLineBreaks(chunk);
        if (text[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      if (i < text.length && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
        throw new CsvSyntaxError(`line ${line}: unexpected ${JSON.stringify(text[i])} after a closing quote (a quote inside a field must be doubled: "")`);
      }
    } else {
      let end = i;
      while (end < text.length && text[end] !== "," && text[end] !== "\n" && text[end] !== "\r") end++;
      value = text.slice(i, end);
      if (value.includes('"')) {
        throw new CsvSyntaxError(`line ${line}: a field that contains a quote must itself be quoted, e.g. "say ""hi"""`);
      }
      i = end;
    }
    fields.push(value);
    if (i >= text.length) {
      endRecord();
      return records;
    }
    if (text[i] === ",") {
      i++;
      continue;
    }
    // A line break: \r\n, \n or a lone \r.
    i += text[i] === "\r" && text[i + 1] === "\n" ? 2 : 1;
    line++;
    endRecord();
    if (i >= text.length) return records;
    recordLine = line;
  }
}

function countLineBreaks(text: string): number {
  return (text.match(/\r\n|\r|\n/g) ?? []).length;
}

/** The manifest's text: a regular file inside the dataset folder, within DEFAULTS.datasetLimits.maxManifestBytes. */
function readManifestText(file: string): string {
  try {
    return readCheckedSync(file, { roots: realRoots(path.dirname(file)), maxBytes: DEFAULTS.datasetLimits.maxManifestBytes }).toString("utf8");
  } catch (error) {
    throw new Error(`dataset manifest ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

function readJsonManifest(file: string): RawManifest {
  let manifest: { name?: unknown; images?: unknown };
  const text = readManifestText(file);
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new Error(`dataset manifest ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof manifest !== "object" || manifest === null || !Array.isArray(manifest.images)) {
    throw new Error(`dataset manifest ${file} has no "images" array; expected { "name": …, "images": [{ "id", "file", "caption", "group" }] }`);
  }
  const entries = (manifest.images as unknown[]).map((entry, index): RawManifestEntry => {
    const fields = typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>) : {};
    return { id: fields.id, file: fields.file, caption: fields.caption, group: fields.group, where: `images[${index}]` };
  });
  return { file, name: typeof manifest.name === "string" ? manifest.name : undefined, entries };
}

function readCsvManifest(file: string): RawManifest {
  let records: CsvRecord[];
  const text = readManifestText(file);
  try {
    records = parseCsv(text);
  } catch (error) {
    throw new Error(`dataset manifest ${file} is not valid CSV: ${(error as Error).message}`, { cause: error });
  }
  const [header, ...rows] = records;
  const columns = (header?.fields ?? []).map((c) => c.trim().toLowerCase());
  if (!columns.includes("file")) {
    throw new Error(
      `dataset manifest ${file}: the first row must name the columns, including "file" (expected a header such as id,file,caption,group), ` +
        `got ${JSON.stringify(header?.fields.join(",") ?? "")}`,
    );
  }
  const position = new Map<string, number>();
  for (const [index, column] of columns.entries()) {
    if (!(CSV_COLUMNS as readonly string[]).includes(column)) continue;
    if (position.has(column)) throw new Error(`dataset manifest ${file}: column "${column}" appears twice in the header`);
    position.set(column, index);
  }
  const entries: RawManifestEntry[] = [];
  for (const [index, row] of rows.entries()) {
    // A blank line (one empty field) is not an image.
    if (row.fields.length === 1 && row.fields[0] === "") continue;
    const where = `row ${index + 2} (line ${row.line})`;
    if (row.fields.length !== columns.length) {
      throw new Error(
        `dataset manifest ${file}: ${where} has ${row.fields.length} fields but the header has ${columns.length}; quote fields that contain commas`,
      );
    }
    const cell = (column: string) => {
      const at = position.get(column);
      return at === undefined ? undefined : row.fields[at];
    };
    entries.push({ id: cell("id"), file: cell("file"), caption: cell("caption"), group: cell("group"), where });
  }
  return { file, entries };
}

/** The dataset's manifest, or undefined when the folder has none (every image is listed then). */
export function readManifest(dir: string): RawManifest | undefined {
  const present = MANIFEST_FILES.map((name) => path.join(dir, name)).filter((file) => fs.existsSync(file));
  if (present.length > 1) {
    throw new Error(`dataset folder ${dir} has both manifest.json and manifest.csv; keep one of them so it is clear which describes the images`);
  }
  if (present.length === 0) return undefined;
  return present[0].endsWith(".csv") ? readCsvManifest(present[0]) : readJsonManifest(present[0]);
}
