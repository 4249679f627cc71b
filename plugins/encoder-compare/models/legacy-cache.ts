// Caches written before the `<source>/<revision>/<file>` layout kept files at `<dir>/<id>/<fileName>`:
// the first use moves such a file (and its .verified sidecar) to its new place instead of downloading it again.
import { mkdir, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { sizeOf } from "../base/file-helpers.ts";

/** Moves `legacy` to `current` when only the legacy file exists; a file already at `current` wins. */
export async function migrateLegacyFile(legacy: string, current: string, log?: (line: string) => void): Promise<boolean> {
  if (legacy === current || (await sizeOf(legacy)) === 0 || (await sizeOf(current)) > 0) return false;
  try {
    await mkdir(dirname(current), { recursive: true });
    await rename(legacy, current);
  } catch (cause) {
    throw new Error(`Could not move the cached model ${legacy} to ${current}; move it there by hand or delete it.`, { cause });
  }
  await rename(`${legacy}.verified`, `${current}.verified`).catch(() => undefined);
  log?.(`moved the cached ${legacy} to ${current} (the models cache is now keyed by source and revision)`);
  return true;
}
