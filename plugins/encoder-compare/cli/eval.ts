// `encoder-compare eval`: the encoderEval table in the terminal, or the whole report as JSON.
// stdout depends only on the inputs (two runs print the same bytes); timings go to stderr.
import { evaluateEncoders } from "../eval/evaluate.ts";
import { evalReportJson, formatEvalText } from "../render/eval-report.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { parseArgs, positiveIntegerFlag, UsageError, type Command } from "./common.ts";
import { describeDefaults, ENGINE_FLAGS, engineForCommand, optionsFromArgs, reportSkipped, requireDataset } from "./site-options.ts";

export const evalCommand: Command = {
  name: "eval",
  summary: "measure encoders on a labelled dataset (P@k, R@k, mAP, hit@1, MRR)",
  help: `Usage: encoder-compare eval [--dataset <dir>] [--encoders a,b] [--k 10] [--json]
                           [--config <file>] [--cache-dir <dir>]

Every dataset image whose group has at least two members is a query; the other members of its
group are its relevant results, and the query itself is left out of its own ranking. Each
encoder ranks the whole dataset by cosine similarity (ties by dataset id); the table shows
precision@k, recall@k, mAP, hit@1 and MRR per encoder, "*" marking the best value.

  --dataset, -d <dir>  dataset folder with a manifest that has groups (default: the plugin's)
  --encoders, -e a,b   encoder ids (default: the plugin's encoders)
  --k, -k <n>          cut-off for P@k and R@k (default ${DEFAULTS.eval.k})
  --json               the full report as JSON, per-query ranks included
  --config <file>      a module whose default export is plugin options
  --cache-dir <dir>    embedding store folder (default .cache/encoder-compare)

An encoder whose model is unavailable runs as its stand-in, and the output says so.`,
  helpFooter: describeDefaults,
  async run(args, io) {
    const parsed = parseArgs(args, ["--json"], [...ENGINE_FLAGS, "--k"]);
    if (parsed.positional.length) throw new UsageError(`eval takes no positional arguments, got "${parsed.positional[0]}"`);
    const options = await optionsFromArgs(parsed, io.cwd);
    const k = positiveIntegerFlag(parsed, "--k", DEFAULTS.eval.k);
    const datasetDir = requireDataset(options, io.cwd);
    const engine = engineForCommand(options, io);
    try {
      const { report } = await evaluateEncoders(engine, datasetDir, options.encoders, {
        k,
        onEncoder: (id, seconds) => io.err.write(`${id}: ranked in ${seconds.toFixed(1)} s\n`),
      });
      if (report.dataset.queries === 0) {
        io.err.write(
          `encoder-compare: dataset ${report.dataset.name} has no group with two or more images; give images a "group" in manifest.json or manifest.csv\n`,
        );
        return 1;
      }
      io.out.write(parsed.flags.has("--json") ? JSON.stringify(evalReportJson(report), null, 2) + "\n" : formatEvalText(report));
      reportSkipped(engine, io);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
