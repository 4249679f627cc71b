// A two-page site for the "Try your own image" browser test and bench: /with/ has a comparison
// with tryIt=true, /without/ the same comparison without it. Written to disk through Eleventy.
import fs from "node:fs";
import path from "node:path";
// @ts-expect-error Eleventy 3 ships no type declarations
import Eleventy from "@11ty/eleventy";
import encoderComparePlugin from "../../plugins/encoder-compare/index.ts";

export interface TryItSite {
  /** Folder the site was written to. */
  site: string;
}

export interface TryItSiteOptions {
  dataset: string;
  encoders: string[];
  k: number;
  cacheDir: string;
  /** More pages: name → shortcode arguments after the query image (tryIt is added). */
  extraPages?: Record<string, string>;
  pluginOptions?: Record<string, unknown>;
}

export async function buildTryItSite(work: string, options: TryItSiteOptions): Promise<TryItSite> {
  const root = process.cwd();
  const content = path.join(work, "content");
  const site = path.join(work, "site");
  fs.rmSync(content, { recursive: true, force: true });
  fs.rmSync(site, { recursive: true, force: true });
  fs.mkdirSync(content, { recursive: true });
  const images = path.join(options.dataset, "images");
  fs.copyFileSync(path.join(images, fs.readdirSync(images).sort()[0]), path.join(content, "q.png"));
  const page = (body: string) =>
    `---\npermalink: "{{ page.fileSlug }}/"\n---\n` +
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Try it</title></head>` +
    `<body><main><h1>Try it</h1>\n${body}\n</main></body></html>\n`;
  const encoders = options.encoders.map((e) => JSON.stringify(e)).join(",");
  const shortcode = (extra: string) => `<% encoderCompare "q.png", encoders=[${encoders}], k=${options.k}${extra} %>`;
  fs.writeFileSync(path.join(content, "with.njk"), page(shortcode(", tryIt=true")));
  fs.writeFileSync(path.join(content, "without.njk"), page(shortcode("")));
  for (const [name, args] of Object.entries(options.extraPages ?? {}))
    fs.writeFileSync(path.join(content, `${name}.njk`), page(`<% encoderCompare "q.png", ${args}, tryIt=true %>`));
  const elev = new Eleventy(path.relative(root, content), path.relative(root, site), {
    quietMode: true,
    config(eleventyConfig: any) {
      eleventyConfig.setUseGitIgnore(false);
      eleventyConfig.setNunjucksEnvironmentOptions({ dev: true, tags: { blockStart: "<%", blockEnd: "%>" } });
      eleventyConfig.addPlugin(encoderComparePlugin, {
        dataset: options.dataset,
        cacheDir: path.relative(root, options.cacheDir),
        offline: true,
        ...options.pluginOptions,
      });
    },
  });
  elev.disableLogger();
  await elev.write();
  return { site };
}
