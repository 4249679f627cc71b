// The ANN graph on disk, so a new process (the next `npm run build`) does not rebuild an HNSW
// graph that took minutes: <dir>/<name>.json names the graph file (faiss's own format,
// <name>-<generation>.faiss) and lists the image sha256 of each graph label (null for removed
// ones). A new graph file is written first, then the JSON is swapped in atomically, then the old
// graph is deleted, so a crash never pairs a graph with the wrong labels. Anything missing or
// unreadable just means "build from scratch". faiss parses the graph natively and a damaged one
// can crash the process, so the JSON records the graph's sha256 and only those exact bytes are
// handed back: a graph changed on disk (same length or not) is rebuilt, never parsed.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomicSync } from "../base/atomic-write.ts";

const FORMAT = 2;

export interface AnnSnapshot {
  graph: Buffer;
  labels: Array<string | null>;
}

export function annCacheName(parts: readonly string[]): string {
  return `ann-${crypto.createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 24)}`;
}

const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex");

/** The snapshot, or undefined (nothing cached, an older format); `onDamaged` hears of a graph whose bytes are not the ones written. */
export function readAnnSnapshot(dir: string, name: string, onDamaged: (message: string) => void = () => {}): AnnSnapshot | undefined {
  try {
    type Meta = { format?: number; labels?: unknown; graphBytes?: number; graphFile?: unknown; graphSha256?: unknown };
    const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), "utf8")) as Meta;
    if (meta.format !== FORMAT || !Array.isArray(meta.labels) || typeof meta.graphFile !== "string" || meta.graphFile.includes("/")) return undefined;
    const graph = fs.readFileSync(path.join(dir, meta.graphFile));
    if (graph.length !== meta.graphBytes || typeof meta.graphSha256 !== "string" || sha256(graph) !== meta.graphSha256) {
      onDamaged(`the cached ANN index ${path.join(dir, meta.graphFile)} is not the file written (its checksum differs); rebuilding it`);
      return undefined;
    }
    return { graph, labels: meta.labels as Array<string | null> };
  } catch {
    return undefined;
  }
}

export function writeAnnSnapshot(dir: string, name: string, snapshot: AnnSnapshot): void {
  fs.mkdirSync(dir, { recursive: true });
  const old = fs.readdirSync(dir).filter((f) => f.startsWith(`${name}-`) && f.endsWith(".faiss"));
  const graphFile = `${name}-${Date.now().toString(36)}${process.pid.toString(36)}.faiss`;
  const graphSha256 = sha256(snapshot.graph);
  const meta = JSON.stringify({ format: FORMAT, graphFile, graphBytes: snapshot.graph.length, graphSha256, labels: snapshot.labels });
  writeFileAtomicSync(path.join(dir, graphFile), snapshot.graph, { sidecar: { file: path.join(dir, `${name}.json`), data: meta } });
  for (const f of old) fs.rmSync(path.join(dir, f), { force: true });
}
