// Page-level stand-in data for layouts: which encoders a page's shortcodes ask for (read from its
// source, so the data exists before anything renders and listings can use it in any order), and
// whether any of them runs as a stand-in in this build. Exposed as computed data `encoderStandIns`.
import type { StandingInFor } from "../render/encoder-run.ts";
import { standInNotice } from "../render/encoder-run.ts";
import { readPageSource, shortcodeTags, type ShortcodeTag } from "./page-source.ts";

const ENCODERS_KEYWORD = /\bencoders\s*=\s*(\[[^\]]*\]|"[^"]*"|'[^']*')/;
/** encoderName's encoder: its first argument, a quoted id. */
const FIRST_QUOTED = /^\s*(?:"([^"]*)"|'([^']*)')/;

/** The encoders one tag asks for: its `encoders=` keyword; encoderName's id; else the defaults. */
function encodersOfTag({ name, body }: ShortcodeTag, defaults: readonly string[]): readonly string[] {
  const keyword = ENCODERS_KEYWORD.exec(body)?.[1];
  if (keyword) return [...keyword.matchAll(/[A-Za-z0-9][\w.-]*/g)].map((m) => m[0]);
  if (name === "encoderName") {
    const first = FIRST_QUOTED.exec(body);
    return first ? [first[1] ?? first[2]] : [];
  }
  return defaults;
}

/** Encoder ids a page's shortcodes use: their `encoders=` keyword (encoderName: the id it names), else the page's or the plugin's default. */
export function encodersInSource(source: string, defaults: readonly string[], known: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const tag of shortcodeTags(source)) {
    for (const id of encodersOfTag(tag, defaults)) if (known.includes(id)) ids.add(id);
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
  options: {
    projectRoot: string;
    defaults: readonly string[];
    known: readonly string[];
    standInOf: (id: string) => Promise<StandingInFor | undefined>;
  },
): Promise<PageStandIns | undefined> {
  if (!inputPath || !/\.(md|njk|html|liquid)$/.test(inputPath)) return undefined;
  let source: string;
  try {
    source = readPageSource(inputPath, options.projectRoot);
  } catch {
    // A page the checked reader refuses (outside the project, over the size cap) or cannot read has no tags to show.
    return undefined;
  }
  const fromPage = (pageDefaults as { encoders?: unknown } | undefined)?.encoders;
  const defaults = Array.isArray(fromPage) ? fromPage.filter((id): id is string => typeof id === "string") : options.defaults;
  const ids = encodersInSource(source, defaults, options.known);
  // An encoder that cannot run at all fails its shortcode with the full message; the page data stays quiet.
  const standIns = await Promise.all(ids.map((id) => options.standInOf(id).catch(() => undefined)));
  return standInNotice(standIns.filter((s): s is StandingInFor => s !== undefined));
}
