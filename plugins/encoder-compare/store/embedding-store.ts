// Embeddings on disk, keyed by (encoder key, image sha256), plus a file-hash memo so a warm
// build does not re-read every dataset image. SQLite in WAL mode: crash-safe, and a build and
// the preview server can share it.
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import type Database from "better-sqlite3";
import { DEFAULTS } from "../base/defaults.ts";
import { formatBytes } from "../base/safe-read.ts";

// Loaded when a store is first opened, not when a site's config imports the plugin (the addon takes ~20 ms to load).
let sqlite: typeof Database | undefined;

const SCHEMA_VERSION = 1;

export interface FileStat {
  size: number;
  mtimeMs: number;
}

/** Why a folder cannot be written (EROFS, EACCES, …), or undefined when it can. */
function unwritable(dir: string): string | undefined {
  for (let at = dir; ; at = path.dirname(at)) {
    if (fs.existsSync(at)) {
      try {
        fs.accessSync(at, fs.constants.W_OK);
        return undefined;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      }
    }
    if (path.dirname(at) === at) return "ENOENT";
  }
}

/** SQLite's answers that prove the file is not a store: anything else (a full disk, an I/O error, a lock) says nothing about its content. */
const CORRUPTION_CODES = /^SQLITE_(CORRUPT|NOTADB)/;

/** The store is open in another process: destructive commands wait for it, then refuse. */
export class StoreInUseError extends Error {}

/** Set when the file holds a store of another schema: also proof that this version cannot use it. */
class SchemaMismatch extends Error {}

/** Free space a write needs beyond the store's size (a checkpoint can copy as much as the store holds). */
const HEADROOM_BYTES = 1 << 20;

function sizeOf(file: string): number {
  let bytes = 0;
  for (const suffix of ["", "-wal"]) {
    try {
      bytes += fs.statSync(file + suffix).size;
    } catch {
      // absent
    }
  }
  return bytes;
}

/** One line for a store that cannot be written for want of space or through an I/O error; undefined for other errors. */
function storeSpaceProblem(file: string, error: unknown): string | undefined {
  const code = String((error as { code?: unknown }).code ?? "");
  if (!/^SQLITE_(FULL|IOERR)/.test(code) && code !== "ENOSPC" && code !== "EIO") return undefined;
  const dir = path.dirname(file);
  let free: number | undefined;
  try {
    const stats = fs.statfsSync(dir);
    free = stats.bavail * stats.bsize;
  } catch {
    free = undefined;
  }
  const need = sizeOf(file) + HEADROOM_BYTES;
  const room = free === undefined ? "" : ` (${formatBytes(free)} free there)`;
  const move = "or move the cache with cacheDir (--cache-dir), then build again — the store was left as it was";
  if (/FULL|ENOSPC/.test(code) || (free !== undefined && free < need)) {
    return `embedding store in ${dir} cannot be written: the disk is full${room}; free at least ${formatBytes(need)} there ${move}`;
  }
  return `embedding store in ${dir} cannot be written: an I/O error (${code})${room}; check the disk holding it ${move}`;
}

/** What the store remembers besides vectors and hashes: finished query results (rankOf ranks among them), reports, map layouts. */
export type RememberedKind = "query" | "eval" | "map";

const REMEMBERED_TABLES: Record<RememberedKind, { table: string; column: string }> = {
  query: { table: "query_results", column: "result" },
  eval: { table: "eval_reports", column: "report" },
  map: { table: "map_layouts", column: "layout" },
};

export class EmbeddingStore {
  readonly file: string;
  /**
   * Set when the store's folder cannot be written (a read-only mount, a shared cache): the store
   * is a private copy, read as the cache was; the reason is the error code, e.g. "EROFS".
   */
  readOnly?: string;
  #copyDir?: string;
  readonly #db: Database.Database;
  readonly #getVector: Database.Statement<[string, string], { vector: Buffer }>;
  readonly #putVector: Database.Statement<[string, string, number, Buffer]>;
  readonly #getHash: Database.Statement<[string, number, number], { sha256: string }>;
  readonly #putHash: Database.Statement<[string, number, number, string]>;
  readonly #getRemembered = new Map<RememberedKind, Database.Statement<[string], { fingerprint: string; json: string }>>();
  readonly #putRemembered = new Map<RememberedKind, Database.Statement<[string, string, string]>>();
  /** Every remembered file hash, read in one query on first use (one query per file is 10× slower). */
  #hashMemo?: Map<string, { size: number; mtimeMs: number; sha256: string }>;

