// Page-level stand-in data for layouts: which encoders a page's shortcodes ask for (read from its
// source, so the data exists before anything renders and listings can use it in any order), and
// whether any of them runs as a stand-in in this build. Exposed as computed data `encoderStandIns`.
import fs from "node:fs";
import type { StandingInFor } from "../render/encoder-run.ts";
import { standInNotice } from "../render/encoder-run.ts";

const SHORTCODE = /<%-?\s*encoder(?:Compare|Eval|Scoreboard)\b([\s\S]*?)-?%>/g;
const ENCODERS_KEYWORD = /\bencoders\s*=\s*(\[[^\]]*\]|"[^"]*"|'[^']*')/;

/** Encoder ids a page's shortcodes use: their `encoders=` keyword, else the page's or the plugin's default. */
export function encodersInSource(source: string, defaults: readonly string[], known: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const [, args] of source.matchAll(SHORTCODE)) {
    const keyword = ENCODERS_KEYWORD.exec(args)?.[1];
    const listed = keyword ? [...keyword.matchAll(/[A-Za-z0-9][\w.-]*/g)].map((m) => m[0]) : defaults;
    for (const id of listed) if (known.includes(id)) ids.add(id);
  }
  return [...ids];
}

export interface PageStandIns {
  /** One sentence for a banner, a listing mark or the meta description. */
  text: string;
  /** Technical reasons, for a title attribute or a details element. */
  detail: string;
  /** Ids of the encoders replaced by stand-ins. */
  encoders: string[];
}

export async function pageStandIns(
  inputPath: string | undefined,
  pageDefaults: unknown,
  options: { defaults: readonly string[]; known: readonly string[]; standInOf: (id: string) => Promise<StandingInFor | undefined> },
): Promise<PageStandIns | undefined> {
  if (!inputPath || !/\.(md|njk|html|liquid)$/.test(inputPath)) return undefined;
  let source: string;
  try {
    source = fs.readFileSync(inputPath, "utf8");
  } catch {
    return undefined;
  }
  const fromPage = (pageDefaults as { encoders?: unknown } | undefined)?.encoders;
  const defaults = Array.isArray(fromPage) ? fromPage.filter((id): id is string => typeof id === "string") : options.defaults;
  const ids = encodersInSource(source, defaults, options.known);
  // An encoder that cannot run at all fails its shortcode with the full message; the page data stays quiet.
  const standIns = await Promise.all(ids.map((id) => options.standInOf(id).catch(() => undefined)));
  return standInNotice(standIns.filter((s): s is StandingInFor => s !== undefined));
}
