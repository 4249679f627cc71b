// `npx encoder-compare <command>`: the plugin's work outside a build. Each command lives in
// cli/<group>.ts; this file only dispatches. Exit codes: 0 ok, 1 runtime failure, 2 usage.
import fs from "node:fs";
import { UsageError, type Command, type Output } from "./common.ts";
import { cacheClear, cacheStats } from "./cache.ts";
import { datasetImport } from "./dataset.ts";
import { evalCommand } from "./eval.ts";
import { exportCommand } from "./export.ts";
import { indexCommand } from "./index-command.ts";
import { modelsList, modelsPull, modelsVerify } from "./models.ts";
import { queryCommand } from "./query.ts";
import { terminalOutput, terminalText } from "../render/terminal-text.ts";

export const COMMANDS: readonly Command[] = [
  queryCommand,
  indexCommand,
  evalCommand,
  exportCommand,
  datasetImport,
  cacheStats,
  cacheClear,
  modelsList,
  modelsPull,
  modelsVerify,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "Usage: encoder-compare <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    'Run "encoder-compare <command> --help" for a command\'s options.',
    "Environment: ENCODER_COMPARE_MODELS_DIR (model cache), ENCODER_COMPARE_MODEL_BASE_URL (mirror),",
    "ENCODER_COMPARE_OFFLINE=1 (never download), ENCODER_COMPARE_DATASET_URL (memes.json for dataset import).",
  ].join("\n");
}

export async function main(
  argv: string[],
  stdout: Output = process.stdout,
  stderr: Output = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // Everything a command prints goes through here; dataset text cannot reach the terminal raw.
  const out = terminalOutput(stdout);
  const err = terminalOutput(stderr);
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h") {
    out.write(mainHelp() + "\n");
    return argv.length === 0 ? 2 : 0;
  }
  // The longest command name that prefixes argv wins ("models pull" over "models").
  const command = [...COMMANDS]
    .sort((a, b) => b.name.length - a.name.length)
    .find((c) => c.name.split(" ").every((word, i) => argv[i] === word));
  try {
    if (!command) throw new UsageError(`unknown command "${argv.filter((a) => !a.startsWith("-")).slice(0, 2).join(" ")}"`);
    const args = argv.slice(command.name.split(" ").length);
    if (args.includes("--help") || args.includes("-h")) {
      out.write(command.help + "\n");
      if (command.helpFooter) out.write(await command.helpFooter(process.cwd()));
      return 0;
    }
    return await command.run(args, { out, err, env, cwd: process.cwd() });
  } catch (error) {
    if (error instanceof UsageError) {
      err.write(`encoder-compare: ${terminalText(error.message)}\nRun "encoder-compare ${command ? command.name + " " : ""}--help" for usage.\n`);
      return 2;
    }
    err.write(`encoder-compare: ${terminalText((error as Error).message)}\n`);
    return 1;
  }
}

const withoutTs = (file: string) => fs.realpathSync(file).replace(/\.ts$/, "");
const invokedDirectly = process.argv[1] && withoutTs(process.argv[1]) === withoutTs(new URL(import.meta.url).pathname);
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
