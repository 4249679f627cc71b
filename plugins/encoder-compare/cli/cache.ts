// `encoder-compare cache stats|clear`: what the embedding store holds, and emptying it (never under a running build).
import fs from "node:fs";
import path from "node:path";
import { EmbeddingStore, StoreInUseError } from "../store/embedding-store.ts";
import { createEngine, createRegistry } from "../engine/setup.ts";
import { parseArgs, type Command } from "./common.ts";
import { optionsFromArgs } from "./site-options.ts";

function storeFile(cwd: string, cacheDir: string): string {
  return path.join(path.resolve(cwd, cacheDir), "embeddings.sqlite");
}

export const cacheStats: Command = {
  name: "cache stats",
  summary: "show the embedding store: size and vectors per encoder",
  help: `Usage: encoder-compare cache stats [--json] [--config <options module>] [--cache-dir <dir>]

Prints the store's path and size, and how many vectors it holds per encoder key. Keys are named
after the encoders whose current model and preprocessing produce them (built-in encoders and
models already in the model cache); other keys belong to old models or old preprocessing.`,
  async run(args, io) {
    const parsed = parseArgs(args, ["--json"], ["--config", "--cache-dir"]);
    const options = await optionsFromArgs(parsed, io.cwd);
    const file = storeFile(io.cwd, options.cacheDir);
    if (!fs.existsSync(file)) {
      io.out.write(parsed.flags.has("--json") ? JSON.stringify({ store: file, exists: false }) + "\n" : `no embedding store at ${file}\n`);
      return 0;
    }
    const bytes = ["", "-wal", "-shm"].reduce((sum, s) => sum + (fs.existsSync(file + s) ? fs.statSync(file + s).size : 0), 0);
    const store = EmbeddingStore.open(file);
    const counts = store.countsByEncoderKey();
    store.close();
    // Name the keys the current encoders would use; offline, so nothing is downloaded.
    const registry = createRegistry(options);
    const engine = createEngine({ ...options, offline: true }, { projectRoot: io.cwd, env: io.env, warn: () => {}, info: () => {} }, registry);
    const names = new Map<string, string[]>();
    for (const id of registry.ids()) {
      const loaded = await engine.encoder(id).catch(() => undefined);
      if (loaded && !loaded.standInFor) names.set(loaded.key, [...(names.get(loaded.key) ?? []), id]);
    }
    await engine.close();
    const rows = counts.map((c) => ({ ...c, encoders: names.get(c.encoderKey) ?? [] }));
    if (parsed.flags.has("--json")) {
      io.out.write(JSON.stringify({ store: file, bytes, encoders: rows }, null, 2) + "\n");
      return 0;
    }
    io.out.write(`store: ${file} (${(bytes / 1024 / 1024).toFixed(1)} MB)\n`);
    for (const r of rows) {
      const who = r.encoders.length ? r.encoders.join(", ") : "(no current encoder: old model or preprocessing)";
      io.out.write(`${String(r.vectors).padStart(8)} × ${String(r.dim).padStart(4)}-d  ${r.encoderKey.slice(0, 12)}  ${who}\n`);
    }
    if (rows.length === 0) io.out.write("(empty)\n");
    return 0;
  },
};

/** How long `cache clear` waits for a build or preview server to release the store. */
const CLEAR_WAIT_MS = 5_000;

export const cacheClear: Command = {
  name: "cache clear",
  summary: "empty the embedding store (models are kept)",
  help: `Usage: encoder-compare cache clear [--config <options module>] [--cache-dir <dir>]

Empties the embedding store; the next build re-embeds everything. Downloaded models in the model
cache are not touched (delete that folder by hand if you want them gone). While a build, a
preview server (npm start) or another command has the store open, it waits ${CLEAR_WAIT_MS / 1000} s for it, then
refuses and deletes nothing.`,
  async run(args, io) {
    const parsed = parseArgs(args, [], ["--config", "--cache-dir"]);
    const options = await optionsFromArgs(parsed, io.cwd);
    const file = storeFile(io.cwd, options.cacheDir);
    let removed: number | undefined;
    try {
      removed = EmbeddingStore.clear(file, CLEAR_WAIT_MS);
    } catch (error) {
      if (!(error instanceof StoreInUseError)) throw error;
      io.err.write(`cache clear: ${error.message}\n`);
      return 1;
    }
    io.out.write(removed === undefined ? `no embedding store at ${file}\n` : `emptied ${file} (${removed} vectors removed)\n`);
    return 0;
  },
};
