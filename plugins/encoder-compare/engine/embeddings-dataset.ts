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
import type { EmbeddingsDatasetConfig } from "../dataset/embeddings-option.ts";
import { assertAllowedUrl, displayUrl, httpGetWithRetries } from "../dataset/http-get.ts";
import type { DatasetImage } from "../dataset/load.ts";
import { PythonRandom } from "../dataset/python-random.ts";
import { judgeSample, type SamplePair } from "../dataset/verify-embeddings.ts";
import { DEFAULT_MAX_IMAGE_BYTES, FileRefusedError, realRoots, statChecked } from "../dataset/safe-read.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";

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
}

/** Remote images: the same caps as the dataset importer. */
const FETCH = { timeoutMs: 30_000, maxBytes: 25 << 20, attempts: 3, backoffMs: 500 };

function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/**
 * A filled URL template stays where the template's fixed start points: same origin, and a path under the one written
 * before the first placeholder, so an image_path of "../" (or "..\\", which URLs read as "/") cannot climb out of it.
 */
function staysUnderTemplate(url: URL, template: string): boolean {
  const placeholder = template.search(/\{(image_path|url|row)\}/);
  if (placeholder < 0) return true;
  let fixed: URL;
  try {
    fixed = new URL(template.slice(0, placeholder));
  } catch {
    // The placeholder is in the scheme or host (or first): nothing fixed to stay under but the URL policy.
    return true;
  }
  return url.origin === fixed.origin && url.pathname.startsWith(fixed.pathname);
}

export class EmbeddingsDataset {
  readonly config: EmbeddingsDatasetConfig;
  readonly search: EmbeddingsSearch;
  readonly #context: EmbeddingsContext;
  #imageRoots?: string[];
  readonly #remote = new Map<string, Promise<string>>();
  #verification?: Promise<Verification>;
  #placeholder?: Promise<string>;

  private constructor(config: EmbeddingsDatasetConfig, search: EmbeddingsSearch, context: EmbeddingsContext) {
    this.config = config;
    this.search = search;
    this.#context = context;
  }

  static async open(config: EmbeddingsDatasetConfig, context: EmbeddingsContext): Promise<EmbeddingsDataset> {
    const folder = await EmbeddingsFolder.open(config.dir);
    const started = performance.now();
    const index = config.index ? openFaissIndexFile(config.index, { nprobe: config.nprobe, efSearch: config.efSearch }, {
      verdictDir: path.join(context.cacheDir, "faiss-checks"),
    }) : undefined;
    const search = new EmbeddingsSearch(folder, index, config.candidates);
    const how = index
      ? `faiss index ${path.basename(index.file)} (${index.fourcc}${Object.entries(index.params).map(([k, v]) => `, ${k} ${v}`).join("")}) ` +
        `opened in ${((performance.now() - started) / 1000).toFixed(2)} s, ${config.candidates} candidates rescored exactly`
      : "no faiss index: every row is scored exactly";
    context.info(`embeddings ${config.name}: ${folder.rows} rows × ${folder.dim} in ${folder.shards.length} shard(s) from ${config.encoder}; ${how}`);
    return new EmbeddingsDataset(config, search, context);
  }

  get rows(): number {
    return this.search.folder.rows;
  }

  /** The row's image on this machine, when the images option is a folder and the file is there. */
  localImage(meta: RowMetadata): string | undefined {
    const images = this.config.images;
    if (!images || !("folder" in images) || !meta.image_path) return undefined;
    const file = path.resolve(images.folder, meta.image_path);
    if (!isInside(images.folder, file)) return undefined;
    // The real file, as the checked reader sees it: inside the images folder after links, a regular file, within the cap.
    this.#imageRoots ??= realRoots(images.folder);
    try {
      return statChecked(file, { roots: this.#imageRoots, maxBytes: DEFAULT_MAX_IMAGE_BYTES }).real;
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
    return images && "template" in images && !staysUnderTemplate(url, images.template) ? undefined : url;
  }

  /**
   * Re-embeds a seeded sample of locally reachable images and compares (once per dataset).
   * Rows are drawn at random until the sample is full or 8× its size has been tried.
   */
  verify(embed: (files: string[]) => Promise<Map<string, Float32Array>>): Promise<Verification> {
    this.#verification ??= this.#verify(embed);
    return this.#verification;
  }

  async #verify(embed: (files: string[]) => Promise<Map<string, Float32Array>>): Promise<Verification> {
    const { verifySample, verifySeed, encoder, name } = this.config;
    if (verifySample === 0) return { verified: false, note: `vectors unverified (verifySample is 0): taken on trust as ${encoder}` };
    const random = new PythonRandom(verifySeed);
    const tries = Math.min(this.rows, verifySample * 8);
    const drawn = new Set<number>();
    while (drawn.size < tries) drawn.add(random.randbelow(this.rows));
    const picked: Array<{ row: number; file: string; image: string }> = [];
    for (const meta of await this.search.folder.metadata([...drawn])) {
      const file = this.localImage(meta);
      if (file) picked.push({ row: meta.row, file, image: meta.image_path! });
      if (picked.length === verifySample) break;
    }
    if (picked.length === 0) {
      const note = `vectors unverified: none of ${tries} sampled rows (seed ${verifySeed}) has an image reachable locally; taken on trust as ${encoder}`;
      return { verified: false, note };
    }
    const ours = await embed(picked.map((p) => p.file));
    const pairs: SamplePair[] = picked
      .filter((p) => ours.has(p.file))
      .map((p) => ({ row: p.row, image: p.image, theirs: this.search.vector(p.row), ours: ours.get(p.file)! }));
    const verdict = judgeSample(pairs, encoder);
    if (!verdict.ok) {
      throw new Error(
        `embeddings ${name} (${this.config.dir}) claim encoder ${encoder}, ` +
          `but re-embedding ${pairs.length} sampled images (seed ${verifySeed}) disagrees: ${verdict.reason}`,
      );
    }
    const note =
      `vectors verified: ${pairs.length} sampled images (seed ${verifySeed}) re-embedded with ${encoder}, cosine ≥ ${verdict.minCosine.toFixed(3)}`;
    this.#context.info(`embeddings ${name}: ${note}`);
    return { verified: true, note };
  }

  /** The images of hits, ready for the tables (local file, cached download, or a placeholder). */
  async hitImages(hits: readonly SearchHit[]): Promise<DatasetImage[]> {
    const metas = await this.search.folder.metadata(hits.map((h) => h.id));
    return Promise.all(
      metas.map(async (meta) => {
        const id = meta.id ?? meta.image_path ?? meta.url ?? `row ${meta.row}`;
        const file = this.localImage(meta) ?? (await this.#remoteImage(meta));
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
      assertAllowedUrl(url, "dataset image");
      const bytes = await httpGetWithRetries(url, { what: "dataset image", ...FETCH });
      await sharp(bytes).metadata();
      fs.mkdirSync(dir, { recursive: true });
      await writeFileAtomic(file, bytes);
      return file;
    } catch (error) {
      const reason = (error as Error).message.split("\n")[0];
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
