// Builds a content folder through Eleventy's programmatic API with the plugin, `<% %>` block
// tags and the logger off; returns the rendered pages (nothing but images is written).
import path from "node:path";
// @ts-expect-error Eleventy 3 ships no type declarations
import Eleventy from "@11ty/eleventy";
import encoderComparePlugin from "../../plugins/encoder-compare/index.ts";
import type { PluginOptions } from "../../plugins/encoder-compare/engine/options.ts";

export async function buildWithPlugin(
  contentDir: string,
  outputDir: string,
  pluginOptions: Partial<PluginOptions>,
  { runMode = "build" }: { runMode?: "build" | "serve" | "watch" } = {},
): Promise<Array<{ url: string; inputPath: string; content: string }>> {
  const rel = (p: string) => path.relative(process.cwd(), p);
  const elev = new Eleventy(rel(contentDir), rel(outputDir), {
    quietMode: true,
    runMode,
    config(eleventyConfig: any) {
      // Test fixtures live under test/.output, which .gitignore lists (Eleventy skips ignored files).
      eleventyConfig.setUseGitIgnore(false);
      eleventyConfig.setNunjucksEnvironmentOptions({ dev: true, tags: { blockStart: "<%", blockEnd: "%>" } });
      eleventyConfig.addPlugin(encoderComparePlugin, pluginOptions);
    },
  });
  elev.disableLogger();
  return elev.toJSON();
}
