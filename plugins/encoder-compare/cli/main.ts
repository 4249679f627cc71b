// `npx encoder-compare <command>`: the plugin's work outside a build. Each command lives in
// cli/<group>.ts; this file only dispatches. Exit codes: 0 ok, 1 runtime failure, 2 usage.
import fs from "node:fs";
import { closestName, UsageError, type Command, type Output } from "./common.ts";
import { cacheClear, cacheStats } from "./cache.ts";
import { datasetImport } from "./dataset.ts";
import { evalCommand } from "./eval.ts";
import { exportCommand } from "./export.ts";
import { indexCommand } from "./index-command.ts";
import { modelsList, modelsPull, modelsVerify } from "./models.ts";
import { queryCommand } from "./query.ts";
import { terminalOutput, terminalText } from "../base/terminal-text.ts";

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
    'Run "encoder-compare <command> --help" (or "encoder-compare help <command>") for a command\'s options,',
    '"encoder-compare models --help" (cache, dataset) for a group\'s commands. Short options: -h, -k, -e, -d, -o.',
    "Environment: ENCODER_COMPARE_MODELS_DIR (model cache), ENCODER_COMPARE_MODEL_BASE_URL (mirror),",
    "ENCODER_COMPARE_OFFLINE=1 (never download), ENCODER_COMPARE_DATASET_URL (memes.json for dataset import).",
  ].join("\n");
}

/** Words that only group commands ("models" for "models list", "models pull", …). */
function groups(): string[] {
  return [...new Set(COMMANDS.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0]))];
}

function groupHelp(group: string): string {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  const width = Math.max(...members.map((c) => c.name.length));
  return [
    `Usage: encoder-compare ${group} <${members.map((c) => c.name.slice(group.length + 1)).join("|")}> [options]`,
    "",
    "Commands:",
    ...members.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    `Run "encoder-compare ${group} <command> --help" for a command's options.`,
  ].join("\n");
}

const isHelp = (arg: string | undefined) => arg === "--help" || arg === "-h";

/** What argv asks for: a command and its arguments, help text, or a usage error (with the help topic to point at). */
type Dispatch = { command: Command; args: string[] } | { help: string; status: number; of?: Command } | { error: string; topic: string };

function dispatch(argv: readonly string[]): Dispatch {
  const [first, second] = argv;
  if (first === undefined) return { help: mainHelp(), status: 2 };
  if (isHelp(first)) return { help: mainHelp(), status: 0 };
  if (first === "help") return argv.length === 1 ? { help: mainHelp(), status: 0 } : dispatch([...argv.slice(1), "--help"]);
  if (first.startsWith("-")) return { error: `unknown option ${first} before the command; options go after it`, topic: "" };
  // The longest command name that prefixes argv wins ("models pull" over a command "models").
  const command = [...COMMANDS]
    .sort((a, b) => b.name.length - a.name.length)
    .find((c) => c.name.split(" ").every((word, i) => argv[i] === word));
  if (command) {
    const args = argv.slice(command.name.split(" ").length);
    const options = args.includes("--") ? args.slice(0, args.indexOf("--")) : args;
    if (options.some(isHelp)) return { help: command.help, status: 0, of: command };
    return { command, args };
  }
  if (groups().includes(first)) {
    if (isHelp(second)) return { help: groupHelp(first), status: 0 };
    if (second === undefined) return { help: groupHelp(first), status: 2 };
    const subcommands = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name);
    const guess = second.startsWith("-") ? undefined : closestName(`${first} ${second}`, subcommands);
    const problem = second.startsWith("-") ? `"${first}" needs a command first` : `unknown command "${first} ${second}"`;
    return { error: `${problem}${guess ? `; did you mean "${guess}"?` : `; ${first} commands: ${subcommands.join(", ")}`}`, topic: `${first} ` };
  }
  const guess = closestName(first, [...COMMANDS.filter((c) => !c.name.includes(" ")).map((c) => c.name), ...groups()]);
  return { error: `unknown command "${first}"${guess ? `; did you mean "${guess}"?` : ""}`, topic: "" };
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
  const asked = dispatch(argv);
  const usageError = (message: string, topic: string) => {
    err.write(`encoder-compare: ${terminalText(message)}\nRun "encoder-compare ${terminalText(topic)}--help" for usage.\n`);
    return 2;
  };
  if ("error" in asked) return usageError(asked.error, asked.topic);
  const command = "command" in asked ? asked.command : "of" in asked ? asked.of : undefined;
  try {
    if ("help" in asked) {
      out.write(asked.help + "\n");
      if (asked.of?.helpFooter) out.write(await asked.of.helpFooter(process.cwd()));
      return asked.status;
    }
    return await asked.command.run(asked.args, { out, err, env, cwd: process.cwd() });
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message, command ? `${command.name} ` : "");
    err.write(`encoder-compare: ${terminalText((error as Error).message)}\n`);
    return 1;
  }
}

const withoutTs = (file: string) => fs.realpathSync(file).replace(/\.ts$/, "");
const invokedDirectly = process.argv[1] && withoutTs(process.argv[1]) === withoutTs(new URL(import.meta.url).pathname);
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
