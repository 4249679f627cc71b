// The one place that turns "which encoder ran, and what it stands in for" into words. Every
// surface (tables, captions, chart text, rankOf lines, CLI text and JSON, page banners) takes its
// strings from here, so a stand-in's figures never sit under a real model's name alone: what ran
// leads, what it stands in for follows. Pure.
import type { ModelUnavailableKind } from "../models/model-file.ts";
import { escapeHtml } from "./escape.ts";

export interface EncoderName {
  id: string;
  label: string;
}

export interface StandingInFor extends EncoderName {
  /** Why the model was unavailable: what the reader is told (plainReason). */
  kind: ModelUnavailableKind;
  /** The same in the loader's technical words (build log, title attribute, JSON detail). */
  reason: string;
}

/** One encoder run: the encoder that produced the figures, and the encoders it replaced. */
export interface EncoderRun {
  ran: EncoderName;
  /** Empty when the encoder ran as itself only. */
  standingInFor: StandingInFor[];
  /** The encoder was also asked for by its own name (a merged row: "pixels, also standing in for CLIP"). */
  alsoAsItself?: boolean;
}

export interface RunDisplay {
  /** Id of the encoder that ran. */
  id: string;
  /** Label of the encoder that ran, e.g. "pixels (16×16 thumbnail)". */
  label: string;
  /** "stand-in for CLIP ViT-B/32", "also standing in for …", or "" for a real run. */
  mark: string;
  /** Label and mark as one phrase, e.g. "pixels (16×16 thumbnail), stand-in for CLIP ViT-B/32". */
  name: string;
  /** Ids only, for narrow places (chart labels, terminal columns): "pixels (stand-in for clip-vit-b32)". */
  shortName: string;
  /** Why the stand-in ran, in plain words; "" for a real run. */
  reason: string;
  /** The technical reason(s), for a title attribute or the log; "" for a real run. */
  detail: string;
  /** `<span class="ec-encoder">label</span>` plus the mark with the detail as its title. */
  html: string;
}

const DOWNLOAD_FAILED = "the model could not be downloaded";

/** Why a stand-in ran, in words a reader understands: one phrase per kind of failure, the same on every surface. */
const PLAIN_REASONS: Record<ModelUnavailableKind, string> = {
  "offline-not-cached": "the build ran offline and the model was not in the cache",
  "offline-cache-unusable": "the build ran offline and the cached model file could not be used",
  unreachable: "the model hub could not be reached",
  "http-status": "the model hub did not serve the file",
  "checksum-mismatch": "the downloaded model did not match its pinned checksum",
  "cache-unwritable": "the model cache could not be written",
  unreadable: "the model file could not be read",
  "refused-url": DOWNLOAD_FAILED,
  "too-many-redirects": DOWNLOAD_FAILED,
  "too-large": DOWNLOAD_FAILED,
  "too-slow": DOWNLOAD_FAILED,
  "connection-lost": DOWNLOAD_FAILED,
  "invalid-file": DOWNLOAD_FAILED,
  "unsafe-graph": DOWNLOAD_FAILED,
  "conversion-failed": DOWNLOAD_FAILED,
};

/** A stand-in reason from the model loader, in words a reader understands. */
export function plainReason(kind: ModelUnavailableKind): string {
  return PLAIN_REASONS[kind];
}

/** A stand-in in the CLI's JSON (query and eval alike): the model it stands in for, why in words, the loader's own reason. */
export function standingInForJson(s: StandingInFor): { encoderId: string; label: string; reason: string; detail: string } {
  return { encoderId: s.id, label: s.label, reason: plainReason(s.kind), detail: s.reason };
}

function joinWords(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

export function describeRun(run: EncoderRun): RunDisplay {
  const { ran, standingInFor } = run;
  if (standingInFor.length === 0) {
    const html = `<span class="ec-encoder">${escapeHtml(ran.label)}</span>`;
    return { id: ran.id, label: ran.label, mark: "", name: ran.label, shortName: ran.id, reason: "", detail: "", html };
  }
  const lead = run.alsoAsItself ? "also standing in for" : "stand-in for";
  const mark = `${lead} ${joinWords(standingInFor.map((s) => s.label))}`;
  const reason = joinWords(unique(standingInFor.map((s) => plainReason(s.kind))));
  const detail = unique(standingInFor.map((s) => `${s.label}: ${s.reason}`)).join("; ");
  return {
    id: ran.id,
    label: ran.label,
    mark,
    name: `${ran.label}, ${mark}`,
    shortName: `${ran.id} (${lead} ${standingInFor.map((s) => s.id).join(", ")})`,
    reason,
    detail,
    html:
      `<span class="ec-encoder">${escapeHtml(ran.label)}</span> ` +
      `<span class="ec-standin" title="${escapeHtml(`${reason} (${detail})`)}">${escapeHtml(mark)}</span>`,
  };
}

/** A requested encoder and how it ran: its own model, or a stand-in. */
export interface RequestedRun {
  requestedId: string;
  ran: EncoderName;
  standingInFor?: StandingInFor;
}

/** One requested encoder as a run of its own (no merging). */
export function asRun(r: RequestedRun): EncoderRun {
  return { ran: r.ran, standingInFor: r.standingInFor ? [r.standingInFor] : [] };
}

/**
 * One run per encoder that actually ran, in first-requested order: a stand-in that duplicates an
 * encoder already listed becomes one entry saying both. `requestedIds` maps each back.
 */
export function mergeRuns(runs: readonly RequestedRun[]): Array<EncoderRun & { requestedIds: string[] }> {
  const byRan = new Map<string, EncoderRun & { requestedIds: string[] }>();
  for (const r of runs) {
    let entry = byRan.get(r.ran.id);
    if (!entry) byRan.set(r.ran.id, (entry = { ran: r.ran, standingInFor: [], requestedIds: [] }));
    entry.requestedIds.push(r.requestedId);
    if (r.standingInFor) entry.standingInFor.push(r.standingInFor);
    else entry.alsoAsItself = true;
  }
  for (const entry of byRan.values()) if (entry.standingInFor.length === 0) delete entry.alsoAsItself;
  return [...byRan.values()];
}

/** The page-level notice for a build that ran stand-ins, e.g. for a banner and listings; undefined when none ran. */
export function standInNotice(standIns: readonly StandingInFor[]): { text: string; detail: string; encoders: string[] } | undefined {
  if (standIns.length === 0) return undefined;
  const labels = unique(standIns.map((s) => s.label));
  const reasons = unique(standIns.map((s) => plainReason(s.kind)));
  return {
    text: `Built with stand-ins for ${joinWords(labels)}: ${joinWords(reasons)}, so their tables show simple built-in encoders instead.`,
    detail: unique(standIns.map((s) => `${s.label}: ${s.reason}`)).join("; "),
    encoders: unique(standIns.map((s) => s.id)),
  };
}
