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

/**
 * `booleans` are flags without a value (--json); `valued` take one (--k 5 or --k=5).
 * Anything else starting with "--" is a usage error.
 */
export function parseArgs(args: readonly string[], booleans: readonly string[], valued: readonly string[] = []): ParsedArgs {
  const parsed: ParsedArgs = { positional: [], flags: new Set(), values: new Map() };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      parsed.positional.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (booleans.includes(flag) && inline === undefined) parsed.flags.add(flag);
    else if (valued.includes(flag)) {
      const value = inline ?? args[++i];
      if (value === undefined || (inline === undefined && value.startsWith("--"))) throw new UsageError(`${flag} needs a value`);
      parsed.values.set(flag, value);
    } else {
      const allowed = [...booleans, ...valued];
      throw new UsageError(`unknown option ${flag}; allowed: ${allowed.join(", ") || "none"}`);
    }
  }
  return parsed;
}

/** A positive integer option value, or a usage error naming the flag. */
export function positiveIntegerFlag(parsed: ParsedArgs, flag: string, fallback: number): number {
  const raw = parsed.values.get(flag);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`${flag} must be a positive integer, got "${raw}"`);
  return Number(raw);
}
