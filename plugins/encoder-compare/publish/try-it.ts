// Build side of "Try your own image": writes what the in-page widget needs under the output
// folder, every file named by a hash of its content, and returns the placeholder markup the
// shortcode puts under its tables. Nothing here runs unless a shortcode (or the site) asks for it.
import fs from "node:fs";
import path from "node:path";
import type { CompareEngine } from "../engine/compare-engine.ts";
import { requestedRun } from "../render/requested-run.ts";
import type { EncoderSpec } from "../encoders/spec.ts";
import type { BuiltinGraphName } from "../models/builtin-graphs.ts";
import { asRun } from "../render/encoder-run.ts";
import { escapeHtml } from "../render/escape.ts";
import { MONTAGE_VERSION, type MontageWriter, type WrittenImage } from "../render/result-images.ts";
import { bundleTryIt, type TryItAssets } from "./bundle.ts";
import { fileStamp, publishMemo, type PublishMemo } from "./publish-memo.ts";
import { debugLog } from "../base/logger.ts";
import { writeHashed } from "./hashed-file.ts";
import { encodeVectors, TRYIT_FORMAT, type TryItConfig, type TryItIndex, type VectorEncoding } from "../compose/try-it-format.ts";
import { copyFileAtomicSync } from "../base/atomic-write.ts";

const debug = debugLog("engine");

/** Rows per vector shard: about 4 MB at the largest built-in's 768 fp16 values. */
const SHARD_ROWS = 2560;

export interface TryItPublisher {
  /** Markup for one shortcode: a hidden placeholder the loader turns into the control, and the loader script. */
  placeholder(request: { encoders: readonly string[]; datasetDir: string; k: number; includeSelf: boolean; expect?: readonly string[] }): Promise<string>;
  /** Forgets this process's answers: each build (a watch rebuild too) checks its inputs again. */
  startBuild(): void;
}

export interface PublisherContext {
  engine: CompareEngine;
  writer: () => MontageWriter;
  outputDir: () => string;
  /** URL of outputDir, ending in "/". */
  urlBase: string;
  tileSize: number;
  limitInputPixels: number;
  /** Encoder ids whose downloaded model may be published (the plugin's tryItModels). */
  models: readonly string[];
  encoding?: VectorEncoding;
}

/** Why the widget leaves out an encoder whose graph is a downloaded model (hundreds of MB), as the reader reads it. */
export function notPublishedReason(spec: EncoderSpec): string {
  const bytes = spec.source.kind === "url" ? spec.source.bytes : undefined;
  const size = bytes ? `its ${Math.round(bytes / 1e6)} MB model is` : "its model is";
  return `${spec.label} runs at build time only: ${size} not published for browsers`;
}

/** Why the widget runs a stand-in for an encoder: the model itself is never sent to browsers, and this build had none. */
export function standInInBrowserReason(requested: EncoderSpec, ran: { label: string }): string {
  const bytes = requested.source.kind === "url" ? requested.source.bytes : undefined;
  const size = bytes ? `its ${Math.round(bytes / 1e6)} MB model is` : "its model is";
  return (
    `${requested.label} itself does not run in your browser: ${size} too large a download for a page, so it is not published. ` +
    `This build had no copy of it either, so here, as in the table above, ${ran.label} runs in its place`
  );
}