  private constructor(file: string, db: Database.Database) {
    this.file = file;
    this.#db = db;
    this.#getVector = db.prepare("SELECT vector FROM embeddings WHERE encoder_key = ? AND image_sha256 = ?");
    this.#putVector = db.prepare(
      "INSERT OR REPLACE INTO embeddings (encoder_key, image_sha256, dim, vector) VALUES (?, ?, ?, ?)",
    );
    this.#getHash = db.prepare("SELECT sha256 FROM file_hashes WHERE path = ? AND size = ? AND mtime_ms = ?");
    this.#putHash = db.prepare("INSERT OR REPLACE INTO file_hashes (path, size, mtime_ms, sha256) VALUES (?, ?, ?, ?)");
  }

  /**
   * Opens (or creates) the store. A file that SQLite proves is not a store (corrupt, not a
   * database) or that holds another schema is moved aside as `<file>.broken-<time>` (replacing
   * any earlier copy: one at most) and replaced; `onWarning` hears about it. A full disk or an
   * I/O error leaves the file alone and throws one line naming the folder and the space needed.
   */
  static open(file: string, onWarning: (message: string) => void = () => {}): EmbeddingStore {
    const readOnly = unwritable(path.dirname(file));
    if (readOnly) return EmbeddingStore.#openCopy(file, readOnly);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      return new EmbeddingStore(file, openDatabaseWaiting(file));
    } catch (error) {
      const space = storeSpaceProblem(file, error);
      if (space) throw new Error(space, { cause: error });
      const proven = error instanceof SchemaMismatch || CORRUPTION_CODES.test(String((error as { code?: unknown }).code ?? ""));
      if (!proven) {
        const fix = "stop other processes using it, or move the cache with cacheDir (--cache-dir); the store was left as it was";
        throw new Error(`embedding store ${file} cannot be opened (${(error as Error).message}); ${fix}`, { cause: error });
      }
      const aside = `${file}.broken-${Date.now()}`;
      const base = path.basename(file);
      for (const old of fs.readdirSync(path.dirname(file))) {
        if (old.startsWith(`${base}.broken-`)) fs.rmSync(path.join(path.dirname(file), old), { force: true });
      }
      for (const suffix of ["", "-wal", "-shm"]) {
        if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, aside + suffix);
      }
      onWarning(
        `embedding store ${file} was unusable (${(error as Error).message}); moved it to ${aside} and started a new one — embeddings will be recomputed`,
      );
      return new EmbeddingStore(file, openDatabaseWaiting(file));
    }
  }

  /**
   * A store in a folder that cannot be written is read from a private copy (SQLite cannot open
   * a WAL database on a read-only file system); nothing is moved aside, and writes go to the
   * copy, which close() removes.
   */
  static #openCopy(file: string, reason: string): EmbeddingStore {
    const copyDir = fs.mkdtempSync(path.join(os.tmpdir(), "encoder-compare-store-"));
    const copy = path.join(copyDir, path.basename(file));
    try {
      for (const suffix of ["", "-wal"]) if (fs.existsSync(file + suffix)) fs.copyFileSync(file + suffix, copy + suffix);
      const store = new EmbeddingStore(file, openDatabase(copy));
      store.readOnly = reason;
      store.#copyDir = copyDir;
      return store;
    } catch (error) {
      fs.rmSync(copyDir, { recursive: true, force: true });
      const fix = "make the folder writable or move the cache with the cacheDir option (--cache-dir)";
      const why = `cannot be read (${(error as Error).message}) and its folder cannot be written (${reason})`;
      throw new Error(`embedding store ${file} ${why}; ${fix}`, { cause: error });
    }
  }

  /**
   * Empties the store at `file` in place, holding SQLite's exclusive lock: a build, a preview
   * server or another command with the store open keeps that lock from being granted, so this
   * waits up to `waitMs` and then throws StoreInUseError, deleting nothing. Emptying (rather
   * than deleting the file) leaves no process writing to a file that is gone. A file SQLite
   * proves is not a store is deleted. Returns the vectors removed (undefined: there was no store).
   */
  static clear(file: string, waitMs: number): number | undefined {
    if (!fs.existsSync(file)) return undefined;
    let db: Database.Database | undefined;
    try {
      db = new (sqliteDatabase())(file, { timeout: waitMs, fileMustExist: true });
      db.pragma("locking_mode = EXCLUSIVE");
      db.exec("BEGIN EXCLUSIVE");
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
      const vectors = tables.includes("embeddings") ? (db.prepare("SELECT count(*) FROM embeddings").pluck().get() as number) : 0;
      for (const table of tables) db.exec(`DELETE FROM "${table.replace(/"/g, '""')}"`);
      db.exec("COMMIT");
      db.exec("VACUUM");
      return vectors;
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? "");
      if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
        throw new StoreInUseError(
          `embedding store ${file} is in use by a build, a preview server or another command (waited ${Math.round(waitMs / 1000)} s); ` +
            "stop it or let it finish, then run cache clear again — nothing was deleted",
          { cause: error },
        );
      }
      if (!CORRUPTION_CODES.test(code)) throw error;
      db?.close();
      db = undefined;
      for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(file + suffix, { force: true });
      return 0;
    } finally {
      db?.close();
    }
  }

  getVectors(encoderKey: string, sha256s: readonly string[]): Map<string, Float32Array> {
    const found = new Map<string, Float32Array>();
    if (sha256s.length >= BULK_READ_MIN) {
      // One range scan beats thousands of lookups when most of the encoder's rows are wanted.
      const total = this.countVectors(encoderKey);
      if (total <= 2 * sha256s.length) {
        const wanted = new Set(sha256s);
        const scan = this.#db.prepare("SELECT image_sha256, vector FROM embeddings WHERE encoder_key = ?").raw();
        for (const [sha, vector] of scan.iterate(encoderKey) as IterableIterator<[string, Buffer]>) {
          if (wanted.has(sha)) found.set(sha, bufferToFloats(vector));
        }
        return found;
      }
    }
    if (sha256s.length === 1) {
      const row = this.#getVector.get(encoderKey, sha256s[0]);
      if (row) found.set(sha256s[0], bufferToFloats(row.vector));
      return found;
    }
    const read = this.#db.transaction(() => {
      for (const sha of sha256s) {
        const row = this.#getVector.get(encoderKey, sha);
        if (row) found.set(sha, bufferToFloats(row.vector));
      }
    });
    read();
    return found;
  }

  /** Runs a write; a full disk or an I/O error (the transaction rolled back) becomes one line naming the folder and the space needed. */
  #write(run: () => void): void {
    try {
      run();
    } catch (error) {
      const space = storeSpaceProblem(this.file, error);
      if (space) throw new Error(space, { cause: error });
      throw error;
    }
  }

  putVectors(encoderKey: string, entries: ReadonlyArray<readonly [string, Float32Array]>): void {
    const write = this.#db.transaction(() => {
      for (const [sha, vector] of entries) {
        this.#putVector.run(encoderKey, sha, vector.length, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
      }
    });
    this.#write(write);
  }

  /**
   * A finished answer of `kind` for `scope` (a hash of what was asked: encoder, dataset folder, query image, k, …),
   * parsed, if it was computed against the dataset state `fingerprint` and carries this `version`. The caller checks
   * the rest of its shape.
   */
  recall(kind: RememberedKind, scope: string, fingerprint: string, version: number): Record<string, unknown> | undefined {
    const { table, column } = REMEMBERED_TABLES[kind];
    let get = this.#getRemembered.get(kind);
    if (!get) this.#getRemembered.set(kind, (get = this.#db.prepare(`SELECT fingerprint, ${column} AS json FROM ${table} WHERE scope = ?`)));
    const row = get.get(scope);
    if (!row || row.fingerprint !== fingerprint) return undefined;
    try {
      const entry = JSON.parse(row.json) as Record<string, unknown> | null;
      return typeof entry === "object" && entry !== null && entry.version === version ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  /** Remembers an answer (stored as JSON with its `version`); one entry per scope: the latest dataset state. */
  remember(kind: RememberedKind, scope: string, fingerprint: string, version: number, entry: object): void {
    const { table, column } = REMEMBERED_TABLES[kind];
    let put = this.#putRemembered.get(kind);
    if (!put) this.#putRemembered.set(kind, (put = this.#db.prepare(`INSERT OR REPLACE INTO ${table} (scope, fingerprint, ${column}) VALUES (?, ?, ?)`)));
    this.#write(() => put.run(scope, fingerprint, JSON.stringify({ ...entry, version })));
  }

  knownHash(filePath: string, stat: FileStat): string | undefined {
    if (!this.#hashMemo) {
      this.#hashMemo = new Map();
      const all = this.#db.prepare("SELECT path, size, mtime_ms, sha256 FROM file_hashes").raw().all() as Array<[string, number, number, string]>;
      for (const [p, size, mtimeMs, sha256] of all) this.#hashMemo.set(p, { size, mtimeMs, sha256 });
    }
    const mtimeMs = Math.trunc(stat.mtimeMs);
    const memo = this.#hashMemo.get(filePath);
    if (memo && memo.size === stat.size && memo.mtimeMs === mtimeMs) return memo.sha256;
    // Another process may have hashed it since the memo was read.
    return this.#getHash.get(filePath, stat.size, mtimeMs)?.sha256;
  }

  rememberHashes(entries: ReadonlyArray<{ path: string; stat: FileStat; sha256: string }>): void {
    const write = this.#db.transaction(() => {
      for (const e of entries) this.#putHash.run(e.path, e.stat.size, Math.trunc(e.stat.mtimeMs), e.sha256);
    });
    this.#write(write);
    for (const e of entries) this.#hashMemo?.set(e.path, { size: e.stat.size, mtimeMs: Math.trunc(e.stat.mtimeMs), sha256: e.sha256 });
  }

  countVectors(encoderKey?: string): number {
    const row = encoderKey
      ? (this.#db.prepare("SELECT count(*) AS n FROM embeddings WHERE encoder_key = ?").get(encoderKey) as { n: number })
      : (this.#db.prepare("SELECT count(*) AS n FROM embeddings").get() as { n: number });
    return row.n;
  }

  /** Vectors per encoder key, largest first (for `cache stats`). */
  countsByEncoderKey(): Array<{ encoderKey: string; vectors: number; dim: number }> {
    return this.#db
      .prepare("SELECT encoder_key AS encoderKey, count(*) AS vectors, max(dim) AS dim FROM embeddings GROUP BY encoder_key ORDER BY vectors DESC, encoder_key")
      .all() as Array<{ encoderKey: string; vectors: number; dim: number }>;
  }

  close(): void {
    this.#db.close();
    if (this.#copyDir) fs.rmSync(this.#copyDir, { recursive: true, force: true });
  }
}

/** The better-sqlite3 constructor, loaded on first use. */
function sqliteDatabase(): typeof Database {
  return (sqlite ??= createRequire(import.meta.url)("better-sqlite3") as typeof Database);
}

/**
 * openDatabase, tried again while another process holds the file: SQLite answers some lock waits at once instead of
 * through its busy timeout (switching a new file to WAL is one), so two builds opening one new store together must
 * not fail the second. Waits grow from 20 ms to 0.5 s, up to the busy timeout in all.
 */
function openDatabaseWaiting(file: string): Database.Database {
  const deadline = Date.now() + DEFAULTS.store.busyTimeoutMs;
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    try {
      return openDatabase(file);
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? "");
      if (!/^SQLITE_(BUSY|LOCKED)/.test(code) || Date.now() + wait > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
    }
  }
}

function openDatabase(file: string): Database.Database {
  const db = new (sqliteDatabase())(file, { timeout: DEFAULTS.store.busyTimeoutMs });
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    // The schema is read and written in one transaction that takes the write lock up front. In WAL mode a statement
    // that reads and then writes fails at once (SQLITE_BUSY, no waiting) when another process committed in between,
    // as when two builds open a new store together; BEGIN IMMEDIATE waits for the lock (the timeout above) instead.
    db.transaction(() => {
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version === 0) {
        db.exec(`
          CREATE TABLE IF NOT EXISTS embeddings (
            encoder_key TEXT NOT NULL, image_sha256 TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,
            PRIMARY KEY (encoder_key, image_sha256)) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS file_hashes (
            path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ms INTEGER NOT NULL, sha256 TEXT NOT NULL);
        `);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      } else if (version !== SCHEMA_VERSION) {
        throw new SchemaMismatch(`schema version ${version}, this version of encoder-compare uses ${SCHEMA_VERSION}`);
      }
      // Added within schema 1 (older versions of the plugin ignore it): finished query results.
      db.exec(`CREATE TABLE IF NOT EXISTS query_results (
        scope TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL) WITHOUT ROWID;`);
      // Likewise: finished encoderEval reports.
      db.exec(`CREATE TABLE IF NOT EXISTS eval_reports (
        scope TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, report TEXT NOT NULL) WITHOUT ROWID;`);
      // Likewise: finished map layouts.
      db.exec(`CREATE TABLE IF NOT EXISTS map_layouts (
        scope TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, layout TEXT NOT NULL) WITHOUT ROWID;`);
    }).immediate();
    db.prepare("SELECT 1 FROM embeddings LIMIT 1").all();
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** From this many wanted vectors on, getVectors considers one scan of the encoder's rows. */
const BULK_READ_MIN = 512;

function bufferToFloats(buffer: Buffer): Float32Array {
  // Copy: SQLite's buffer may not be 4-byte aligned.
  const out = new Float32Array(buffer.byteLength / 4);
  new Uint8Array(out.buffer).set(buffer);
  return out;
}
