// Progress of long work (embedding a dataset): one redrawn line with images/s and ETA on a
// terminal, a plain line every few seconds elsewhere (CI logs), nothing when quiet.
import { prefixed } from "./logger.ts";

export interface ProgressOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface ProgressTask {
  update(done: number): void;
  end(): void;
}

export type ProgressFactory = (label: string, total: number) => ProgressTask;

export interface ProgressOptions {
  output?: ProgressOutput;
  /** No progress at all; a function is asked each time work starts (Eleventy sets --quiet late). */
  quiet?: boolean | (() => boolean);
  /** Work smaller than this shows no progress at all. */
  minTotal?: number;
  /** Seconds between plain lines when the output is not a terminal. */
  plainIntervalSeconds?: number;
  now?: () => number;
}

const NO_PROGRESS: ProgressTask = { update() {}, end() {} };

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

export function progressLine(label: string, done: number, total: number, elapsedSeconds: number): string {
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const eta = rate > 0 ? (total - done) / rate : Infinity;
  const percent = total ? Math.floor((done / total) * 100) : 100;
  return prefixed(`${label}: ${done}/${total} images (${percent} %) · ${rate.toFixed(1)} img/s · ETA ${formatDuration(eta)}`);
}

export function createProgress(options: ProgressOptions = {}): ProgressFactory {
  const output = options.output ?? process.stderr;
  const now = options.now ?? (() => performance.now() / 1000);
  const minTotal = options.minTotal ?? 32;
  const interval = options.plainIntervalSeconds ?? 10;
  return (label, total) => {
    const quiet = typeof options.quiet === "function" ? options.quiet() : options.quiet;
    if (quiet || total < minTotal) return NO_PROGRESS;
    const started = now();
    let lastDraw = -Infinity;
    let lastLength = 0;
    return {
      update(done) {
        const t = now();
        if (output.isTTY) {
          if (t - lastDraw < 0.1 && done < total) return;
          const line = progressLine(label, done, total, t - started);
          output.write(`\r${line}${" ".repeat(Math.max(0, lastLength - line.length))}`);
          lastLength = line.length;
        } else {
          if (t - lastDraw < interval || done >= total) return;
          output.write(progressLine(label, done, total, t - started) + "\n");
        }
        lastDraw = t;
      },
      end() {
        if (output.isTTY && lastLength > 0) output.write(`\r${" ".repeat(lastLength)}\r`);
      },
    };
  };
}
