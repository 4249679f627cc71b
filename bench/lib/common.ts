// Shared helpers for the benchmarks: seeded random numbers, timing, synthetic data, and the one
// results table every suite prints. Benchmarks print figures; they never assert on timings.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Everything the benchmarks generate (datasets, sites, models, stores) lives here. */
export const BENCH_CACHE = path.join(ROOT, ".cache/bench");

export interface Row {
  goal: string;
  metric: string;
  value: string;
  /** Target and whether it is met, e.g. "≥ 0.85 ✓". */
  target?: string;
  note?: string;
}

import { seededRandom } from "../../test/support/prng.ts";

export { seededRandom };

export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * n unit vectors clustered like real embeddings: `clusters` random centres, each vector a centre
 * plus gaussian noise (uniformly random directions in 512-d are a worst case no encoder produces).
 */
export function clusteredVectors(n: number, dim: number, seed: number, clusters = 1000, noise = 0.8): Float32Array {
  const random = seededRandom(seed);
  const centres = new Float32Array(clusters * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = gaussian(random);
  const out = new Float32Array(n * dim);
  for (let row = 0; row < n; row++) {
    const c = Math.floor(random() * clusters) * dim;
    let squared = 0;
    for (let j = 0; j < dim; j++) {
      const v = centres[c + j] + noise * gaussian(random);
      out[row * dim + j] = v;
      squared += v * v;
    }
    const inv = 1 / Math.sqrt(squared);
    for (let j = 0; j < dim; j++) out[row * dim + j] *= inv;
  }
  return out;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export async function time<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

export function fmt(value: number, digits = 1): string {
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function check(ok: boolean, target: string): string {
  return `${target} ${ok ? "✓" : "✗"}`;
}

/** Prints rows as a fixed-width table. */
export function printTable(rows: Row[], out: NodeJS.WritableStream = process.stdout): void {
  const header = { goal: "goal", metric: "metric", value: "value", target: "target", note: "note" };
  const all = [header, ...rows.map((r) => ({ ...r, target: r.target ?? "", note: r.note ?? "" }))];
  const widths = (["goal", "metric", "value", "target"] as const).map((key) => Math.max(...all.map((r) => String(r[key]).length)));
  const line = (r: (typeof all)[number]) =>
    [r.goal.padEnd(widths[0]), r.metric.padEnd(widths[1]), r.value.padStart(widths[2]), r.target.padEnd(widths[3]), r.note].join("  ").trimEnd();
  out.write(line(all[0]) + "\n" + widths.map((w) => "-".repeat(w)).join("  ") + "  ----\n");
  for (const r of all.slice(1)) out.write(line(r) + "\n");
}

const RESULT_MARK = "@@bench-rows ";

/** How a suite hands its rows to bench/run.ts (or prints them when run on its own). */
export function report(rows: Row[]): void {
  if (process.env.BENCH_CHILD) process.stdout.write(RESULT_MARK + JSON.stringify(rows) + "\n");
  else printTable(rows);
}

/** Runs a suite file in a fresh Node process (tsx loader); returns its rows. */
export function runSuite(file: string, env: NodeJS.ProcessEnv = {}): { rows: Row[]; ok: boolean; output: string } {
  const child = spawnSync(process.execPath, ["--import", "tsx", file], {
    cwd: ROOT,
    env: { ...process.env, ...env, BENCH_CHILD: "1" },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = `${child.stdout ?? ""}${child.stderr ?? ""}`;
  const rows: Row[] = [];
  for (const line of (child.stdout ?? "").split("\n")) if (line.startsWith(RESULT_MARK)) rows.push(...(JSON.parse(line.slice(RESULT_MARK.length)) as Row[]));
  return { rows, ok: child.status === 0, output };
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function ensureDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export const QUICK = process.env.BENCH_QUICK === "1";

/**
 * Peak resident memory of this process in MiB: VmHWM from /proc (process.resourceUsage().maxRSS
 * of a spawned child can report its parent's size at fork time on Linux).
 */
export function peakRssMb(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
