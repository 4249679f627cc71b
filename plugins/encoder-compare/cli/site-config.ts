// The plugin options of the Eleventy site the CLI runs in, so that `encoder-compare query` uses
// the encoders and dataset the site's pages use. The site's Eleventy config is loaded and called
// with a stand-in eleventyConfig that ignores everything except addPlugin(encoder-compare, options).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { UserOptions } from "../engine/options.ts";
import { compileTypeScriptConfig, TYPESCRIPT_CONFIG } from "../eleventy/typescript-config.ts";

/** Eleventy's own config file names, in its order of preference, plus the TypeScript ones tsx runs. */
export const SITE_CONFIG_FILES = [".eleventy.js", "eleventy.config.js", "eleventy.config.mjs", "eleventy.config.cjs", ".eleventy.ts", "eleventy.config.ts"];

export interface SiteOptions {
  /** The config file read, relative to the site root; undefined when there is none. */
  file?: string;
  /** The options the config passes to the plugin (empty when it does not add it). */
  options: UserOptions;
  /** Why the config could not be read, when it could not. */
  problem?: string;
  /** The site's input and output folders, relative to the root (Eleventy's defaults when the config names none). */
  dirs: { input: string; output: string };
}

const ELEVENTY_DIRS = { input: ".", output: "_site" };

/** The `dir` a config function returned, over Eleventy's defaults. */
function siteDirs(returned: unknown): { input: string; output: string } {
  const dir = (returned as { dir?: { input?: unknown; output?: unknown } } | undefined)?.dir;
  return {
    input: typeof dir?.input === "string" ? dir.input : ELEVENTY_DIRS.input,
    output: typeof dir?.output === "string" ? dir.output : ELEVENTY_DIRS.output,
  };
}

/** The plugin's default export is named so; a site may import it through any path. */
function isEncoderComparePlugin(plugin: unknown): boolean {
  return typeof plugin === "function" && plugin.name === "encoderComparePlugin";
}

/** An eleventyConfig on which every property is a callable no-op, except addPlugin. */
function recordingConfig(onPlugin: (options: UserOptions) => void): unknown {
  const target = function () {};
  const proxy: unknown = new Proxy(target, {
    get(_, property) {
      if (property === "addPlugin") {
        return (plugin: unknown, options?: UserOptions) => {
          if (isEncoderComparePlugin(plugin)) onPlugin(options ?? {});
        };
      }
      // Not a thenable: `await eleventyConfig.x()` must not wait on it.
      if (property === "then") return undefined;
      return proxy;
    },
    apply: () => proxy,
  });
  return proxy;
}

const cache = new Map<string, Promise<SiteOptions>>();

export function readSiteOptions(root: string): Promise<SiteOptions> {
  let pending = cache.get(root);
  if (!pending) cache.set(root, (pending = load(root)));
  return pending;
}

/** The config module; a TypeScript one is compiled first unless a loader (tsx) already handles it. */
async function importConfig(root: string, file: string): Promise<unknown> {
  const url = pathToFileURL(path.join(root, file)).href;
  if (!TYPESCRIPT_CONFIG.test(file)) return import(url);
  try {
    return await import(url);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_UNKNOWN_FILE_EXTENSION") throw error;
    const compiled = await compileTypeScriptConfig(path.join(root, file));
    return import(pathToFileURL(compiled.file).href);
  }
}

async function load(root: string): Promise<SiteOptions> {
  const file = SITE_CONFIG_FILES.find((name) => fs.statSync(path.join(root, name), { throwIfNoEntry: false })?.isFile());
  if (!file) return { options: {}, dirs: ELEVENTY_DIRS };
  try {
    const loaded = (await importConfig(root, file)) as { default?: unknown };
    const setup = loaded.default;
    if (typeof setup !== "function") return { file, options: {}, dirs: siteDirs(loaded.default) };
    let options: UserOptions = {};
    const returned: unknown = await setup(recordingConfig((given) => (options = given)));
    return { file, options, dirs: siteDirs(returned) };
  } catch (error) {
    return { file, options: {}, problem: (error as Error).message.split("\n")[0], dirs: ELEVENTY_DIRS };
  }
}
