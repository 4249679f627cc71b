// `npm run bench`: every benchmark suite, each in its own process, then one table.
//   npm run bench                      all suites (a few minutes)
//   npm run bench -- --quick           fewer configurations and repetitions
//   npm run bench -- --only=encode,scale
//   npm run bench -- --scale-1m        adds the opt-in cluster suite (1M vectors, IVF-PQ; builds its data once, minutes)
// Suites: encode (embedding throughput), incremental (one changed image), scale (search at size), preview (the
// preview server's rebuild), tryit (the in-page widget), warm (warm builds, real-size graphs), map (encoderMap: layout
// time, SVG bytes), int8 (int8 vs fp32, batch per model). Figures are printed, never asserted; the target column says
// whether each goal is met on this machine.
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { faissStatus, simdKernelAvailable } from "../plugins/encoder-compare/search/index.ts";
import { log, printTable, ROOT, type Row } from "./lib/common.ts";

const SUITES: Record<string, { file: string; flags?: string[] }> = {
  encode: { file: "bench/encode.bench.ts" },
  incremental: { file: "bench/incremental.bench.ts" },
  preview: { file: "bench/preview.bench.ts" },
  scale: { file: "bench/scale.bench.ts", flags: ["--expose-gc"] },
  tryit: { file: "bench/try-it.bench.ts" },
  int8: { file: "bench/int8.bench.ts" },
  warm: { file: "bench/warm.bench.ts" },
  map: { file: "bench/map.bench.ts" },
};
/** Opt-in: needs ~1.1 GB of disk under .cache/bench-cluster and minutes of python3-faiss the first time. */
const OPT_IN: Record<string, { file: string; flags?: string[] }> = { cluster: { file: "bench/cluster.bench.ts" } };

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
if (args.includes("--scale-1m") || only?.includes("cluster")) Object.assign(SUITES, OPT_IN);
for (const name of only ?? []) if (!SUITES[name]) throw new Error(`unknown suite "${name}"; suites: ${Object.keys(SUITES).join(", ")}`);

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const faiss = faissStatus();
const header = [
  `machine: ${os.availableParallelism()} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  `faiss: ${faiss.available ? "available" : faiss.reason}; wasm SIMD kernel: ${simdKernelAvailable() ? "yes" : "no"}`,
  `load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}${os.loadavg()[0] > 0.5 ? " (other work is running: timings are noisy)" : ""}`,
];
const rows: Row[] = [];
const failures: string[] = [];
const started = performance.now();
for (const [name, suite] of Object.entries(SUITES)) {
  if (only && !only.includes(name)) continue;
  log(`suite ${name} …`);
  const suiteStarted = performance.now();
  const child = spawnSync(process.execPath, [...(suite.flags ?? []), "--import", "tsx", path.join(ROOT, suite.file)], {
    cwd: ROOT,
    env: { ...process.env, BENCH_CHILD: "1", ...(quick ? { BENCH_QUICK: "1" } : {}) },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const line of child.stdout.split("\n")) if (line.startsWith("@@bench-rows ")) rows.push(...(JSON.parse(line.slice(13)) as Row[]));
  if (child.status !== 0) failures.push(`${name} (exit ${child.status}): ${child.stdout.split("\n").filter((l) => !l.startsWith("@@")).slice(-20).join("\n")}`);
  log(`suite ${name}: ${((performance.now() - suiteStarted) / 1000).toFixed(0)} s`);
}
process.stdout.write(`\n${header.join("\n")}\n\n`);
printTable(rows);
process.stdout.write(`\n${rows.length} figures in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
if (failures.length) {
  process.stdout.write(`\nsuites that failed:\n${failures.join("\n")}\n`);
  process.exitCode = 1;
}
