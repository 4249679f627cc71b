// What every CLI command shares: its I/O, usage errors (exit 2) and flag parsing.
export interface Output {
  write(chunk: string): unknown;
}

export interface CommandIO {
  out: Output;
  err: Output;
  /** Project root that relative paths resolve against. */
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** Words that select the command, e.g. "models pull". */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full --help text. */
  help: string;
  /** Printed after `help`: what depends on where it runs (e.g. which defaults apply here). */
  helpFooter?: (cwd: string) => Promise<string>;
  /** Returns the exit code: 0 ok, 1 runtime failure (2 is for UsageError). */
  run(args: string[], io: CommandIO): Promise<number>;
}

/** Wrong invocation: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

export interface ParsedArgs {
  positional: string[];
  flags: Set<string>;
  values: Map<string, string>;
}

/** Short spellings every command accepts for its long option of the same meaning (-h is --help, handled by main). */
const SHORT_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  "-k": "--k",
  "-e": "--encoders",
  "-d": "--dataset",
  "-o": "--out",
});

/**
 * `booleans` are flags without a value (--json); `valued` take one (--k 5, --k=5, -k 5, -k5). A short option is
 * accepted where its long one is (SHORT_OPTIONS). Anything else starting with "-" is a usage error naming it, so an
 * option is never taken for a path; a path that starts with "-" goes after "--" (or as ./-name). A lone "-" is positional.
 */
export function parseArgs(args: readonly string[], booleans: readonly string[], valued: readonly string[] = []): ParsedArgs {
  const parsed: ParsedArgs = { positional: [], flags: new Set(), values: new Map() };
  const allowed = [...booleans, ...valued];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      parsed.positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      parsed.positional.push(arg);
      continue;
    }
    const { flag, inline, written } = splitOption(arg, allowed);
    if (booleans.includes(flag)) {
      if (inline !== undefined) throw new UsageError(`${written} takes no value, got "${inline}"`);
      parsed.flags.add(flag);
    } else {
      const value = inline ?? args[++i];
      if (value === undefined || (inline === undefined && looksLikeOption(value))) throw new UsageError(`${written} needs a value`);
      parsed.values.set(flag, value);
    }
  }
  return parsed;
}

/** "-x" or "--xy" followed by a letter: an option, not a value (a value may be "-" or a negative number). */
function looksLikeOption(value: string): boolean {
  return /^--?[A-Za-z]/.test(value);
}

/** The long flag an argument names, its inline value, and how the user wrote it (for messages). */
function splitOption(arg: string, allowed: readonly string[]): { flag: string; inline?: string; written: string } {
  if (arg.startsWith("--")) {
    const equals = arg.indexOf("=");
    const flag = equals < 0 ? arg : arg.slice(0, equals);
    if (!allowed.includes(flag)) throw unknownOption(flag, allowed);
    return { flag, inline: equals < 0 ? undefined : arg.slice(equals + 1), written: flag };
  }
  const short = arg.slice(0, 2);
  const long = SHORT_OPTIONS[short];
  if (long && allowed.includes(long)) {
    const rest = arg.slice(2);
    return { flag: long, inline: rest === "" ? undefined : rest.replace(/^=/, ""), written: short };
  }
  // "-json" is a long option with one dash; "-x" an unknown short one.
  throw unknownOption(arg.length > 2 && !arg.includes("=") ? arg : short, allowed);
}

function unknownOption(written: string, allowed: readonly string[]): UsageError {
  const shorts = new Map(Object.entries(SHORT_OPTIONS).map(([short, long]) => [long, short]));
  const listed = allowed.map((flag) => (shorts.has(flag) ? `${flag} (${shorts.get(flag)})` : flag));
  // A one-letter option is too short to guess from.
  const guess = written.length > 2 ? closestName(written.replace(/^-+/, "--"), allowed) : undefined;
  const hint = guess && guess !== written ? ` (did you mean ${guess}?)` : "";
  return new UsageError(`unknown option ${written}${hint}; allowed: ${listed.join(", ") || "none"}`);
}

/**
 * The candidate a mistyped name most likely meant: the nearest by edit distance (a swap of two neighbouring letters
 * counts as one edit) within a third of its length, else the only candidate it is a prefix of; undefined when none.
 */
export function closestName(typed: string, candidates: readonly string[]): string | undefined {
  const lower = typed.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= Math.max(1, Math.floor(name.length / 3)) && (!best || distance < best.distance)) best = { name, distance };
  }
  if (best) return best.name;
  const prefixed = candidates.filter((name) => lower.length >= 2 && name.toLowerCase().startsWith(lower));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** A positive integer option value, or a usage error naming the flag. */
export function positiveIntegerFlag(parsed: ParsedArgs, flag: string, fallback: number): number {
  const raw = parsed.values.get(flag);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`${flag} must be a positive integer, got "${raw}"`);
  return Number(raw);
}
