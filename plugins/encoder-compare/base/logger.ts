// The one owner of what the plugin says in the terminal: the "[encoder-compare]" prefix, warning / info / summary
// lines (through Eleventy's logger when there is one), terminal escaping of every message, and DEBUG lines.
// Messages are written without the prefix; the lines and errors made here add it, once.
import { createRequire } from "node:module";
import { terminalText } from "./terminal-text.ts";

const PREFIX = "[encoder-compare]";

/** The part of Eleventy's logger used here (Eleventy 3 ships no types). */
export interface EleventyLoggerLike {
  logWithOptions?: (o: { message: string; prefix?: string; type?: string; color?: string; force?: boolean }) => void;
}

export interface Logger {
  info(text: string): void;
  warn(text: string): void;
}

/** `text` as one line of this plugin's output: prefixed, control characters escaped (line breaks kept when asked). */
export function prefixed(text: string, keepLineBreaks = false): string {
  return `${PREFIX} ${terminalText(text, keepLineBreaks)}`;
}

/** An error whose message is a prefixed line; `detail` is the same text without the prefix, for a page's error box. */
export class PrefixedError extends Error {
  readonly detail: string;
  constructor(detail: string, options?: ErrorOptions) {
    super(`${PREFIX} ${detail}`, options);
    this.detail = detail;
  }
}

/** Info and warnings through Eleventy's logger (read when a line is written: Eleventy sets it up late), else the console. */
export function createLogger(eleventyLogger: () => EleventyLoggerLike | undefined = () => undefined): Logger {
  const log = (text: string, type: "info" | "warn") => {
    const message = terminalText(text);
    const target = eleventyLogger();
    if (target?.logWithOptions) {
      target.logWithOptions({ message, prefix: PREFIX, type, color: type === "warn" ? "yellow" : undefined, force: type === "warn" });
    } else {
      console[type === "warn" ? "warn" : "log"](`${PREFIX} ${message}`);
    }
  };
  return { info: (text) => log(text, "info"), warn: (text) => log(text, "warn") };
}

interface Debugger {
  (formatter: string, ...args: unknown[]): void;
  enabled: boolean;
}

// Eleventy's own convention: DEBUG=encoder-compare* (or DEBUG=encoder-compare:search) turns these lines on.
// Loaded on the first line written, not when a site's config imports the plugin (Eleventy has loaded it by then).
let createDebug: ((namespace: string) => Debugger) | undefined;

export type DebugArea = "engine" | "dataset" | "models" | "search";

/** A DEBUG line writer for `encoder-compare:<area>`; the message is built only when that namespace is on. */
export function debugLog(area: DebugArea): (message: () => string) => void {
  let write: Debugger | undefined;
  return (message) => {
    write ??= (createDebug ??= createRequire(import.meta.url)("debug") as (namespace: string) => Debugger)(`encoder-compare:${area}`);
    if (write.enabled) write("%s", terminalText(message()));
  };
}
