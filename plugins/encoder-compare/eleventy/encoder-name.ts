// encoderName: an encoder's name as it ran in this build, for the text an author writes around the tables (headings,
// the title, the description). A heading written as "CLIP" sits over a stand-in's table on a build without the model;
// `<% encoderName "clip-vit-b32" %>` prints "pixels (16×16 thumbnail), stand-in for CLIP ViT-B/32" there and
// "CLIP ViT-B/32" where CLIP ran. The same words as the tables' captions (describeRun): what ran leads.
//   shortcode: <% encoderName "clip-vit-b32" %>                (HTML, escaped)
//   filter:    {{ "clip-vit-b32" | encoderName }}               (plain text, for front matter and <title>)
//   form:      "name" (default) · "short" ("pixels (standing in for CLIP ViT-B/32)") · "ran" (what ran: "pixels (16×16 thumbnail)")
import { runOf } from "../compose/encoder-runs.ts";
import { describeRun, asRun, type RequestedRun } from "../render/encoder-run.ts";
import { escapeHtml } from "../render/escape.ts";
import type { ShortcodeContext, ShortcodeThis } from "./shortcode-context.ts";
import { runShortcode } from "./shortcode-context.ts";

export const NAME_FORMS = ["name", "short", "ran"] as const;
export type NameForm = (typeof NAME_FORMS)[number];

/** The encoder's name in one of the forms, as plain text. */
export function runName(run: RequestedRun, form: NameForm = "name"): string {
  const display = describeRun(asRun(run));
  if (form === "ran") return display.label;
  if (form === "short") return run.standingInFor ? `${run.ran.id} (standing in for ${run.standingInFor.label})` : display.label;
  return display.name;
}

export interface NameRegistrar {
  addAsyncShortcode(name: string, fn: (...args: any[]) => Promise<string>): void;
  addAsyncFilter?(name: string, fn: (...args: any[]) => Promise<string>): void;
}

function checkArguments(id: unknown, form: unknown, known: readonly string[]): { id: string; form: NameForm } {
  if (typeof id !== "string" || !known.includes(id)) {
    throw new Error(`encoderName needs an encoder id, one of ${known.join(", ")}; got ${JSON.stringify(id) ?? String(id)}`);
  }
  // Nunjucks hands keyword arguments over as a last object with __keywords.
  const given = form && typeof form === "object" ? (form as { form?: unknown }).form : form;
  if (given === undefined) return { id, form: "name" };
  if (typeof given !== "string" || !(NAME_FORMS as readonly string[]).includes(given)) {
    throw new Error(`encoderName: form must be one of ${NAME_FORMS.join(", ")}; got ${JSON.stringify(given)}`);
  }
  return { id, form: given as NameForm };
}

export function registerEncoderName(eleventyConfig: NameRegistrar, ctx: Pick<ShortcodeContext, "engine" | "registry" | "fail" | "projectRoot">): void {
  const name = async (id: unknown, form: unknown) => {
    const checked = checkArguments(id, form, ctx.registry.ids());
    return runName(await runOf(ctx.engine, checked.id), checked.form);
  };
  eleventyConfig.addAsyncShortcode("encoderName", async function (this: ShortcodeThis, id: unknown, form?: unknown): Promise<string> {
    return runShortcode(ctx, { page: this.page?.inputPath, name: "encoderName" }, async () =>
      escapeHtml(await name(id, form)),
    );
  });
  // Plain text: the template engine escapes it where it lands (Nunjucks autoescapes by default).
  eleventyConfig.addAsyncFilter?.("encoderName", async function (this: ShortcodeThis, id: unknown, form?: unknown): Promise<string> {
    try {
      return await name(id, form);
    } catch (error) {
      return ctx.fail(`${this.page?.inputPath ?? "(unknown page)"}: encoderName filter: ${(error as Error).message}`, error);
    }
  });
}
