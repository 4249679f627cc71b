// One rule for every list a warning names (skipped images, pages, files): the first few items
// and "and N more", with the whole list written to a report file under the cache folder, so a
// dataset with 200,000 missing files gives one short line, not megabytes of terminal.
import fs from "node:fs";
import path from "node:path";
import { shownItem } from "./shown-item.ts";
import { writeFileAtomicSync } from "./atomic-write.ts";
import { DEFAULTS } from "./defaults.ts";

export interface ListReport {
  /** Folder the full list goes to (the cache folder's reports/). */
  dir: string;
  /** File name, e.g. "skipped-images.txt". */
  name: string;
}

/** Where the build's report files go. */
export function reportsDir(cacheDir: string): string {
  return path.join(cacheDir, "reports");
}

/**
 * `items` joined by "; ", at most `limit` of them; beyond that "and N more" plus where the
 * full list was written (or why it could not be).
 */
export function cappedList(items: readonly string[], report?: ListReport, limit = DEFAULTS.warnings.listLimit): string {
  if (items.length <= limit) return items.map(shownItem).join("; ");
  let where = "";
  if (report) {
    const file = path.join(report.dir, report.name);
    try {
      fs.mkdirSync(report.dir, { recursive: true });
      writeFileAtomicSync(file, items.join("\n") + "\n");
      where = `; full list in ${file}`;
    } catch (error) {
      where = `; the full list could not be written to ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    }
  }
  return `${items.slice(0, limit).map(shownItem).join("; ")} and ${items.length - limit} more${where}`;
}
