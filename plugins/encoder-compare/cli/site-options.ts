// The options a CLI command runs with: the plugin defaults, then the options the site's Eleventy
// config passes to the plugin (when run inside a site), then an optional config module (--config
// file whose default export is plugin options), then the command's flags.
import fs from "node:fs";
import path from "node:path";
import { datasetLocation, isEmbeddingsFolder } from "../dataset/embeddings-option.ts";
import { pathToFileURL } from "node:url";
import type { CompareEngine } from "../engine/compare-engine.ts";
import { flattenOptions, normalizeOptions, PluginOptionError, type PluginOptions, type UserOptions } from "../engine/options.ts";
import { createProgress } from "../base/progress.ts";
import { createEngine, createRegistry } from "../engine/setup.ts";
import { terminalText, type TerminalOutput } from "../base/terminal-text.ts";
import { listDataset } from "../dataset/load.ts";
import { cappedList, reportsDir } from "../base/warning-list.ts";
import { UsageError, type CommandIO, type ParsedArgs } from "./common.ts";
import { readSiteOptions, SITE_CONFIG_FILES } from "./site-config.ts";

/** Flags every engine-backed command accepts. */
export const ENGINE_FLAGS = ["--dataset", "--encoders", "--config", "--cache-dir"] as const;

export interface CommandOptions extends PluginOptions {
  /** The site's Eleventy config file that supplied options, if any. */
  siteFile?: string;
  /** Why the site's config could not be read (its options are then not used). */
  siteProblem?: string;
  /** The folder of the site's own dataset (its options', else the plugin default), even when a flag names another. */
  siteDatasetDir?: string;
  /** The site's input and output folders, relative to the project root. */
  siteDirs: { input: string; output: string };
}

async function configModule(parsed: ParsedArgs, cwd: string): Promise<UserOptions> {
  const configFile = parsed.values.get("--config");
  if (!configFile) return {};
  const file = path.resolve(cwd, configFile);
  if (!fs.existsSync(file)) throw new UsageError(`--config file ${file} does not exist`);
  const loaded = (await import(pathToFileURL(file).href)) as { default?: unknown };
  if (typeof loaded.default !== "object" || loaded.default === null) {
    throw new UsageError(`--config file ${file} must export the plugin options object as its default export`);
  }
  return loaded.default as UserOptions;
}

export async function optionsFromArgs(parsed: ParsedArgs, cwd: string): Promise<CommandOptions> {
  const site = await readSiteOptions(cwd);
  const fromConfig = await configModule(parsed, cwd);
  const overrides: Partial<PluginOptions> = {};
  const dataset = parsed.values.get("--dataset");
  if (dataset) overrides.dataset = dataset;
  const cacheDir = parsed.values.get("--cache-dir");
  if (cacheDir) overrides.cacheDir = cacheDir;
  const encoders = parsed.values.get("--encoders");
  if (encoders) overrides.encoders = encoders.split(",").map((e) => e.trim()).filter(Boolean);
  try {
    const options = normalizeOptions({ ...flattenOptions(site.options), ...flattenOptions(fromConfig), ...overrides });
    const siteProblem = site.problem && `the site's ${site.file} could not be read (${site.problem})`;
    return { ...options, siteFile: site.file, siteProblem, siteDatasetDir: siteDatasetDir(site.options, cwd), siteDirs: site.dirs };
  } catch (error) {
    throw new UsageError(error instanceof PluginOptionError ? `option ${error.problem}` : (error as Error).message);
  }
}

/** Where the site's own options put its dataset; undefined when they do not say it clearly. */
function siteDatasetDir(siteOptions: UserOptions, cwd: string): string | undefined {
  try {
    const { dataset, datasets } = flattenOptions(siteOptions);
    const own = normalizeOptions({ ...(dataset === undefined ? {} : { dataset }), ...(datasets === undefined ? {} : { datasets }) });
    return datasetLocation(own.dataset, own.datasets, cwd);
  } catch {
    return undefined;
  }
}

