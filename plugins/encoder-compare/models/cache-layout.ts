// Where model files live in the models cache: one pure mapping from a download URL to
// `<source>/<revision>/<file>`, and from a converter run to `derived/<converter>-v<version>/<hash>.onnx`,
// so two encoders that share a URL share the file and a new revision never overwrites an old one.
import { join } from "node:path";

const SAFE_SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._@+-]+$/;

export interface CacheKey {
  /** Host (":port" written "_port", IPv6 ":" as "_") and repository path, e.g. `huggingface.co/Xenova/clip-vit-base-patch32`. */
  source: string;
  /** The URL's `resolve/<rev>/` segment, or `_` when it has none. */
  revision: string;
  /** The rest of the path, e.g. `onnx/model.onnx`. */
  file: string;
}

/** Splits a download URL into its cache key; throws when a part cannot be a path segment. */
export function cacheKeyFor(url: string): CacheKey {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new Error(`Model URL "${url}" is not a valid URL; fix the encoder spec's url.`, { cause });
  }
  // IPv6 brackets and the ":" before a port are not portable in file names.
  const host = [parsed.hostname.replace(/^\[|\]$/g, ""), parsed.port].filter((p) => p !== "").join("_").replaceAll(":", "_");
  const parts = parsed.pathname.split("/").filter((p) => p !== "").map((p) => decodeURIComponentSafe(p, url));
  const at = parts.indexOf("resolve");
  const [repo, revision, rest] = at > 0 && parts.length > at + 2
    ? [parts.slice(0, at), parts[at + 1]!, parts.slice(at + 2)]
    : [parts.slice(0, -1), "_", parts.slice(-1)];
  for (const segment of [host, ...repo, revision, ...rest]) {
    if (!SAFE_SEGMENT.test(segment)) {
      throw new Error(
        `Model URL "${url}" has the part "${segment}", which cannot be used in a cache path: ` +
          `use letters, digits and . _ - @ + only, and no "." or ".." parts.`,
      );
    }
  }
  if (rest.length === 0) throw new Error(`Model URL "${url}" names no file; fix the encoder spec's url.`);
  return { source: [host, ...repo].join("/"), revision, file: rest.join("/") };
}

/** The cached file for `url` under `modelsDir`. */
export function cachedFilePath(modelsDir: string, url: string): string {
  const key = cacheKeyFor(url);
  return join(modelsDir, ...key.source.split("/"), key.revision, ...key.file.split("/"));
}

/** The ONNX graph a converter derives from weights with this sha256. */
export function derivedGraphPath(modelsDir: string, converter: string, version: number | string, weightsSha256: string): string {
  return join(modelsDir, "derived", `${converter}-v${version}`, `${weightsSha256.slice(0, 16)}.onnx`);
}

/** Where releases before the `<source>/<revision>/<file>` layout kept a file: moved on first use. */
export function legacyFilePath(modelsDir: string, modelId: string, fileName: string): string {
  return join(modelsDir, modelId, fileName);
}

function decodeURIComponentSafe(part: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch (cause) {
    throw new Error(`Model URL "${url}" has a badly escaped part "${part}"; fix the encoder spec's url.`, { cause });
  }
}
