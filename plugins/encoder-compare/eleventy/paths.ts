// Where a shortcode's query path points, checked before anything is read: next to the post
// first, then the content folder; never outside the project (no absolute paths, no "..",
// no symlink that leads out).
import fs from "node:fs";
import path from "node:path";
import { describeFileKind, isInside } from "../base/safe-read.ts";

export class PathRefusedError extends Error {}

/** Resolves `query` for the post at `postFile`; throws PathRefusedError with the reason. */
export function resolveQueryPath(query: string, postFile: string, contentDir: string, projectRoot: string): string {
  const root = fs.realpathSync(projectRoot);
  if (path.isAbsolute(query) || /^[a-zA-Z]:[\\/]/.test(query)) {
    throw new PathRefusedError(`absolute paths are refused; write the path relative to the post or to ${path.relative(projectRoot, contentDir) || "."}/`);
  }
  if (query.includes("\0")) throw new PathRefusedError("the path contains a NUL byte");
  const candidates = [...new Set([path.resolve(path.dirname(postFile), query), path.resolve(contentDir, query)])];
  for (const candidate of candidates) {
    if (!isInside(projectRoot, candidate)) {
      throw new PathRefusedError(`the path leads outside the project (${candidate}); query images must live inside the project`);
    }
  }
  for (const candidate of candidates) {
    let real: string;
    try {
      real = fs.realpathSync(candidate);
    } catch {
      continue;
    }
    if (!isInside(root, real)) throw new PathRefusedError(`the path is a link to ${real}, outside the project`);
    const stat = fs.statSync(real);
    if (stat.isDirectory()) throw new PathRefusedError(`${path.relative(projectRoot, candidate)} is a folder, not an image`);
    if (!stat.isFile()) throw new PathRefusedError(`${path.relative(projectRoot, candidate)} is not a regular file (${describeFileKind(stat)})`);
    return real;
  }
  throw new PathRefusedError(`file not found; looked at ${candidates.map((c) => path.relative(projectRoot, c)).join(" and ")}`);
}

/** A folder option (dataset, cache) resolved inside the project, also after following links. */
export function resolveProjectDir(dir: string, projectRoot: string, what: string): string {
  const resolved = path.resolve(projectRoot, dir);
  if (!isInside(projectRoot, resolved)) throw new PathRefusedError(`${what} "${dir}" is outside the project`);
  let real: string;
  try {
    real = fs.realpathSync(resolved);
  } catch {
    // Not there (yet): the reader says so with its own advice.
    return resolved;
  }
  if (!isInside(fs.realpathSync(projectRoot), real)) throw new PathRefusedError(`${what} "${dir}" is a link to ${real}, outside the project`);
  return resolved;
}
