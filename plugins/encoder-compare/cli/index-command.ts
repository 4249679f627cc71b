// `encoder-compare index`: embed a dataset with each encoder now, so the next build (or a
// CI build restoring .cache/) finds every vector in the store.
import path from "node:path";
import { statsName } from "../engine/encoder-identity.ts";
import { collectSummary, formatSummary } from "../engine/summary.ts";
import { terminalText } from "../base/terminal-text.ts";
import { cappedList, reportsDir } from "../base/warning-list.ts";
import { parseArgs, UsageError, type Command } from "./common.ts";
import { describeDefaults, ENGINE_FLAGS, engineForCommand, optionsFromArgs, requireDataset } from "./site-options.ts";

export const indexCommand: Command = {
  name: "index",
  summary: "embed the dataset with every encoder into the store now",
  help: `Usage: encoder-compare index [--encoders a,b] [--dataset <dir>] [--config <options module>] [--cache-dir <dir>]

Embeds every dataset image with each encoder (only images not already in the store), builds the
search index once to check it, and prints the build summary line. Progress shows on a terminal.
-e is short for --encoders, -d for --dataset.`,
  helpFooter: describeDefaults,
  async run(args, io) {
    const parsed = parseArgs(args, [], [...ENGINE_FLAGS]);
    if (parsed.positional.length) throw new UsageError(`unexpected argument "${parsed.positional[0]}"`);
    const options = await optionsFromArgs(parsed, io.cwd);
    const datasetDir = requireDataset(options, io.cwd);
    const engine = engineForCommand(options, io);
    try {
      engine.startBuild();
      for (const id of options.encoders) {
        const { dataset } = await engine.datasetIndex(id, datasetDir);
        const encoder = await engine.encoder(id);
        io.err.write(`${statsName(encoder)}: ${dataset.images.length} images indexed from ${path.relative(io.cwd, datasetDir) || datasetDir}\n`);
      }
      const summary = collectSummary(engine.build, 0, 0);
      io.out.write(formatSummary(summary) + "\n");
      if (summary.skipped.length > 0) {
        const list = cappedList(
          summary.skipped.map((s) => `${terminalText(path.relative(io.cwd, s.file))} (${terminalText(s.reason)})`),
          { dir: reportsDir(engine.options.cacheDir), name: "skipped-images.txt" },
        );
        io.err.write(`${summary.skipped.length} dataset image(s) skipped: ${list}\n`);
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};
