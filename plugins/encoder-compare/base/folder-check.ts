// Folders the build writes to (cacheDir, modelsDir) are checked before first use: a path on a
// kernel file system (/proc, /sys, /dev, but not /dev/shm) or below a file is refused with the option's name.
// Recursive mkdir under /proc loops forever on Node 20; this check runs no mkdir at all.
import fs from "node:fs";
import path from "node:path";

/** statfs magic numbers of pseudo file systems that hold no user files. */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, "proc"],
  [0x62656572, "sysfs"],
  [0x64626720, "debugfs"],
  [0x27e0eb, "cgroup"],
  [0x63677270, "cgroup2"],
  [0x73636673, "securityfs"],
  [0x74726163, "tracefs"],
  [0x1cd1, "devpts"],
  [0x6165676c, "pstore"],
  [0xcafe4a11, "bpf"],
]);
const KERNEL_TREES = ["/proc", "/sys", "/dev"];
/** Folders for files inside those trees: /dev/shm is the system's shared-memory tmpfs, a fast home for a CI cache. */
const FILE_FOLDERS_IN_KERNEL_TREES = ["/dev/shm"];

export class FolderOptionError extends Error {}

/**
 * The deepest part of `dir` that exists, as a real path. A part that is there but cannot be
 * resolved (a link to nothing, a loop of links) is reported: mkdir would fail on it with a bare
 * ENOENT or ELOOP that names no option.
 */
function nearestExisting(dir: string, option: string, hint: string): string {
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      return fs.realpathSync.native(at);
    } catch (error) {
      if (lstatOrUndefined(at)?.isSymbolicLink()) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === "ELOOP" ? "a loop of links" : "it points to nothing";
        throw new FolderOptionError(`${option} "${dir}" cannot be used: ${at} is a symbolic link that cannot be followed (${why}); ${hint}`, { cause: error });
      }
      if (path.dirname(at) === at) return at;
    }
  }
}

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Throws FolderOptionError unless `dir` (absolute) can be a folder of ordinary files: its
 * existing part is a folder, not on /proc, /sys, /dev or another kernel file system.
 * `option` names where the value came from, e.g. "cacheDir (--cache-dir)".
 */
export function checkDataFolder(dir: string, option: string): void {
  const hint = `set ${option} to a folder on disk`;
  const existing = nearestExisting(path.resolve(dir), option, hint);
  const under = (root: string) => existing === root || existing.startsWith(`${root}/`);
  const tree = FILE_FOLDERS_IN_KERNEL_TREES.some(under) ? undefined : KERNEL_TREES.find(under);
  if (tree) throw new FolderOptionError(`${option} "${dir}" is under ${tree}, a kernel file system, not a folder for files; ${hint}`);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(existing);
  } catch (error) {
    throw new FolderOptionError(`${option} "${dir}": cannot read ${existing} (${(error as NodeJS.ErrnoException).code}); ${hint}`, { cause: error });
  }
  if (!stat.isDirectory()) throw new FolderOptionError(`${option} "${dir}" cannot be created: ${existing} is a file, not a folder; ${hint}`);
  const type = fs.statfsSync?.(existing).type;
  const pseudo = type === undefined ? undefined : PSEUDO_FILE_SYSTEMS.get(type);
  if (pseudo) throw new FolderOptionError(`${option} "${dir}" is on ${pseudo}, a kernel file system, not a folder for files; ${hint}`);
}
