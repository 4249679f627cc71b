// `encoder-compare dataset import jina-memes`: fetch a seeded sample of the 2021 posts' meme
// dataset into a dataset folder.
import path from "node:path";
import { DEFAULTS } from "../base/defaults.ts";
import { DATASET_URL_ENV, importJinaMemes } from "../dataset/import-jina.ts";
import { parseArgs, positiveIntegerFlag, UsageError, type Command } from "./common.ts";

const SOURCES = ["jina-memes"];
const IMPORTER = DEFAULTS.importer;

export const datasetImport: Command = {
  name: "dataset import",
  summary: "download a seeded sample of the 2021 meme dataset (jina-memes) as a dataset folder",
  help: `Usage: encoder-compare dataset import jina-memes [--limit ${IMPORTER.limit}] [--seed ${IMPORTER.seed}] [--out <dir>]
                                    [--url <memes.json URL>] [--concurrency ${IMPORTER.concurrency}] [--retries ${IMPORTER.retries}] [--refresh]

Downloads memes.json (imgflip memes grouped by template, as used by Jina's meme search example
and the 2021 posts), samples --limit memes and downloads their images into <dir>/images, then
writes <dir>/manifest.json with group = meme template, ready for encoderEval and \`eval\`.

Sampling reproduces the 2021 scripts: memes listed template by template in file order, shuffled
with Python's random.seed(<seed>) + random.shuffle (same algorithm), first --limit kept.

  --limit <n>        memes to sample (default ${IMPORTER.limit})
  --seed <n>         shuffle seed, a whole number (default ${IMPORTER.seed}, as in 2021)
  --out, -o <dir>    dataset folder (default ${IMPORTER.out})
  --url <url>        memes.json location (default ${IMPORTER.memesUrl},
                     or $${DATASET_URL_ENV}); https only, plain http only to localhost
  --concurrency <n>  parallel image downloads (default ${IMPORTER.concurrency})
  --retries <n>      extra tries after a network error, timeout, 429 or 5xx (default ${IMPORTER.retries})
  --refresh          download memes.json again even if <dir> has a copy from the same URL

Run it again to resume: images already in <dir>/images are kept. Images that fail (HTTP errors,
replies that are not images) are left out and listed in <dir>/import-report.json.
The memes are not ours to license: whether you may use them is your responsibility.`,
  async run(args, io) {
    const parsed = parseArgs(args, ["--refresh"], ["--limit", "--seed", "--out", "--url", "--concurrency", "--retries"]);
    const [source, ...rest] = parsed.positional;
    if (!source) throw new UsageError(`name the dataset to import: ${SOURCES.join(", ")}`);
    if (!SOURCES.includes(source)) throw new UsageError(`unknown dataset "${source}"; known: ${SOURCES.join(", ")}`);
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const seedText = parsed.values.get("--seed") ?? String(IMPORTER.seed);
    if (!/^\d+$/.test(seedText) || !Number.isSafeInteger(Number(seedText))) throw new UsageError(`--seed must be a whole number, got "${seedText}"`);
    const retriesText = parsed.values.get("--retries") ?? String(IMPORTER.retries);
    if (!/^\d+$/.test(retriesText) || Number(retriesText) > IMPORTER.maxRetries) {
      throw new UsageError(`--retries must be a whole number from 0 to ${IMPORTER.maxRetries}, got "${retriesText}"`);
    }
    const isTTY = (io.err as { isTTY?: boolean }).isTTY === true;
    const result = await importJinaMemes({
      outDir: path.resolve(io.cwd, parsed.values.get("--out") ?? IMPORTER.out),
      url: parsed.values.get("--url") ?? (io.env[DATASET_URL_ENV] || IMPORTER.memesUrl),
      limit: positiveIntegerFlag(parsed, "--limit", IMPORTER.limit),
      seed: Number(seedText),
      concurrency: positiveIntegerFlag(parsed, "--concurrency", IMPORTER.concurrency),
      attempts: Number(retriesText) + 1,
      backoffMs: IMPORTER.backoffMs,
      timeoutMs: IMPORTER.timeoutMs,
      maxImageBytes: IMPORTER.maxImageBytes,
      refresh: parsed.flags.has("--refresh"),
      log: (line) => io.err.write(`${line}\n`),
      tty: isTTY ? io.err : undefined,
    });
    io.out.write(`${result.manifestFile}\n`);
    return result.sampled > result.failed.length ? 0 : 1;
  },
};
