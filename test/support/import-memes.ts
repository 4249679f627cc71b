// The meme importer as the network tests run it: one attempt, short backoff and deadline, small images, each log
// line kept; a test gives the output folder, the list's URL and what it varies.
import { importJinaMemes, type ImportOptions, type ImportResult } from "../../plugins/encoder-compare/dataset/import-jina.ts";

export async function importForTest(
  outDir: string,
  url: string,
  overrides: Partial<ImportOptions> = {},
): Promise<{ result: ImportResult; lines: string[] }> {
  const lines: string[] = [];
  const result = await importJinaMemes({
    outDir,
    url,
    limit: 10,
    seed: 1,
    concurrency: 2,
    attempts: 1,
    backoffMs: 1,
    timeoutMs: 5_000,
    maxImageBytes: 100_000,
    refresh: false,
    log: (line) => lines.push(line),
    ...overrides,
  });
  return { result, lines };
}
