// What every shortcode is given by the plugin, and their one failure policy.
import type { CompareEngine } from "../engine/compare-engine.ts";
import { PrefixedError } from "../base/logger.ts";
import type { PluginOptions } from "../engine/options.ts";
import type { EncoderRegistry } from "../encoders/registry.ts";
import type { MontageWriter } from "../render/result-images.ts";
import { terminalText } from "../base/terminal-text.ts";
import type { ShortcodeName } from "./page-source.ts";
import { ShortcodeArgumentError } from "./shortcode-args.ts";
import { checkPageKeywords, describeArgumentError } from "./shortcode-source.ts";

export interface ShortcodeContext {
  engine: CompareEngine;
  registry: EncoderRegistry;
  options: PluginOptions;
  projectRoot: string;
  /** The current build's image writer (replaced every build). */
  writer: () => MontageWriter;
  info: (message: string) => void;
  /** Turns a failure into the shortcode's outcome: throws in a build, returns an error box while serving. */
  fail: (message: string, cause: unknown) => string;
}

/** The part of Eleventy's UserConfig a shortcode module registers with. */
export interface EleventyLike {
  directories: { input: string; output: string };
  addAsyncShortcode(name: string, fn: (...args: any[]) => Promise<string>): void;
  on(event: string, fn: (arg: any) => unknown): void;
}

/** `this` inside a shortcode: the page, and (Nunjucks) its data. */
export interface ShortcodeThis {
  page?: { inputPath?: string };
  /** Nunjucks render context: the page's data, front matter included. */
  ctx?: { encoderCompare?: unknown };
}

/** What a shortcode failure reports: the post and shortcode lead, then what was wrong. */
export class EncoderCompareError extends PrefixedError {
  constructor(message: string, options?: ErrorOptions) {
    // Eleventy prints it and its causes to the terminal: paths and dataset text in them are
    // escaped like the log (the causes were made to be shown here, so their messages are too).
    super(terminalText(message, true), options);
    for (let cause = options?.cause, depth = 0; cause instanceof Error && depth < 10; cause = cause.cause, depth++) {
      cause.message = terminalText(cause.message, true);
    }
    // Eleventy prints the message chain; the stack of a user-input error helps nobody.
    (this as { skipOriginalStack?: boolean }).skipOriginalStack = true;
  }
}

/** A failure whose whole message is already worded (it names the post and shortcode itself). */
export class WordedFailure extends Error {}

/**
 * Runs one shortcode call under the one failure policy: a bad argument (or a keyword the page's source repeats) is
 * described with the post's source line, any other failure is led by the post and shortcode, and `ctx.fail` decides
 * between a failed build and an error box.
 */
export async function runShortcode(
  ctx: Pick<ShortcodeContext, "fail" | "projectRoot">,
  call: { page: string | undefined; name: ShortcodeName },
  render: (post: string) => Promise<string>,
): Promise<string> {
  const post = call.page ?? "(unknown page)";
  try {
    // A keyword written twice in one tag reaches the shortcode once: only the page's source shows the repeat.
    checkPageKeywords(call.page, call.name, ctx.projectRoot);
    return await render(post);
  } catch (error) {
    if (error instanceof WordedFailure) return ctx.fail(error.message, error.cause);
    const reason =
      error instanceof ShortcodeArgumentError ? describeArgumentError(error, call.page, call.name, ctx.projectRoot) : (error as Error).message;
    return ctx.fail(`${post}: ${call.name}: ${reason}`, error);
  }
}
