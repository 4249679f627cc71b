// A lock across processes: one file created exclusively, naming its holder, kept fresh while held.
import { randomBytes } from "node:crypto";
import { readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { processAlive } from "./process-alive.ts";
import { isCode } from "./file-helpers.ts";

export interface LockHolder {
  pid: number;
  hostname: string;
  token: string;
  createdAt: string;
}

export interface LockOptions {
  staleMs: number;
  pollMs: number;
  signal: AbortSignal;
  onWait?: (holder: LockHolder | undefined) => void;
}

/**
 * Creates `lockPath` exclusively ("wx"), waiting while another live process holds it. A lock
 * whose mtime is older than staleMs, or whose pid is dead on this host, is taken over. The
 * holder touches the file periodically so a long download does not look stale.
 */
export async function acquireExclusiveLock(lockPath: string, options: LockOptions): Promise<() => Promise<void>> {
  const mine: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    token: randomBytes(8).toString("hex"),
    createdAt: new Date().toISOString(),
  };
  const content = JSON.stringify(mine);
  let announced = false;
  for (;;) {
    options.signal.throwIfAborted();
    try {
      await writeFile(lockPath, content, { flag: "wx" });
      break;
    } catch (error) {
      if (!isCode(error, "EEXIST")) throw error;
    }
    const seen = await readLock(lockPath);
    if (!seen) continue; // released in between
    if (isStale(seen, options.staleMs)) {
      await removeIfUnchanged(lockPath, seen.content);
      continue;
    }
    if (!announced) {
      announced = true;
      options.onWait?.(seen.holder);
    }
    await sleep(options.pollMs, undefined, { signal: options.signal });
  }

  const heartbeat = setInterval(
    () => {
      const now = new Date();
      utimes(lockPath, now, now).catch(() => undefined);
    },
    Math.max(50, Math.floor(options.staleMs / 3)),
  );
  heartbeat.unref();
  return async () => {
    clearInterval(heartbeat);
    await removeIfUnchanged(lockPath, content);
  };
}

async function readLock(lockPath: string): Promise<{ content: string; mtimeMs: number; holder?: LockHolder } | undefined> {
  try {
    const [content, stats] = await Promise.all([readFile(lockPath, "utf8"), stat(lockPath)]);
    let holder: LockHolder | undefined;
    try {
      holder = JSON.parse(content) as LockHolder;
    } catch {
      holder = undefined; // being written right now, or garbage: judged by age alone
    }
    return { content, mtimeMs: stats.mtimeMs, holder };
  } catch (error) {
    if (isCode(error, "ENOENT")) return undefined;
    throw error;
  }
}

function isStale(seen: { mtimeMs: number; holder?: LockHolder }, staleMs: number): boolean {
  if (Date.now() - seen.mtimeMs > staleMs) return true;
  const holder = seen.holder;
  return !!holder && holder.hostname === hostname() && typeof holder.pid === "number" && !processAlive(holder.pid);
}

async function removeIfUnchanged(lockPath: string, expected: string): Promise<void> {
  // Re-read just before removing so a lock another process has meanwhile re-created survives.
  const current = await readFile(lockPath, "utf8").catch(() => undefined);
  if (current === expected) await rm(lockPath, { force: true });
}
