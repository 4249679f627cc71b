// How a download shows itself: an updating line on a terminal, else one log line when it starts and one when it ends.
import { displayUrl } from "../base/url-policy.ts";

export interface ProgressSettings {
  /** "auto" (default): an updating line when stderr is a TTY, else `log` lines. */
  mode?: "auto" | "tty" | "none";
  log?: (line: string) => void;
  /** Where the updating line goes (default stderr). */
  output?: { write(chunk: string): unknown };
}

export interface Progress {
  update(received: number): void;
  stop(completed: boolean): void;
}

export function startProgress(label: string, url: URL, settings: ProgressSettings, offset: number, total: number | undefined): Progress {
  const mode = settings.mode ?? "auto";
  const tty = mode === "tty" || (mode === "auto" && process.stderr.isTTY === true);
  const started = Date.now();
  const speed = (received: number) => (received - offset) / Math.max((Date.now() - started) / 1000, 0.001);

  if (mode !== "none" && !tty) {
    const size = total !== undefined ? ` (${formatMB(total)})` : "";
    const from = offset > 0 ? `, resuming at ${formatMB(offset)}` : "";
    settings.log?.(`${label}: downloading${size} from ${displayUrl(url)}${from}`);
    let received = offset;
    return {
      update(bytes) {
        received = bytes;
      },
      stop(completed) {
        if (!completed) return;
        const seconds = (Date.now() - started) / 1000;
        settings.log?.(
          `${label}: downloaded ${formatMB(received)} in ${seconds.toFixed(1)} s (${formatMB(speed(received))}/s)`,
        );
      },
    };
  }
  if (!tty) return { update() {}, stop() {} };

  const out = settings.output ?? process.stderr;
  let lastDraw = 0;
  let last = offset;
  const draw = (received: number) => {
    const rate = speed(received);
    const parts = [label];
    if (total) parts.push(`${((100 * received) / total).toFixed(1).padStart(5)}%`);
    parts.push(`${formatMB(received)}${total ? ` / ${formatMB(total)}` : ""}`, `${formatMB(rate)}/s`);
    if (total && rate > 0) parts.push(`ETA ${formatDuration((total - received) / rate)}`);
    out.write(`\r${parts.join("  ")}\x1b[K`);
  };
  draw(offset);
  return {
    update(received) {
      last = received;
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      draw(received);
    },
    stop() {
      draw(last);
      out.write("\n");
    },
  };
}

export function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
