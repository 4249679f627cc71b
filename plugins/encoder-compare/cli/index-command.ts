// `encoder-compare index`: embed a dataset with each encoder now, so the next build (or a
// CI build restoring .cache/) finds every vector in the store.
import path from "node:path";
import { datasetLocation } from "../dataset/embeddings-option.ts";
import { statsName } from "../compare.ts";
import { collectSummary, formatSummary } from "../summary.ts";
import { parseArgs, UsageError, type Command } from "./common.ts";
import { ENGINE_FLAGS, engineForCommand, optionsFromArgs } from "./site-options.ts";

export const indexCommand: Command = {
  name: "index",
  summary: "embed the dataset with every encoder into the store now",
  help: `Usage: encoder-compare index [--encoders a,b] [--dataset <dir>] [--config <options module>] [--cache-dir <dir>]

Embeds every dataset image with each encoder (only images not already in the store), builds the
search index once to check it, and prints the build summary line. Progress shows on a terminal.`,
  async run(args, io) {
    const parsed = parseArgs(args, [], [...ENGINE_FLAGS]);
    if (parsed.positional.length) throw new UsageError(`unexpected argument "${parsed.positional[0]}"`);
    const options = await optionsFromArgs(parsed, io.cwd);
    const engine = engineForCommand(options, io);
    const datasetDir = datasetLocation(options.dataset, options.datasets, io.cwd);
    try {
      engine.startBuild();
      for (const id of options.encoders) {
        const { dataset } = await engine.datasetIndex(id, datasetDir);
        const encoder = await engine.encoder(id);
        io.err.write(`${statsName(encoder)}: ${dataset.images.length} images indexed from ${path.relative(io.cwd, datasetDir) || datasetDir}\n`);
      }
      const summary = collectSummary(engine, 0, 0);
      io.out.write(formatSummary(summary) + "\n");
      for (const s of summary.skipped) io.err.write(`skipped ${path.relative(io.cwd, s.file)}: ${s.reason}\n`);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
