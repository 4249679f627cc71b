// Validates what Nunjucks passes to `encoderEval` (keywords only) into an evaluation request.
import { DEFAULTS } from "../base/defaults.ts";
import { parseEncoderList, ShortcodeArgumentError, shownName, splitShortcodeArgs } from "./shortcode-args.ts";

export interface EvalRequest {
  dataset: string;
  k: number;
  encoders: string[];
  /** Rows in "where they disagree"; 0 leaves the section out. */
  disagreements: number;
  /** The two encoders compared there (default: the first two of `encoders`); undefined with one encoder. */
  between?: [string, string];
}

export interface EvalDefaults {
  dataset: string;
  encoders: readonly string[];
  maxK: number;
  knownEncoders: readonly string[];
}

export const EVAL_KEYWORDS = ["dataset", "k", "encoders", "disagreements", "between"] as const;

function wholeNumber(name: string, raw: unknown, min: number, max: number): number {
  const value = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ShortcodeArgumentError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function parseEvalArgs(args: readonly unknown[], defaults: EvalDefaults): EvalRequest {
  const { positional, keywords } = splitShortcodeArgs(args);
  if (positional.length > 0) {
    throw new ShortcodeArgumentError(
      `encoderEval takes keywords only, e.g. <% encoderEval dataset="content/datasets/emoji-memes", k=10 %>; got ${JSON.stringify(positional[0])}`,
    );
  }
  for (const key of Object.keys(keywords)) {
    if (!(EVAL_KEYWORDS as readonly string[]).includes(key)) {
      throw new ShortcodeArgumentError(`unknown keyword ${shownName(key)}; known keywords: ${EVAL_KEYWORDS.join(", ")}`);
    }
  }

  let dataset = defaults.dataset;
  if (keywords.dataset !== undefined) {
    if (typeof keywords.dataset !== "string" || keywords.dataset.trim() === "") {
      throw new ShortcodeArgumentError(`dataset must be a folder path, got ${JSON.stringify(keywords.dataset)}`);
    }
    dataset = keywords.dataset;
  }

  const k = keywords.k === undefined ? Math.min(DEFAULTS.eval.k, defaults.maxK) : wholeNumber("k", keywords.k, 1, defaults.maxK);

  const encoders = parseEncoderList(keywords.encoders, defaults.encoders, defaults.knownEncoders);

  const disagreements =
    keywords.disagreements === undefined
      ? DEFAULTS.eval.disagreements
      : wholeNumber("disagreements", keywords.disagreements, 0, DEFAULTS.eval.maxDisagreements);

  let between: [string, string] | undefined = encoders.length >= 2 ? [encoders[0], encoders[1]] : undefined;
  if (keywords.between !== undefined) {
    const raw = typeof keywords.between === "string" ? keywords.between.split(",").map((e) => e.trim()) : keywords.between;
    if (!Array.isArray(raw) || raw.length !== 2 || raw.some((e) => typeof e !== "string" || !encoders.includes(e)) || raw[0] === raw[1]) {
      throw new ShortcodeArgumentError(
        `between must name two different encoders of this evaluation (${encoders.join(", ")}), ` +
          `e.g. between=["${encoders[0]}", "${encoders[1] ?? "…"}"]; got ${JSON.stringify(keywords.between)}`,
      );
    }
    between = [raw[0], raw[1]];
  }
  return { dataset, k, encoders, disagreements, ...(between ? { between } : {}) };
}
