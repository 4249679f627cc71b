// `encoder-compare export`: our embeddings of a dataset in clip-retrieval's layout, for
// `clip-retrieval index`/autofaiss and clip-retrieval's back end, or to read back as a dataset.
import path from "node:path";
import { writeEmbeddingsFolder } from "../dataset/clip-retrieval-writer.ts";
import { datasetLocation } from "../dataset/embeddings-option.ts";
import { parseArgs, positiveIntegerFlag, UsageError, type Command } from "./common.ts";
import { checkExportTarget } from "./export-target.ts";
import { readSiteOptions } from "./site-config.ts";
import { engineForCommand, optionsFromArgs } from "./site-options.ts";

export const exportCommand: Command = {
  name: "export",
  summary: "write a dataset's embeddings as clip-retrieval output (img_emb/*.npy, metadata/*.parquet)",
  help:
    "Usage: encoder-compare export --encoder <id> [--dataset <dir>] [--shard-rows N] [--dtype float32|float16] [--force] " +
    `[--config <file>] [--cache-dir <dir>] <out dir>

Embeds the dataset with the encoder (vectors already in the store are reused) and writes
  <out>/img_emb/img_emb_<n>.npy         rows in dataset order, unit length
  <out>/metadata/metadata_<n>.parquet   image_path (relative to the dataset folder), caption, id
  <out>/encoder-compare.json            the encoder id and the images folder
the layout \`clip-retrieval inference\` writes, so \`clip-retrieval index --embeddings_folder <out>\`
builds a faiss index from it, and the folder works as a dataset of this plugin.

  --encoder <id>       encoder whose vectors are written (required)
  --dataset <dir>      image dataset folder (default: the plugin's)
  --shard-rows N       rows per shard (default: all in one)
  --dtype float32      float32 (default, exact) or float16 (what clip-retrieval writes; half the size)
  --force              write into a folder that is not empty, replacing its earlier shards and sidecar
                       (named before writing); other files there are kept

The output folder is never a configured dataset, the images an embeddings dataset points at, or
the site's input or output folder.`,
  async run(args, io) {
    const parsed = parseArgs(args, ["--force"], ["--encoder", "--dataset", "--config", "--cache-dir", "--shard-rows", "--dtype"]);
    if (parsed.positional.length !== 1) throw new UsageError("give exactly one output folder");
    const encoder = parsed.values.get("--encoder");
    if (!encoder) throw new UsageError("--encoder is required (one encoder per folder: clip-retrieval folders hold one model's vectors)");
    const dtype = parsed.values.get("--dtype") ?? "float32";
    if (dtype !== "float32" && dtype !== "float16") throw new UsageError(`--dtype must be float32 or float16, got "${dtype}"`);
    const shardRows = positiveIntegerFlag(parsed, "--shard-rows", Number.MAX_SAFE_INTEGER);
    parsed.values.set("--encoders", encoder);
    const options = await optionsFromArgs(parsed, io.cwd);
    const datasetDir = datasetLocation(options.dataset, options.datasets, io.cwd);
    const outDir = path.resolve(io.cwd, parsed.positional[0]);
    const site = { configured: [options, (await readSiteOptions(io.cwd)).options], siteDirs: options.siteDirs };
    const replaced = checkExportTarget(outDir, parsed.flags.has("--force"), site, datasetDir, io.cwd);
    const engine = engineForCommand(options, io);
    try {
      const identity = await engine.encoderIdentity(encoder);
      if (identity.standInFor) {
        throw new Error(`${encoder} is not available (${identity.standInFor.reason}); refusing to write ${identity.spec.id} stand-in vectors under its name`);
      }
      engine.startBuild();
      const { dataset, dim, vectors } = await engine.datasetVectors(encoder, datasetDir);
      if (replaced.length) io.err.write(`--force: replacing ${replaced.join(", ")} in ${path.relative(io.cwd, outDir) || outDir}\n`);
      const rows = dataset.images.map((image) => ({ id: image.id, image_path: image.relativeFile.split(path.sep).join("/"), caption: image.caption }));
      const { shards } = writeEmbeddingsFolder(outDir, vectors, dim, rows, { encoder, shardRows, dtype, imagesDir: dataset.dir });
      io.err.write(`wrote ${rows.length} ${encoder} vectors × ${dim} (${dtype}) in ${shards} shard(s) to ${path.relative(io.cwd, outDir) || outDir}\n`);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
