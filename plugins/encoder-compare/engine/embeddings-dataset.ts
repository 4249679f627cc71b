// An embeddings folder opened as a dataset: its rows, an optional faiss index, where each row's
// image is (local file, URL template or url column), the check that the vectors are what they
// claim, and the hit images the tables show (local files, or remote ones fetched once through
// the bounded HTTP client into the cache).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { EmbeddingsSearch } from "../search/embeddings-search.ts";
import type { SearchHit } from "../search/exact.ts";
import { openFaissIndexFile } from "../search/faiss-file.ts";
import { EmbeddingsFolder, type RowMetadata } from "../dataset/clip-retrieval.ts";
import { SIDECAR, type EmbeddingsDatasetConfig } from "../dataset/embeddings-option.ts";
import { indexFamily, readIndexInfos } from "../dataset/index-infos.ts";
import { httpGetWithRetries } from "../base/http-get.ts";
import { displayUrl } from "../base/url-policy.ts";
import type { DatasetImage } from "../dataset/load.ts";
import { sampleRows } from "../dataset/python-random.ts";
import { detectionProbability, judgeSample, type SamplePair } from "../dataset/verify-embeddings.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { decodeWithinLimit, PixelLimitError } from "../base/pixel-limit.ts";
import { FileRefusedError, realRoots, statChecked } from "../base/safe-read.ts";
import { writeFileAtomic } from "../base/atomic-write.ts";
import { recallOf, type RecallReport } from "./embeddings-recall.ts";

export interface Verification {
  verified: boolean;
  /** One line for the log and the table's note. */
  note: string;
}

export interface EmbeddingsContext {
  cacheDir: string;
  info: (message: string) => void;
  warn: (message: string) => void;
  /** sha256 of a local file (memoised by the caller). */
  sha256: (file: string) => string;
  /** Image paths that do not resolve fail the build instead of a warning. */
  strict?: boolean;
  /** Images with more pixels are not shown (default DEFAULTS.embedding.limitInputPixels; the engine passes the option). */
  limitInputPixels?: number;
  /** Local images above this many bytes are not shown (default DEFAULTS.images.maxImageBytes; the engine passes its own). */
  maxImageBytes?: number;
}

function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/** What an images template fixes before its first placeholder; parsed once per dataset, used for every row's URL. */
interface TemplateBase {
  /**
   * Where a filled template must stay: same origin, and a path under the one written before the first placeholder,
   * so an image_path of "../" (or "..\\", which URLs read as "/") cannot climb out of it. Undefined when there is
   * no placeholder, or it is in the scheme or host (or first): nothing fixed to stay under but the URL policy.
   */
  under?: URL;
  /** The host the template names (the user configured it), if it names one. */
  configuredHosts: string[];
}

