// Answers as the inputs render/ draws: comparison tables (one per encoder), versus tables (one per query) and the
// scoreboard, with their images written by the montage writer. The page's shortcodes and the CLI's page share them.
import type { CompareEngine } from "../engine/compare-engine.ts";
import type { DatasetVectorCache } from "../engine/dataset-vectors.ts";
import { countMatches } from "../render/relevance.ts";
import type { MontageWriter } from "../render/result-images.ts";
import type { ScoreboardInput } from "../render/scoreboard.ts";
import type { TableInput, TableRow } from "../render/table.ts";
import type { VersusInput } from "../render/versus.ts";
import { pageAnswers, type EncoderAnswers, type PageCompareAsk } from "./compare-answers.ts";
import { queryTableRow, tableHits } from "./table-row.ts";

/** Where a view's images go: the writer, the tile size they are drawn at, and the URL of the folder they land in. */
export interface ImagePlace {
  writer: MontageWriter;
  tile: number;
  /** Ends in "/". */
  urlBase: string;
}

/** The seed layout: one table per encoder, one row per query. */
export async function tableInputs(encoders: readonly EncoderAnswers[], place: ImagePlace, k: number): Promise<TableInput[]> {
  const tables: TableInput[] = [];
  for (const { encoderId, encoderLabel, run, answers } of encoders) {
    const rows: TableRow[] = [];
    for (const { result, queryAlt, expect, rankOf } of answers) rows.push(await queryTableRow(result, place.writer, place.tile, { queryAlt, rankOf, expect }));
    // The dataset as the query saw it (a folder of images or an embeddings folder alike).
    const first = answers[0].result;
    tables.push({
      encoderId,
      encoderLabel,
      run,
      // Where an embeddings dataset's vectors came from, and whether they were verified.
      note: first.datasetNote ? `(${first.datasetNote})` : undefined,
      datasetName: first.datasetName,
      datasetSize: first.datasetSize,
      k,
      urlBase: place.urlBase,
      rows,
    });
  }
  return tables;
}

/** layout="versus": one table per query, one column per encoder, one row per rank. */
export async function versusInputs(encoders: readonly EncoderAnswers[], place: ImagePlace, k: number): Promise<VersusInput[]> {
  const { writer } = place;
  // Columns sit side by side: their thumbnails are half the tables' size.
  const tile = Math.max(48, Math.round(place.tile / 2));
  const tables: VersusInput[] = [];
  for (const [i, { result: firstResult, queryAlt, expect }] of encoders[0].answers.entries()) {
    const query = { file: firstResult.query.file, sha256: firstResult.query.sha256 };
    const [queryImage, queryFullImage] = await Promise.all([writer.thumbnail(query, place.tile), writer.fullImage(query)]);
    const columns = await Promise.all(
      encoders.map(async ({ encoderId, run, answers }) => {
        const { result, rankOf } = answers[i];
        const [images, fulls] = await Promise.all([
          Promise.all(result.hits.map((h) => writer.thumbnail(h.image, tile))),
          Promise.all(result.hits.map((h) => writer.fullImage(h.image))),
        ]);
        return { encoderId, run, hits: tableHits(result, fulls), images, selfExcluded: result.selfExcluded, rankOf };
      }),
    );
    tables.push({
      queryAlt,
      queryImage,
      queryFullImage,
      expect,
      k,
      datasetName: firstResult.datasetName,
      datasetSize: firstResult.datasetSize,
      urlBase: place.urlBase,
      columns,
    });
  }
  return tables;
}

/** encoderScoreboard: per encoder that ran, matches in the top k per query and the first match's rank over the dataset. */
export function scoreboardInput(encoders: readonly EncoderAnswers[], ask: { k: number; queries: readonly string[] }): ScoreboardInput {
  const queries = encoders[0].answers.map((a, i) => {
    if (!a.expect) {
      throw new Error(
        `"${ask.queries[i]}" is not a dataset image with a group, so nothing counts as a match; add expect="<group>" (one group or a list)`,
      );
    }
    return { name: a.queryAlt, groups: a.expect };
  });
  const rows = encoders.map(({ run, answers }) => ({
    run,
    cells: answers.map(({ result, firstMatch }, i) => ({
      matches: countMatches(result.hits.map((h) => ({ group: h.image.group })), { groups: queries[i].groups }),
      shown: result.hits.length,
      firstMatch,
    })),
  }));
  return { k: ask.k, datasetName: encoders[0].answers[0].result.datasetName, queries, rows };
}

/** What a comparison shortcode draws: the scoreboard, one table per encoder, or one versus table per query. */
export type CompareView =
  | { layout: "scoreboard"; scoreboard: ScoreboardInput }
  | { layout: "tables"; tables: TableInput[] }
  | { layout: "versus"; tables: VersusInput[] };

export async function compareView(
  engine: CompareEngine,
  ranks: DatasetVectorCache,
  place: ImagePlace,
  ask: PageCompareAsk & { layout: CompareView["layout"] },
): Promise<CompareView> {
  const encoders = await pageAnswers(engine, ranks, { ...ask, firstMatch: ask.layout === "scoreboard" });
  switch (ask.layout) {
    case "scoreboard":
      return { layout: "scoreboard", scoreboard: scoreboardInput(encoders, ask) };
    case "versus":
      return { layout: "versus", tables: await versusInputs(encoders, place, ask.k) };
    case "tables":
      return { layout: "tables", tables: await tableInputs(encoders, place, ask.k) };
  }
}
