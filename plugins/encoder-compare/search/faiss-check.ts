// A faiss index we did not write is parsed first in a child process: faiss trusts the bytes it
// reads, and a damaged entry point or level count makes it crash (SIGSEGV, abort) rather than
// throw, which would take the whole build down with no message. The child reads the exact bytes
// the caller is about to parse and runs a few searches; the verdict is remembered by the bytes'
// sha256 (in this process, and for good files on disk), so each distinct file costs one child.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { writeFileAtomicSync } from "../base/atomic-write.ts";

/** Time for the child: starting node and faiss, plus reading the index at a slow disk's pace. */
const CHECK_BASE_MS = 30_000;
const CHECK_MS_PER_MIB = 100;

/** The child: reads the index from stdin, asks its size and searches with a few unit vectors; prints "ok". */
const CHILD = `
const faiss = require(process.argv[1]);
const index = faiss.Index.fromBuffer(require("node:fs").readFileSync(0));
const dim = index.getDimension();
const rows = index.ntotal();
if (!(dim > 0) || rows < 0) throw new Error("index reports dimension " + dim + " and " + rows + " rows");
if (rows > 0) for (let q = 0; q < Math.min(dim, 4); q++) {
  const query = new Array(dim).fill(0);
  query[q] = 1;
  index.search(query, Math.min(rows, 10));
}
process.stdout.write("ok");
`;

export class FaissCheckError extends Error {}

const verdicts = new Map<string, string | undefined>();

/** Why faiss cannot safely parse `bytes`, or undefined when a child parsed and searched them. */
function childVerdict(bytes: Buffer): string | undefined {
  let addon: string;
  try {
    addon = createRequire(import.meta.url).resolve("faiss-node");
  } catch (error) {
    return `faiss-node cannot be found (${(error as Error).message.split("\n")[0]})`;
  }
  const timeout = CHECK_BASE_MS + Math.ceil(bytes.length / (1 << 20)) * CHECK_MS_PER_MIB;
  const child = spawnSync(process.execPath, ["-e", CHILD, addon], {
    input: bytes,
    timeout,
    killSignal: "SIGKILL",
    encoding: "utf8",
    maxBuffer: 1 << 20,
    env: { ...process.env, OMP_NUM_THREADS: "1", NODE_OPTIONS: "" },
  });
  const code = (child.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ETIMEDOUT") return `faiss did not finish reading it within ${Math.round(timeout / 1000)} s`;
  if (child.error) return `the check could not run (${child.error.message})`;
  if (child.signal) return `faiss crashed reading it (${child.signal})`;
  if (child.status === 0 && child.stdout === "ok") return undefined;
  const lines = child.stderr.split("\n");
  const thrown = lines.find((line) => /^(Error|RangeError|TypeError)\b|Error in /.test(line)) ?? lines.filter(Boolean).pop();
  return `faiss refused it (${(thrown ?? `exit ${child.status}`).replace(/^Error: /, "").slice(0, 300)})`;
}

/** The key verdicts are remembered by; the caller keeps it as the bytes' identity. */
export function faissBytesSha256(bytes: Buffer): string {
  return crypto.createHash("sha256").update(bytes).digest("hex");
}

/**
 * Throws FaissCheckError naming `file` unless faiss parsed and searched these exact bytes (whose
 * faissBytesSha256 is `sha`) in a child process. `verdictDir` (a cache folder) remembers good
 * files across processes.
 */
export function checkFaissBytes(file: string, bytes: Buffer, sha: string, verdictDir?: string): void {
  const marker = verdictDir ? path.join(verdictDir, `${sha}.ok`) : undefined;
  if (!verdicts.has(sha) && marker && fs.existsSync(marker)) verdicts.set(sha, undefined);
  if (!verdicts.has(sha)) {
    const verdict = childVerdict(bytes);
    verdicts.set(sha, verdict);
    if (!verdict && marker) {
      try {
        fs.mkdirSync(verdictDir!, { recursive: true });
        writeFileAtomicSync(marker, `${file}\n`);
      } catch {
        // Only a memo: the next process checks again.
      }
    }
  }
  const reason = verdicts.get(sha);
  if (reason) {
    throw new FaissCheckError(
      `faiss index ${file} is damaged or not a faiss index: ${reason}; re-create it (autofaiss, \`clip-retrieval index\`) or remove the index option`,
    );
  }
}