function templateBase(template: string): TemplateBase {
  const placeholder = template.search(/\{(image_path|url|row)\}/);
  const fixed = placeholder < 0 ? template : template.slice(0, placeholder);
  let url: URL;
  try {
    url = new URL(fixed);
  } catch {
    return { configuredHosts: [] };
  }
  // A placeholder right after the host could still add to it (a port, more name): then nothing is configured.
  const namesHost = placeholder < 0 || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*[/?#]/i.test(fixed);
  return { under: placeholder < 0 ? undefined : url, configuredHosts: namesHost ? [url.host] : [] };
}

export class EmbeddingsDataset {
  readonly config: EmbeddingsDatasetConfig;
  readonly search: EmbeddingsSearch;
  readonly #context: EmbeddingsContext;
  /** "IVF-PQ", "OPQ+IVF(HNSW)-PQ", … (from autofaiss's index key where it is known). */
  readonly indexLabel?: string;
  #imageRoots?: string[];
  /** What is dropped from image_path before it is resolved (configured, or found on the first rows looked at). */
  #prefix?: string;
  #pathsChecked = false;
  #lookupReported = false;
  #recall?: RecallReport;
  readonly #remote = new Map<string, Promise<string>>();
  #verification?: Promise<Verification>;
  #placeholder?: Promise<string>;
  readonly #template?: TemplateBase;

  private constructor(config: EmbeddingsDatasetConfig, search: EmbeddingsSearch, context: EmbeddingsContext, indexLabel?: string) {
    this.config = config;
    if (config.images && "template" in config.images) this.#template = templateBase(config.images.template);
    this.search = search;
    this.#context = context;
    this.indexLabel = indexLabel;
    this.#prefix = config.imagePathPrefix;
  }

  static async open(config: EmbeddingsDatasetConfig, context: EmbeddingsContext): Promise<EmbeddingsDataset> {
    const folder = await EmbeddingsFolder.open(config.dir, { lookupDir: path.join(context.cacheDir, "metadata-lookup") });
    try {
      if (config.expectedRows !== undefined && config.expectedRows !== folder.rows) {
        throw new Error(
          `embeddings folder ${config.dir} holds ${folder.rows} rows in ${folder.shards.length} shard(s), but its ${SIDECAR} records ` +
            `${config.expectedRows} (written by export): a shard is missing or was replaced; export again or restore it`,
        );
      }
      const infos = config.index ? readIndexInfos(config.index) : undefined;
      if (infos?.metric === "l2") {
        throw new Error(`${infos.file} says the index uses metric l2; cosine search needs an inner-product index (autofaiss --metric_type ip)`);
      }
      if (infos?.rows !== undefined && infos.rows !== folder.rows) {
        throw new Error(
          `${infos.file} says the index holds ${infos.rows} vectors but ${config.dir} has ${folder.rows} rows; ` +
            `the index was built from other embeddings (or a shard is missing); build it again from this folder`,
        );
      }
      const started = performance.now();
      // A file native code will parse is first parsed by a child process; its verdict is remembered by content hash.
      const verified = { verdictDir: path.join(context.cacheDir, "faiss-checks") };
      // autofaiss saves its tuned parameters in the file; where its infos say otherwise (and no option overrides), the infos win.
      const index = config.index
        ? openFaissIndexFile(config.index, { nprobe: config.nprobe, efSearch: config.efSearch }, { ...verified, tuned: infos?.params })
        : undefined;
      const differs = index?.tunedApplied ?? [];
      const search = new EmbeddingsSearch(folder, index, config.candidates);
      const label = index ? indexFamily(infos?.indexKey, index.fourcc) : undefined;
      const how = index
        ? `faiss index ${path.basename(index.file)} (${infos?.indexKey ?? index.fourcc}` +
          `${Object.entries(index.params).map(([k, v]) => `, ${k} ${v}`).join("")}` +
          `${infos ? `; ${path.basename(infos.file)} read${differs.length ? `, its ${differs.join(" and ")} applied` : ""}` : ""}) ` +
          `opened in ${((performance.now() - started) / 1000).toFixed(2)} s, ${config.candidates} candidates rescored exactly`
        : "no faiss index: every row is scored exactly";
      context.info(`embeddings ${config.name}: ${folder.rows} rows × ${folder.dim} in ${folder.shards.length} shard(s) from ${config.encoder}; ${how}`);
      return new EmbeddingsDataset(config, search, context, label);
    } catch (error) {
      folder.close();
      throw error;
    }
  }

  /** The index's recall@k against exact search, estimated on sampled rows once per index (undefined without an index). */
  recall(): RecallReport | undefined {
    if (this.search.index && !this.#recall) this.#recall = recallOf(this.search, this.config, this.indexLabel!, this.#context);
    return this.#recall;
  }

  get rows(): number {
    return this.search.folder.rows;
  }

  /** The row's image on this machine, when the images option is a folder and the file is there. */
  localImage(meta: RowMetadata): string | undefined {
    return meta.image_path ? this.#resolveUnder(this.#withoutPrefix(meta.image_path)) : undefined;
  }

  /** Where the images option puts an image_path (after any prefix is dropped), whether or not a file is there. */
  lookedFor(imagePath: string): string | undefined {
    const images = this.config.images;
    if (!images || !("folder" in images)) return undefined;
    return path.resolve(images.folder, this.#withoutPrefix(imagePath));
  }

  #withoutPrefix(imagePath: string): string {
    const prefix = this.#prefix;
    return prefix && imagePath.startsWith(prefix) ? imagePath.slice(prefix.length) : imagePath;
  }

  #resolveUnder(relative: string): string | undefined {
    const images = this.config.images;
    if (!images || !("folder" in images)) return undefined;
    const file = path.resolve(images.folder, relative);
    if (!isInside(images.folder, file)) return undefined;
    // The real file, as the checked reader sees it: inside the images folder after links, a regular file, within the cap.
    this.#imageRoots ??= realRoots(images.folder);
    try {
      return statChecked(file, { roots: this.#imageRoots, maxBytes: this.#context.maxImageBytes ?? DEFAULTS.images.maxImageBytes }).real;
    } catch (error) {
      if (error instanceof FileRefusedError) return undefined;
      throw error;
    }
  }

  /** The row's image URL: the template filled in, else the url column. */
  imageUrl(meta: RowMetadata): URL | undefined {
    const images = this.config.images;
    let text = meta.url;
    if (images && "template" in images) {
      const values: Record<string, string | undefined> = { image_path: meta.image_path, url: meta.url, row: String(meta.row) };
      let missing = false;
      text = images.template.replace(/\{(image_path|url|row)\}/g, (_, key: string) => {
        const value = values[key];
        if (value === undefined) missing = true;
        return key === "url" ? (value ?? "") : encodeURI(value ?? "");
      });
      if (missing) return undefined;
    }
    if (!text) return undefined;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return undefined;
    }
    const under = this.#template?.under;
    return under && !(url.origin === under.origin && url.pathname.startsWith(under.pathname)) ? undefined : url;
  }

  /**
   * Once, on the first rows looked at: do their image_paths resolve under the images folder? clip-retrieval writes
   * its --input_dataset in front of each file name ("images/cat.jpg", or an absolute path); when no path resolves as
   * written, the leading folders of the first one are dropped one at a time until it does, and that prefix is
   * dropped from every row. What still does not resolve is warned about once (strict mode: an error).
   * Returns each row's local image (localImage, in the order of `metas`) where it resolved them, so the caller need
   * not resolve them again; undefined once the check is done (the caller resolves only the rows it needs).
   */
  #checkPaths(metas: readonly RowMetadata[]): Array<string | undefined> | undefined {
    const images = this.config.images;
    if (!images || !("folder" in images)) return metas.map(() => undefined);
    if (this.#pathsChecked) return undefined;
    const withPath = metas.filter((meta) => meta.image_path);
    if (withPath.length === 0) return metas.map(() => undefined);
    this.#pathsChecked = true;
    const { name } = this.config;
    if (this.#prefix === undefined && !withPath.some((meta) => this.localImage(meta))) {
      // A few rows are tried: the first one's image may be the one that is missing.
      for (const meta of withPath.slice(0, 8)) {
        const written = meta.image_path!;
        const parts = written.split(/[/\\]/);
        for (let drop = 1; drop < parts.length && this.#prefix === undefined; drop++) {
          const rest = parts.slice(drop).join("/");
          if (rest && this.#resolveUnder(rest)) this.#prefix = written.slice(0, written.length - rest.length);
        }
        if (this.#prefix !== undefined) break;
      }
      if (this.#prefix !== undefined) {
        this.#context.info(
          `embeddings ${name}: image_path starts with ${JSON.stringify(this.#prefix)} (clip-retrieval's --input_dataset); ` +
            `it is dropped and the rest resolved under ${images.folder} — set imagePathPrefix to say so`,
        );
      }
    }
    const files = metas.map((meta) => this.localImage(meta));
    const missing = metas.filter((meta, i) => meta.image_path && !files[i]);
    if (missing.length === 0) return files;
    const first = missing[0];
    const message =
      `embeddings ${name}: ${missing.length} of ${withPath.length} image paths looked at do not resolve; the first, ` +
      `${JSON.stringify(first.image_path)} (row ${first.row}), was looked for at ${this.lookedFor(first.image_path!)}. ` +
      `Point \`images\` at the folder clip-retrieval read (its --input_dataset), or set imagePathPrefix to what to drop; ` +
      `until then those rows show a blank tile, cannot be verified, and a query that is itself a row is not recognised (it comes back at #1, cosine 1.000)`;
    if (this.#context.strict) throw new Error(message);
    this.#context.warn(message);
    return files;
  }

  /**
   * Re-embeds a seeded sample of locally reachable images and compares (once per dataset).
   * Rows are drawn at random until the sample is full or 8× its size has been tried; "all" takes every row.
   */
  verify(embed: (files: string[]) => Promise<Map<string, Float32Array>>): Promise<Verification> {
    this.#verification ??= this.#verify(embed);
    return this.#verification;
  }

  async #verify(embed: (files: string[]) => Promise<Map<string, Float32Array>>): Promise<Verification> {
    const { verifySample, verifySeed, encoder, name } = this.config;
    if (verifySample === 0) return { verified: false, note: `vectors unverified (verifySample is 0): taken on trust as ${encoder}` };
    const all = verifySample === "all";
    const wanted = all ? this.rows : verifySample;
    const drawn = all ? Array.from({ length: this.rows }, (_, row) => row) : sampleRows(this.rows, wanted * 8, verifySeed);
    const metas = await this.search.folder.metadata(drawn);
    const files = this.#checkPaths(metas);
    const picked: Array<{ row: number; file: string; image: string }> = [];
    for (const [i, meta] of metas.entries()) {
      const file = files ? files[i] : this.localImage(meta);
      if (file) picked.push({ row: meta.row, file, image: meta.image_path! });
      if (picked.length === wanted) break;
    }
    const seed = all ? "every row" : `seed ${verifySeed}`;
    if (picked.length === 0) {
      const rows = `${drawn.length} ${all ? "" : "sampled "}rows (${seed})`;
      return { verified: false, note: `vectors unverified: none of ${rows} has an image reachable locally; taken on trust as ${encoder}` };
    }
    const ours = await embed(picked.map((p) => p.file));
    const pairs: SamplePair[] = picked
      .filter((p) => ours.has(p.file))
      .map((p) => ({ row: p.row, image: p.image, theirs: this.search.vector(p.row), ours: ours.get(p.file)! }));
    const verdict = judgeSample(pairs, encoder);
    if (!verdict.ok) {
      throw new Error(
        `embeddings ${name} (${this.config.dir}) claim encoder ${encoder}, ` +
          `but re-embedding ${pairs.length} ${all ? "" : "sampled "}images (${seed}) disagrees: ${verdict.reason}`,
      );
    }
    const what = all ? `all ${pairs.length} images found locally` : `${pairs.length} sampled images (seed ${verifySeed})`;
    const note = `vectors verified: ${what} re-embedded with ${encoder}, cosine ≥ ${verdict.minCosine.toFixed(3)}; ${strength(pairs.length, this.rows)}`;
    const local = "folder" in this.config.images!;
    const offer = !all && pairs.length < this.rows && local ? ` (images are local: verifySample: "all" checks every row)` : "";
    this.#context.info(`embeddings ${name}: ${note}${offer}`);
    return { verified: true, note };
  }

  /** The images of hits, ready for the tables (local file, cached download, or a placeholder). */
  async hitImages(hits: readonly SearchHit[]): Promise<DatasetImage[]> {
    const metas = await this.search.folder.metadata(hits.map((h) => h.id));
    const cut = this.search.folder.textCaps.warning(`embeddings ${this.config.name} (${this.config.dir})`);
    if (cut) this.#context.warn(cut);
    const slow = this.search.folder.metadataLookupError;
    if (slow && !this.#lookupReported) {
      this.#lookupReported = true;
      this.#context.info(`embeddings ${this.config.name}: metadata is read from the parquet shards (no lookup file: ${slow})`);
    }
    const files = this.#checkPaths(metas);
    return Promise.all(
      metas.map(async (meta, i) => {
        const id = meta.id ?? meta.image_path ?? meta.url ?? `row ${meta.row}`;
        const file = (files ? files[i] : this.localImage(meta)) ?? (await this.#remoteImage(meta));
        return {
          id,
          file,
          relativeFile: meta.image_path ?? id,
          caption: meta.caption ?? path.basename(meta.image_path ?? id),
          sha256: this.#context.sha256(file),
        };
      }),
    );
  }

  #remoteImage(meta: RowMetadata): Promise<string> {
    const url = this.imageUrl(meta);
    if (!url) return this.#placeholderImage();
    const key = url.href;
    let pending = this.#remote.get(key);
    if (!pending) {
      pending = this.#download(url);
      this.#remote.set(key, pending);
    }
    return pending;
  }

  async #download(url: URL): Promise<string> {
    const dir = path.join(this.#context.cacheDir, "remote-images");
    const file = path.join(dir, crypto.createHash("sha256").update(url.href).digest("hex").slice(0, 32));
    if (fs.existsSync(file)) return file;
    try {
      const configuredHosts = this.#template?.configuredHosts ?? [];
      const bytes = await httpGetWithRetries(url, { what: "dataset image", ...DEFAULTS.imageFetch, fromData: true, configuredHosts });
      const limitInputPixels = this.#context.limitInputPixels ?? DEFAULTS.embedding.limitInputPixels;
      // Only a picture within the pixel limit is kept: the montage writer decodes it later under the same limit.
      await decodeWithinLimit(displayUrl(url), limitInputPixels, () => sharp(bytes, { limitInputPixels }).metadata());
      fs.mkdirSync(dir, { recursive: true });
      await writeFileAtomic(file, bytes);
      return file;
    } catch (error) {
      const reason = error instanceof PixelLimitError ? error.reason : (error as Error).message.split("\n")[0];
      this.#context.warn(`embeddings ${this.config.name}: image ${displayUrl(url)} not shown (${reason}); a blank tile stands in`);
      return this.#placeholderImage();
    }
  }

  #placeholderImage(): Promise<string> {
    this.#placeholder ??= (async () => {
      const file = path.join(this.#context.cacheDir, "remote-images", "unavailable.png");
      if (!fs.existsSync(file)) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const blank = sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 220, g: 220, b: 220 } } }).png();
        // Written whole or not at all: another build may be reading the cache folder.
        await writeFileAtomic(file, await blank.toBuffer());
      }
      return file;
    })();
    return this.#placeholder;
  }

  close(): void {
    this.search.folder.close();
  }
}

/** What a check of `sampled` of `rows` rows can see, in words for the table: every row, or its odds of catching 1 % bad rows. */
function strength(sampled: number, rows: number): string {
  if (sampled >= rows) return "every row checked";
  const bad = Math.max(1, Math.ceil(rows / 100));
  const p = detectionProbability(rows, bad, sampled);
  return `a sample of ${sampled} of ${rows} rows catches ${bad} bad row${bad === 1 ? "" : "s"} (1 %) with probability ${p.toFixed(2)}`;
}
