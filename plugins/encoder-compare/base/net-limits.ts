// Deadlines and caps every fetch runs under. The defaults are DEFAULTS.net; tests and users shrink them through the
// options or environment variables documented in the README.

export interface NetLimits {
  /** TCP (and TLS) connection established within this long. */
  connectTimeoutMs: number;
  /** Once connected, the reply's status line and headers arrive within this long. */
  replyTimeoutMs: number;
  /** A reply that sends no byte for this long is stalled. */
  stallTimeoutMs: number;
  /** Over every window of `throughputWindowMs`, at least this many bytes per second arrive. */
  minBytesPerSecond: number;
  throughputWindowMs: number;
  /** The whole request, redirects included, ends within this long (none: the rules above bound it). */
  totalTimeoutMs?: number;
  maxRedirects: number;
}

const ENV_SECONDS: ReadonlyArray<[keyof NetLimits, string]> = [
  ["connectTimeoutMs", "ENCODER_COMPARE_CONNECT_TIMEOUT"],
  ["replyTimeoutMs", "ENCODER_COMPARE_REPLY_TIMEOUT"],
  ["stallTimeoutMs", "ENCODER_COMPARE_STALL_TIMEOUT"],
];

/** Limits set in the environment (seconds; ENCODER_COMPARE_MIN_SPEED in bytes per second). */
export function netLimitsFromEnv(env: NodeJS.ProcessEnv): Partial<NetLimits> {
  const limits: Partial<NetLimits> = {};
  for (const [key, name] of ENV_SECONDS) {
    const seconds = positiveNumber(env[name], name);
    if (seconds !== undefined) (limits as Record<string, number>)[key] = seconds * 1000;
  }
  const speed = positiveNumber(env.ENCODER_COMPARE_MIN_SPEED, "ENCODER_COMPARE_MIN_SPEED");
  if (speed !== undefined) limits.minBytesPerSecond = speed;
  return limits;
}

function positiveNumber(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${JSON.stringify(raw)} is not a positive number; unset it or use e.g. ${name}=10`);
  return value;
}
