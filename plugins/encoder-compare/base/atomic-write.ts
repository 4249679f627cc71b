// Writing a file so that readers see the old content or the new, never a part: the bytes go to a temp file in
// the same folder (a rename is atomic only within one file system), which is renamed over the target. On any
// failure the temp file is removed and the error rethrown, so no partial file is left under either name.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { processAlive } from "./process-alive.ts";

export interface AtomicWriteOptions {
  /** Where the bytes are staged (default `<file>.<pid>.tmp`); callers that sweep leftovers by name choose it. */
  temp?: string;
  /** A file describing the first (its hash, its name), written the same way only once the first is in place. */
  sidecar?: { file: string; data: string | Uint8Array };
}

/** `<file>.<pid>.<random>.tmp`: a temp name for a file that several tasks of one process may rewrite at once. */
export function uniqueTemp(file: string): string {
  return `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
}

/** Runs `write` on the temp file, then renames it over `file`; on failure removes the temp file and rethrows. */
function replaceSync(file: string, temp: string | undefined, write: (temp: string) => void): void {
  const staged = temp ?? `${file}.${process.pid}.tmp`;
  try {
    write(staged);
    fs.renameSync(staged, file);
  } catch (error) {
    fs.rmSync(staged, { force: true });
    throw error;
  }
}

export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  replaceSync(file, options.temp, (temp) => fs.writeFileSync(temp, data));
  if (options.sidecar) writeFileAtomicSync(options.sidecar.file, options.sidecar.data);
}

/** `fs.copyFileSync` through the same temp-file-then-rename, for files too large to hold in memory. */
export function copyFileAtomicSync(source: string, file: string, options: Pick<AtomicWriteOptions, "temp"> = {}): void {
  replaceSync(file, options.temp, (temp) => fs.copyFileSync(source, temp));
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomicWith(file, (temp) => fs.promises.writeFile(temp, data), options);
  if (options.sidecar) await writeFileAtomic(options.sidecar.file, options.sidecar.data);
}

/** writeFileAtomic for content too large to hold at once: `write` fills the temp file (by its path) in parts before the rename. */
export async function writeFileAtomicWith(file: string, write: (temp: string) => Promise<void>, options: Pick<AtomicWriteOptions, "temp"> = {}): Promise<void> {
  const temp = options.temp ?? `${file}.${process.pid}.tmp`;
  try {
    await write(temp);
    await fs.promises.rename(temp, file);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}

/**
 * Removes the files and folders in `dir` whose name `pattern` ties (its first group) to a process that is gone: what a
 * killed run left behind. A folder that cannot be read or changed (read-only) keeps its leftovers.
 */
export function removeDeadLeftovers(dir: string, pattern: RegExp): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    try {
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    } catch {
      // Read-only: nothing is written there either.
    }
  }
}
