// One query's result as a row of the comparison table: the shortcode and the CLI's --html page both build rows here,
// so both publish the same images (thumbnail, montage, full-size links) and the same hit captions.
import type { MontageWriter } from "../render/result-images.ts";
import type { TableHit, TableRow } from "../render/table.ts";
import type { QueryResult } from "../engine/types.ts";

/** What the caller knows about the row beyond the search result. */
export interface RowContext {
  queryAlt: string;
  rankOf?: string;
  expect?: readonly string[];
}

export async function queryTableRow(result: QueryResult, writer: MontageWriter, tile: number, context: RowContext): Promise<TableRow> {
  const query = { file: result.query.file, sha256: result.query.sha256 };
  const [queryImage, montage, queryFullImage, hitFullImages] = await Promise.all([
    writer.thumbnail(query, tile),
    result.hits.length ? writer.montage(result.hits.map((h) => h.image), tile) : Promise.resolve(undefined),
    writer.fullImage(query),
    Promise.all(result.hits.map((h) => writer.fullImage(h.image))),
  ]);
  return { ...context, queryImage, queryFullImage, montage, hits: tableHits(result, hitFullImages), selfExcluded: result.selfExcluded };
}

export function tableHits(result: QueryResult, fullImages: readonly string[]): TableHit[] {
  return result.hits.map((h, j) => ({ rank: h.rank, score: h.score, caption: h.image.caption, fullImage: fullImages[j], group: h.image.group }));
}
