// The query command's --json rows: per query image, each encoder's hits keyed by the encoder that ran, with what it
// stands in for beside it (the reason in the tables' words, and the loader's own text as the detail).
import { standingInForJson } from "../render/encoder-run.ts";
import type { RunResult } from "./compare-answers.ts";

export interface QueryJson {
  query: string;
  results: Array<{
    encoderId: string;
    standingInFor?: { encoderId: string; label: string; reason: string; detail: string };
    selfExcluded: boolean;
    hits: Array<{ rank: number; score: number; id: string; caption: string; group?: string }>;
  }>;
}

export function queryJson(query: string, columns: readonly RunResult[]): QueryJson {
  return {
    query,
    results: columns.map(({ run, result }) => ({
      encoderId: result.encoder.id,
      standingInFor: run.standingInFor ? standingInForJson(run.standingInFor) : undefined,
      selfExcluded: result.selfExcluded,
      // Six decimals: enough to order and compare, and the same text on every platform.
      hits: result.hits.map((h) => ({ rank: h.rank, score: Number(h.score.toFixed(6)), id: h.image.id, caption: h.image.caption, group: h.image.group })),
    })),
  };
}
