// "Try your own image": loaded by loader.ts when the reader opens the control. Fetches the
// published indexes, graphs and onnxruntime-web (same-origin GETs only), then for each image
// the reader picks, drops or pastes: decode → the build's preprocessing → the encoder graph →
// exact search → the build's table markup. The image never leaves the page.
import * as ort from "onnxruntime-web/wasm";
import { l2Normalize } from "../encoders/normalize.ts";
import { portableGeometry } from "../encoders/portable-resize.ts";
import { pixelsToTensor, tensorShape } from "../encoders/preprocess-core.ts";
import { describeRun } from "../render/encoder-run.ts";
import { renderComparisonTable, type TableRow } from "../render/table.ts";
import { exactSearch } from "../search/exact.ts";
import { expectedFor } from "../compose/expected-groups.ts";
import { decodeVectors, type TryItConfig, type TryItIndex } from "../compose/try-it-format.ts";
import { decodeImage, ImageRefusedError } from "./decode.ts";
import { montage, thumbnail } from "./montage.ts";

interface LoadedIndex {
  index: TryItIndex;
  vectors: Float32Array;
  /** Absent until the reader loads an opt-in model. */
  session?: ort.InferenceSession;
  rowBySha: Map<string, number>;
}

/** What the widget reports after each query (also dispatched as an "encoder-compare:results" event). */
export interface TryItResults {
  file: string;
  results: Array<{ encoderId: string; standingInFor?: string[]; hits: Array<{ rank: number; id: string; caption: string; score: number }> }>;
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

async function loadIndex(url: string): Promise<LoadedIndex> {
  const index = (await (await fetchOk(url)).json()) as TryItIndex;
  const base = new URL(index.urlBase, location.href).href;
  const shards = await Promise.all(index.vectors.shards.map((shard) => fetchOk(base + shard.file).then((r) => r.arrayBuffer())));
  const vectors = new Float32Array(index.images.length * index.encoder.dim);
  let offset = 0;
  for (const bytes of shards) {
    const decoded = decodeVectors(bytes, index.vectors.encoding, index.vectors.scale);
    vectors.set(decoded, offset);
    offset += decoded.length;
  }
  const loaded: LoadedIndex = { index, vectors, rowBySha: new Map(index.images.map((image, row) => [image.sha, row])) };
  if (!index.graph.optIn) await loadGraph(loaded);
  return loaded;
}

async function loadGraph(loaded: LoadedIndex): Promise<void> {
  const url = new URL(loaded.index.urlBase, location.href).href + loaded.index.graph.file;
  const graph = new Uint8Array(await (await fetchOk(url)).arrayBuffer());
  loaded.session = await ort.InferenceSession.create(graph, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
}

function encoderLabel(index: TryItIndex): string {
  return index.run ? describeRun(index.run).name : index.encoder.label;
}

/** A button per opt-in model, naming its download size; nothing is fetched until it is pressed. */
function optInButtons(loaded: readonly LoadedIndex[], status: HTMLElement): HTMLElement[] {
  return loaded
    .filter((entry) => entry.index.graph.optIn)
    .map((entry) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "ec-tryit-load";
      const label = encoderLabel(entry.index);
      const weights = entry.index.graph.weights === "fp16" ? ", float16 weights" : "";
      button.textContent = `Also run ${label} (${(entry.index.graph.bytes / 1e6).toFixed(0)} MB download${weights})`;
      button.addEventListener("click", async () => {
        button.disabled = true;
        status.textContent = `Downloading ${label}…`;
        try {
          await loadGraph(entry);
          button.textContent = `${label} is loaded`;
          status.textContent = `${label} is loaded; it runs on your next image.`;
        } catch (error) {
          button.disabled = false;
          status.textContent = `Could not load ${label}: ${(error as Error).message}`;
        }
      });
      return button;
    });
}

async function sha16(file: Blob): Promise<string | undefined> {
  if (!globalThis.crypto?.subtle) return undefined; // not a secure context: nothing to exclude by
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function embed(loaded: LoadedIndex, pixels: Parameters<typeof portableGeometry>[0]): Promise<Float32Array> {
  const { encoder } = loaded.index;
  const tensor = pixelsToTensor(portableGeometry(pixels, encoder.preprocess), encoder.preprocess);
  const input = new ort.Tensor("float32", tensor, tensorShape(encoder.preprocess, 1));
  const output = (await loaded.session!.run({ [encoder.inputName]: input }))[encoder.outputName];
  return l2Normalize(output.data as Float32Array);
}

function ui(panel: HTMLElement, encoders: readonly string[], datasetSize: number, datasetName: string, skipped: readonly string[]) {
  const id = panel.id;
  panel.innerHTML = "";
  const intro = document.createElement("p");
  intro.className = "ec-tryit-intro";
  const names = encoders.length <= 1 ? encoders.join("") : `${encoders.slice(0, -1).join("; ")} and ${encoders[encoders.length - 1]}`;
  intro.textContent =
    `Your image stays in this browser: it is embedded here with ${names}, as at build time, and searched against ` +
    `the same ${datasetSize} images of ${datasetName}. Nothing is uploaded.`;
  const label = document.createElement("label");
  label.htmlFor = `${id}-file`;
  label.textContent = "Choose an image (or drop or paste one here)";
  const input = document.createElement("input");
  input.type = "file";
  input.id = `${id}-file`;
  input.accept = "image/*";
  const status = document.createElement("p");
  status.className = "ec-tryit-status";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const results = document.createElement("div");
  results.className = "ec-tryit-results";
  panel.append(intro);
  for (const reason of skipped) {
    const note = document.createElement("p");
    note.className = "ec-tryit-skipped";
    note.textContent = reason + ".";
    panel.append(note);
  }
  panel.append(label, document.createTextNode(" "), input, status, results);
  return { intro, input, status, results };
}

export async function mount(panel: HTMLElement, configJson: string): Promise<void> {
  const config = JSON.parse(configJson) as TryItConfig;
  ort.env.wasm.wasmPaths = { wasm: new URL(config.wasm, location.href).href };
  // Threads need SharedArrayBuffer, which only cross-origin-isolated pages have.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  panel.textContent = "Loading the encoders and the index…";
  panel.setAttribute("aria-busy", "true");
  const loaded = await Promise.all(config.indexes.map(loadIndex));
  panel.removeAttribute("aria-busy");
  if (loaded.length === 0) {
    panel.textContent = config.skipped.join(". ") + ".";
    return;
  }
  const first = loaded[0].index;
  const { intro, input, status, results } = ui(
    panel,
    loaded.map((entry) => encoderLabel(entry.index)),
    first.images.length,
    first.dataset.name,
    [...(config.standIns ?? []), ...config.skipped],
  );
  intro.after(...optInButtons(loaded, status));
  let busy = Promise.resolve();

  const run = (file: File) => {
    busy = busy.then(() => query(file)).catch((error: Error) => {
      status.textContent =
        error instanceof ImageRefusedError ? `Could not use ${file.name || "the image"}: ${error.message}.` : `Search failed: ${error.message}`;
    });
  };

  async function query(file: File): Promise<void> {
    const name = file.name || "pasted image";
    status.textContent = `Searching for ${name}…`;
    const background = loaded[0].index.encoder.preprocess.background;
    const [{ pixels, bitmap }, sha] = await Promise.all([decodeImage(file, background, config.limitInputPixels), sha16(file)]);
    const tables: string[] = [];
    const report: TryItResults = { file: name, results: [] };
    const ready = loaded.filter((entry) => entry.session);
    if (ready.length === 0) throw new Error("load an encoder above first");
    for (const entry of ready) {
      const { index } = entry;
      const ownBackground = index.encoder.preprocess.background;
      const decoded = ownBackground.join() === background.join() ? pixels : (await decodeImage(file, ownBackground, config.limitInputPixels)).pixels;
      const vector = await embed(entry, decoded);
      const selfRow = sha === undefined ? undefined : entry.rowBySha.get(sha);
      const exclude = !config.includeSelf && selfRow !== undefined ? new Set([selfRow]) : undefined;
      const hits = exactSearch(entry.vectors, index.images.length, Float64Array.from(vector), config.k, exclude);
      const base = new URL(index.urlBase, location.href).pathname;
      // The build's rules for the same inputs: a dataset image is named by its caption, links to its full-size file and
      // has its results marked against its group, unless the shortcode's expect= names the groups.
      const member = selfRow === undefined ? undefined : index.images[selfRow];
      const expect = expectedFor(config.expect, member);
      const row: TableRow = {
        queryAlt: member?.caption || `Your image ${name}`,
        queryImage: await thumbnail(bitmap, index.tileSize),
        ...(member?.full ? { queryFullImage: base + member.full } : {}),
        montage: hits.length ? await montage(hits.map((h) => base + index.images[h.id].thumb2x), index.tileSize) : undefined,
        hits: hits.map((h, i) => {
          const image = index.images[h.id];
          const group = image.group === undefined ? {} : { group: image.group };
          return { rank: i + 1, score: h.score, caption: image.caption, fullImage: base + image.full, ...group };
        }),
        selfExcluded: exclude !== undefined,
        ...(expect ? { expect } : {}),
      };
      tables.push(
        renderComparisonTable({
          // As in the build: the table is the requested encoder's; a stand-in is named from the run.
          encoderId: index.run ? index.run.standingInFor.map((s) => s.id).join(",") : index.encoder.id,
          encoderLabel: index.encoder.label,
          run: index.run,
          datasetName: index.dataset.name,
          datasetSize: index.images.length,
          k: config.k,
          urlBase: "",
          rows: [row],
        }),
      );
      report.results.push({
        encoderId: index.encoder.id,
        ...(index.run ? { standingInFor: index.run.standingInFor.map((s) => s.id) } : {}),
        hits: hits.map((h, i) => ({ rank: i + 1, id: index.images[h.id].id, caption: index.images[h.id].caption, score: h.score })),
      });
    }
    bitmap.close();
    for (const img of results.querySelectorAll("img")) if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    results.innerHTML = tables.join("\n");
    const best = report.results.map((r) => `${r.encoderId}: ${r.hits[0]?.caption ?? "no results"}`);
    status.textContent = `Results for ${name} are below. Best match by ${best.join("; by ")}.`;
    panel.dispatchEvent(new CustomEvent("encoder-compare:results", { detail: report, bubbles: true }));
  }

  input.addEventListener("change", () => {
    if (input.files?.[0]) run(input.files[0]);
    // So that choosing the same file again (say, after loading a model) runs it again.
    input.value = "";
  });
  panel.addEventListener("dragover", (event) => event.preventDefault());
  panel.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer?.files[0];
    if (file) run(file);
  });
  document.addEventListener("paste", (event) => {
    if (panel.hidden) return;
    const file = [...(event.clipboardData?.files ?? [])].find((f) => f.type.startsWith("image/"));
    if (file) run(file);
  });
}