/** The encoder's ONNX graph under the output folder: built, or copied from the model cache (named by the model's key). */
// The graph builders pull in onnx-proto: imported on use, so a site without tryIt never loads them.
async function publishGraph(dir: string, encoder: Awaited<ReturnType<CompareEngine["runningEncoder"]>>): Promise<TryItIndex["graph"]> {
  const { spec, model } = encoder;
  if (spec.source.kind === "builtin") {
    const { buildBuiltinGraph } = await import("../models/builtin-graphs.ts");
    const graph = buildBuiltinGraph(spec.source.graph as BuiltinGraphName);
    return { file: writeHashed(dir, `graph-${spec.id}`, graph, ".onnx"), bytes: graph.byteLength };
  }
  if (spec.source.kind === "converted" && spec.precision !== "int8") {
    // Our own conversion (BiT): published with float16 weights, half the download (an int8 graph goes as it is).
    const { halveWeights } = await import("../models/fp16-weights.ts");
    const halved = halveWeights(typeof model === "string" ? new Uint8Array(fs.readFileSync(model)) : model);
    return { file: writeHashed(dir, `graph-${spec.id}-fp16`, halved, ".onnx"), bytes: halved.byteLength, optIn: true, weights: "fp16" };
  }
  if (typeof model !== "string") return { file: writeHashed(dir, `graph-${spec.id}`, model, ".onnx"), bytes: model.byteLength, optIn: true };
  // Hundreds of MB: named by the model's store key (its sha256 is in it) rather than hashed again.
  const file = `graph-${spec.id}-${encoder.key.slice(0, 16)}.onnx`;
  const target = path.join(dir, file);
  if (!fs.existsSync(target)) {
    fs.mkdirSync(dir, { recursive: true });
    copyFileAtomicSync(model, target);
  }
  return { file, bytes: fs.statSync(target).size, optIn: true };
}

