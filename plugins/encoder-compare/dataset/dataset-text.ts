// Strings a dataset supplies (ids, captions, groups and urls from manifests, CSV, parquet metadata and file names),
// as the build keeps them: cut to DEFAULTS.datasetLimits when read, so no page, log or memory peak grows with the length
// of a string in the data; ids and groups in one Unicode normal form (NFC), so spellings that look alike compare alike.
import { DEFAULTS } from "../base/defaults.ts";
import { cutText } from "../base/shown-item.ts";

export type DatasetTextKind = "id" | "caption" | "group";

const LIMITS: Record<DatasetTextKind, number> = {
  id: DEFAULTS.datasetLimits.maxIdChars,
  caption: DEFAULTS.datasetLimits.maxCaptionChars,
  group: DEFAULTS.datasetLimits.maxGroupChars,
};

/**
 * Counts the strings cut while one dataset is read, for its one warning. `where` names the first one
 * ("manifest.json images[3] caption").
 */
export class TextCaps {
  count = 0;
  #first?: string;
  #warned = false;

  /** The string as kept: NFC for ids and groups, cut to its kind's cap. */
  keep(text: string, kind: DatasetTextKind, where: () => string): string {
    const normal = kind === "caption" ? text : text.normalize("NFC");
    const kept = cutText(normal, LIMITS[kind]);
    if (kept !== normal) {
      this.count++;
      this.#first ??= `${where()} ${kind}, ${normal.length.toLocaleString("en-US")} characters`;
    }
    return kept;
  }

  /** A url or path as used: undefined when it is longer than the url cap (counted like a cut string). */
  url(text: string, where: () => string): string | undefined {
    if (text.length <= DEFAULTS.datasetLimits.maxUrlChars) return text;
    this.count++;
    this.#first ??= `${where()}, ${text.length.toLocaleString("en-US")} characters (dropped)`;
    return undefined;
  }

  /** A value not read at all (its parquet chunk is above maxMetadataChunkBytes), counted like a cut string. */
  unread(where: string): void {
    this.count++;
    this.#first ??= `${where}: its chunk decodes to more than ${DEFAULTS.datasetLimits.maxMetadataChunkBytes / 1024 ** 2} MiB, not read`;
  }

  /** The one warning for `source` ("dataset content/datasets"), once, when anything was cut; else undefined. */
  warning(source: string): string | undefined {
    if (this.count === 0 || this.#warned) return undefined;
    this.#warned = true;
    const { maxIdChars, maxCaptionChars, maxGroupChars, maxUrlChars } = DEFAULTS.datasetLimits;
    return (
      `${source}: ${this.count.toLocaleString("en-US")} string(s) longer than the caps were cut with "…" (first: ${this.#first}); ` +
      `caps: id ${maxIdChars}, caption ${maxCaptionChars}, group ${maxGroupChars}, url ${maxUrlChars} characters`
    );
  }
}
