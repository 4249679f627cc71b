// Where `export` may write: never into a folder the site reads (a configured dataset, the images
// an embeddings folder points at, the site's input) or publishes (its output), and into a folder
// that already holds files only when --force says so, after naming what it replaces.
import fs from "node:fs";
import path from "node:path";
import { isInside } from "../base/safe-read.ts";
import { existingShards } from "../dataset/clip-retrieval-writer.ts";
import { SIDECAR, type DatasetOption } from "../dataset/embeddings-option.ts";

/** A refused output folder: one line, exit 1. */
export class ExportTargetError extends Error {}

/** The real path of `dir`, or of its deepest existing parent joined with the rest. */
function realPath(dir: string): string {
  const rest: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      return path.join(fs.realpathSync.native(at), ...rest.reverse());
    } catch {
      if (path.dirname(at) === at) return path.resolve(dir);
      rest.push(path.basename(at));
    }
  }
}

/** Folders the site reads or publishes, each with what it is. */
export interface ExportSite {
  /** The datasets the command runs with and those the site's config names (a --dataset flag replaces the first). */
  configured: Array<{ dataset?: DatasetOption; datasets?: Readonly<Record<string, DatasetOption>> }>;
  siteDirs: { input: string; output: string };
}

function protectedFolders(site: ExportSite, source: string, cwd: string): Array<{ dir: string; what: string; inside: boolean }> {
  const found: Array<{ dir: string; what: string; inside: boolean }> = [{ dir: source, what: "the dataset being exported", inside: true }];
  const entries: Array<[string, DatasetOption]> = [];
  for (const options of site.configured) {
    if (options.dataset !== undefined) entries.push(["dataset", options.dataset]);
    for (const [name, value] of Object.entries(options.datasets ?? {})) entries.push([`datasets.${name}`, value]);
  }
  for (const [name, value] of entries) {
    if (typeof value === "string") {
      found.push({ dir: path.resolve(cwd, value), what: `the configured dataset (${name})`, inside: true });
      continue;
    }
    found.push({ dir: path.resolve(cwd, value.embeddings), what: `the configured embeddings folder (${name})`, inside: true });
    if (value.images && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value.images)) {
      found.push({ dir: path.resolve(cwd, value.images), what: `the images folder of ${name}`, inside: true });
    }
  }
  const input = path.resolve(cwd, site.siteDirs.input);
  // A site whose input is the project root reads templates from everywhere; only the root itself is refused then.
  found.push({ dir: input, what: "the site's input folder", inside: input !== path.resolve(cwd) });
  found.push({ dir: path.resolve(cwd, site.siteDirs.output), what: "the site's output folder", inside: true });
  return found.map((f) => ({ ...f, dir: realPath(f.dir) }));
}

/** The files an export into `outDir` replaces or removes (earlier shards, the sidecar). */
export function filesExportReplaces(outDir: string): string[] {
  return [...existingShards(outDir), ...(fs.existsSync(path.join(outDir, SIDECAR)) ? [SIDECAR] : [])];
}

const listed = (names: string[]) => (names.length > 6 ? `${names.slice(0, 6).join(", ")} and ${names.length - 6} more` : names.join(", "));

/**
 * Throws ExportTargetError when `outDir` is a folder the site reads or publishes, or holds files and
 * `force` is not set; returns the files the export will replace or remove (to be named).
 */
export function checkExportTarget(outDir: string, force: boolean, site: ExportSite, source: string, cwd: string): string[] {
  const target = realPath(outDir);
  for (const folder of protectedFolders(site, source, cwd)) {
    if (target === folder.dir || (folder.inside && isInside(folder.dir, target))) {
      const where = target === folder.dir ? "is" : "is inside";
      throw new ExportTargetError(`export: ${outDir} ${where} ${folder.what} (${folder.dir}); the site reads or publishes it — choose another folder`);
    }
  }
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(outDir).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") throw new ExportTargetError(`export: ${outDir} cannot be used as the output folder (${code ?? (error as Error).message})`);
  }
  const replaced = filesExportReplaces(outDir);
  if (entries.length > 0 && !force) {
    const what = replaced.length ? `; exporting would replace or remove ${listed(replaced)}` : "";
    throw new ExportTargetError(`export: ${outDir} is not empty (${listed(entries)})${what} — add --force to write there anyway, or choose an empty folder`);
  }
  return replaced;
}
