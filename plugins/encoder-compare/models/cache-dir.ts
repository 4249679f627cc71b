// Where downloaded model files live. Models are large (hundreds of MB) and shared by every
// project on the machine, so the default is the user's cache directory, never node_modules
// (npm ci would wipe them, and packages must stay read-only).

import { homedir } from "node:os";
import { isAbsolute, join, resolve, sep } from "node:path";
import { checkDataFolder } from "../base/folder-check.ts";

export const MODELS_DIR_ENV = "ENCODER_COMPARE_MODELS_DIR";

export interface ModelsDirOptions {
  /** Explicit directory; wins over everything else. Relative paths resolve against the cwd. */
  dir?: string;
  /** Environment to read (defaults to process.env); tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Home directory (defaults to os.homedir()). */
  homeDir?: string;
  /** Platform (defaults to process.platform). */
  platform?: NodeJS.Platform;
}

/**
 * The models directory: explicit `dir` > $ENCODER_COMPARE_MODELS_DIR >
 * $XDG_CACHE_HOME/encoder-compare/models > ~/.cache/encoder-compare/models
 * (%LOCALAPPDATA%\encoder-compare\models on Windows). Always absolute.
 */
export function modelsDir(options: ModelsDirOptions = {}): string {
  const env = options.env ?? process.env;
  const home = options.homeDir ?? homedir();
  const platform = options.platform ?? process.platform;

  const explicit = nonEmpty(options.dir);
  const fromEnv = nonEmpty(env[MODELS_DIR_ENV]);
  let chosen: string;
  let origin: string;
  if (explicit) {
    chosen = resolve(expandHome(explicit, home));
    origin = "the models dir option";
  } else if (fromEnv) {
    chosen = resolve(expandHome(fromEnv, home));
    origin = `$${MODELS_DIR_ENV}`;
  } else {
    chosen = join(userCacheDir(env, home, platform), "encoder-compare", "models");
    origin = "the user cache directory";
  }

  if (chosen.split(/[\\/]+/).includes("node_modules")) {
    throw new Error(
      `The models directory ${chosen} (from ${origin}) is inside node_modules, where installs ` +
        `would delete the downloaded models. Set ${MODELS_DIR_ENV} to a directory outside ` +
        `node_modules, e.g. ${join(home, ".cache", "encoder-compare", "models")}.`,
    );
  }
  const option = { "the models dir option": "modelsDir", "the user cache directory": "the user cache directory ($XDG_CACHE_HOME)" }[origin] ?? origin;
  checkDataFolder(chosen, option);
  return chosen;
}

function userCacheDir(env: NodeJS.ProcessEnv, home: string, platform: NodeJS.Platform): string {
  // The XDG spec says relative values are invalid and must be ignored.
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  if (xdg && isAbsolute(xdg)) return xdg;
  const localAppData = nonEmpty(env.LOCALAPPDATA);
  if (platform === "win32" && localAppData) return localAppData;
  return join(home, ".cache");
}

function expandHome(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/") || path.startsWith(`~${sep}`)) return join(home, path.slice(2));
  return path;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() !== "" ? value : undefined;
}