export function createTryItPublisher(context: PublisherContext): TryItPublisher {
  const indexes = new Map<string, Promise<string>>();
  let assets: Promise<TryItAssets> | undefined;
  let assetsDir = "";
  let memoized: PublishMemo | undefined;
  const memo = () => (memoized ??= publishMemo(path.join(context.engine.options.cacheDir, "tryit")));

  /** The loader, widget and WebAssembly files: bundled again only when a file they were made from changed. */
  async function publishAssets(dir: string): Promise<TryItAssets> {
    type Remembered = { assets: TryItAssets; stamps: Record<string, string | undefined> };
    const recalled = memo().recall<Remembered>(["tryit-assets"], dir);
    if (recalled && Object.entries(recalled.stamps).every(([file, stamp]) => stamp !== undefined && fileStamp(file) === stamp)) {
      debug(() => `try-it bundle reused (${Object.keys(recalled.stamps).length} inputs unchanged)`);
      return recalled.assets;
    }
    const { assets: bundled, inputs } = await bundleTryIt(dir);
    const stamps = Object.fromEntries(inputs.map((file) => [file, fileStamp(file)]));
    memo().remember(["tryit-assets"], { assets: bundled, stamps } satisfies Remembered, Object.values(bundled));
    return bundled;
  }

  async function publishIndex(encoderId: string, datasetDir: string): Promise<string> {
    const { engine } = context;
    const dir = context.outputDir();
    const loaded = await engine.runningEncoder(encoderId);
    const spec = loaded.spec;
    const encoding = context.encoding ?? "f16";
    const run = loaded.standInFor ? asRun(requestedRun(loaded.standInFor.spec.id, loaded)) : undefined;
    // Everything the index and the files it names are made of: the model (its key), the dataset's images as listed
    // (their bytes by hash, ids, captions, groups), and how they are published.
    const listed = engine.dataset(datasetDir);
    const inputs = [
      "tryit-index", TRYIT_FORMAT, MONTAGE_VERSION, SHARD_ROWS, encoderId, loaded.key,
      { id: spec.id, label: spec.label, dim: spec.dim, inputName: spec.inputName, outputName: spec.outputName, preprocess: spec.preprocess },
      spec.source, run ?? null, listed.name, listed.dir, listed.images.map((i) => [i.id, i.sha256, i.caption, i.group ?? null]),
      encoding, context.tileSize, context.urlBase,
    ];
    const recalled = memo().recall<string>(inputs, dir);
    if (recalled) {
      debug(() => `try-it index of ${encoderId} × ${listed.dir} reused`);
      return recalled;
    }
    const { dataset, dim, vectors } = await engine.datasetVectors(encoderId, datasetDir);
    const shards: TryItIndex["vectors"]["shards"] = [];
    let scale: number | undefined;
    for (let start = 0; start < dataset.images.length; start += SHARD_ROWS) {
      const rows = Math.min(SHARD_ROWS, dataset.images.length - start);
      const encoded = encodeVectors(vectors.subarray(start * dim, (start + rows) * dim), encoding);
      scale ??= encoded.scale;
      shards.push({ file: writeHashed(dir, "vectors", encoded.bytes, `.${encoding}`), rows, bytes: encoded.bytes.byteLength });
    }
    const writer = context.writer();
    const thumbs: WrittenImage[] = [];
    const fulls: string[] = [];
    // A few at a time: sharp already uses every core per image.
    for (let i = 0; i < dataset.images.length; i += 8) {
      const batch = dataset.images.slice(i, i + 8);
      thumbs.push(...(await Promise.all(batch.map((image) => writer.thumbnail(image, context.tileSize)))));
      // Every image can be a result, so every one gets the full-size file a caption links to (shared with the build's tables).
      fulls.push(...(await Promise.all(batch.map((image) => writer.fullImage(image)))));
    }
    const index: TryItIndex = {
      format: TRYIT_FORMAT,
      encoder: { id: spec.id, label: spec.label, dim, inputName: spec.inputName, outputName: spec.outputName, preprocess: spec.preprocess },
      ...(run ? { run } : {}),
      graph: await publishGraph(dir, loaded),
      dataset: { name: dataset.name },
      vectors: { encoding, ...(scale === undefined ? {} : { scale }), shards },
      images: dataset.images.map((image, i) => ({
        id: image.id,
        caption: image.caption,
        ...(image.group === undefined ? {} : { group: image.group }),
        sha: image.sha256.slice(0, 16),
        thumb: thumbs[i].name,
        thumb2x: thumbs[i].name2x,
        full: fulls[i],
      })),
      urlBase: context.urlBase,
      tileSize: context.tileSize,
    };
    const indexFile = writeHashed(dir, `index-${spec.id}`, JSON.stringify(index), ".json");
    const files = [indexFile, index.graph.file, ...shards.map((s) => s.file), ...thumbs.flatMap((t) => [t.name, t.name2x]), ...fulls];
    memo().remember(inputs, context.urlBase + indexFile, files);
    return context.urlBase + indexFile;
  }

  function index(encoderId: string, datasetDir: string): Promise<string> {
    const key = `${encoderId}\0${datasetDir}`;
    let pending = indexes.get(key);
    if (!pending) {
      pending = publishIndex(encoderId, datasetDir);
      indexes.set(key, pending);
      pending.catch(() => indexes.delete(key));
    }
    return pending;
  }

  return {
    startBuild() {
      assets = undefined;
      indexes.clear();
    },
    async placeholder(request) {
      // A new output folder (another build, a test) gets its own copy of the bundle.
      if (!assets || assetsDir !== context.outputDir()) {
        assetsDir = context.outputDir();
        assets = publishAssets(assetsDir);
        indexes.clear();
      }
      const bundle = await assets;
      const urls = [];
      const skipped = [];
      const standIns = [];
      for (const encoderId of request.encoders) {
        const { spec, standInFor } = await context.engine.runningEncoder(encoderId);
        if (spec.source.kind === "builtin" || context.models.includes(spec.id)) {
          urls.push(await index(encoderId, request.datasetDir));
          if (standInFor && !context.models.includes(standInFor.spec.id)) standIns.push(standInInBrowserReason(standInFor.spec, spec));
        } else skipped.push(notPublishedReason(spec));
      }
      const config: TryItConfig = {
        indexes: urls,
        skipped,
        standIns,
        ...(request.expect?.length ? { expect: [...request.expect] } : {}),
        k: request.k,
        includeSelf: request.includeSelf,
        widget: context.urlBase + bundle.widget,
        wasm: context.urlBase + bundle.wasm,
        limitInputPixels: context.limitInputPixels,
      };
      return (
        `<div class="ec-tryit" data-tryit="${escapeHtml(JSON.stringify(config))}" hidden></div>\n` +
        `<script type="module" src="${escapeHtml(context.urlBase + bundle.loader)}"></script>`
      );
    },
  };
}
