// axe-core's accessibility check in a Chromium page, for the browser suites and the adopter site's test.
import path from "node:path";
import type { Page } from "playwright-core";

const AXE = path.join(process.cwd(), "node_modules/axe-core/axe.min.js");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  /** The offending elements' selectors. */
  targets: string[];
}

/** What axe finds on the page, or within each element `within` matches (a selector); the script is added once. */
export async function axeViolations(page: Page, within?: string): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async (selector) => {
    const axe = (window as unknown as { axe: { run(context: Element | Document, options: object): Promise<any> } }).axe;
    const contexts = selector ? [...document.querySelectorAll(selector)] : [document];
    const results = await Promise.all(contexts.map((context) => axe.run(context, { resultTypes: ["violations"] })));
    return results.flatMap((r) =>
      r.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n: any) => String(n.target)) })),
    );
  }, within);
}

/** The violations that fail a page: serious and critical ones. */
export function isSerious(v: AxeViolation): boolean {
  return v.impact === "serious" || v.impact === "critical";
}
