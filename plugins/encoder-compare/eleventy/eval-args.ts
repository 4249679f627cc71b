// Validates what Nunjucks passes to `encoderEval` (keywords only) into an evaluation request.
import { DEFAULTS } from "../base/defaults.ts";
import {
  parseDatasetName,
  parseEncoderList,
  parseK,
  parseWholeNumber,
  ShortcodeArgumentError,
  shownName,
  splitShortcodeArgs,
  type KeywordDefaults,
} from "./shortcode-args.ts";

export interface EvalRequest {
  dataset: string;
  k: number;
  encoders: string[];
  /** Rows in "where they disagree"; 0 leaves the section out. */
  disagreements: number;
  /** The two encoders compared there (default: the first two of `encoders`); undefined with one encoder. */
  between?: [string, string];
}

/** The keyword defaults it reads: the same as the other shortcodes' (its k has a default of its own). */
export type EvalDefaults = Pick<KeywordDefaults, "dataset" | "encoders" | "maxK" | "knownEncoders">;

export const EVAL_KEYWORDS = ["dataset", "k", "encoders", "disagreements", "between"] as const;

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

  const dataset = parseDatasetName(keywords.dataset, defaults.dataset);
  const k = parseK(keywords.k, { k: Math.min(DEFAULTS.eval.k, defaults.maxK), maxK: defaults.maxK });
  const encoders = parseEncoderList(keywords.encoders, defaults.encoders, defaults.knownEncoders);

  const disagreements =
    keywords.disagreements === undefined
      ? DEFAULTS.eval.disagreements
      : parseWholeNumber("disagreements", keywords.disagreements, 0, DEFAULTS.eval.maxDisagreements);

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