/** For --help: where this folder's defaults come from. */
export async function describeDefaults(cwd: string): Promise<string> {
  const site = await readSiteOptions(cwd);
  const defaults = normalizeOptions(site.options);
  const from = (key: "encoders" | "dataset") => (site.options[key] !== undefined ? `the site's ${site.file}` : "plugin default");
  const lines = [
    "",
    `Defaults here (${cwd}):`,
    `  encoders  ${defaults.encoders.join(", ")}  (${from("encoders")})`,
    `  dataset   ${defaults.dataset}  (${from("dataset")})`,
  ];
  if (!site.file) lines.push(`No Eleventy config here (${SITE_CONFIG_FILES.join(", ")}), so the plugin defaults apply.`);
  if (site.problem) lines.push(`The site's ${site.file} could not be read (${site.problem}), so the plugin defaults apply.`);
  lines.push("--config <module> overrides the site's options; flags override both.");
  return lines.join("\n") + "\n";
}

/**
 * A dataset a command can search: an existing folder with at least one image. Otherwise an error
 * naming the folder and the command that makes it: `npm run dataset` for the site's own dataset
 * (however it was named) when the project has that script, the meme importer for any other folder.
 */
export function requireDataset(options: CommandOptions, cwd: string): string {
  const dir = datasetLocation(options.dataset, options.datasets, cwd);
  const shown = path.relative(cwd, dir) || dir;
  const scripts = readScripts(cwd);
  const make =
    dir === options.siteDatasetDir && scripts.dataset
      ? "make it with `npm run dataset`"
      : `put images in it, or make one with \`npx encoder-compare dataset import jina-memes --out ${shown}\``;
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`dataset folder "${shown}" does not exist; ${make}`);
  // An embeddings folder (clip-retrieval layout) is checked shard by shard when it opens.
  if (isEmbeddingsFolder(dir)) return dir;
  if (listDataset(dir).entries.length === 0) throw new Error(`dataset folder "${shown}" has no images; ${make}`);
  return dir;
}

function readScripts(cwd: string): Record<string, string> {
  try {
    return (JSON.parse(fs.readFileSync(path.join(cwd, "package.json"), "utf8")) as { scripts?: Record<string, string> }).scripts ?? {};
  } catch {
    return {};
  }
}

/** The engine a command runs: unknown encoder ids are usage errors; logs and progress go to stderr. */
export function engineForCommand(options: PluginOptions & Partial<Pick<CommandOptions, "siteProblem">>, io: CommandIO): CompareEngine {
  if (options.siteProblem) io.err.write(`warning: ${terminalText(options.siteProblem)}; using the plugin defaults\n`);
  const registry = createRegistry(options);
  for (const id of options.encoders) {
    if (!registry.has(id)) throw new UsageError(`unknown encoder "${id}"; known encoders: ${registry.ids().join(", ")}`);
  }
  return createEngine(
    options,
    {
      projectRoot: io.cwd,
      env: io.env,
      warn: (message) => io.err.write(`warning: ${terminalText(message)}\n`),
      info: (message) => io.err.write(`${terminalText(message)}\n`),
      progress: createProgress({ output: (io.err as Partial<TerminalOutput>).unescaped ?? io.err }),
    },
    registry,
  );
}

/** Dataset images a command could not use, as one capped warning line on stderr, worded as the build words it. */
export function reportSkipped(engine: CompareEngine, io: CommandIO): void {
  const skipped = [...engine.build.skippedImages];
  if (skipped.length === 0) return;
  const items = skipped.map(([file, reason]) => `${path.relative(io.cwd, file) || file} (${reason})`);
  const list = cappedList(items, { dir: reportsDir(engine.options.cacheDir), name: "skipped-images.txt" });
  io.err.write(`warning: ${skipped.length} dataset image(s) skipped: ${terminalText(list)}\n`);
}
