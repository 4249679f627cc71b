// A throwaway Eleventy site folder whose config adds this plugin with the given options (data/ is not content).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export function makePluginSite(prefix: string, pluginOptions: object): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const plugin = path.join(process.cwd(), "plugins/encoder-compare/index.ts");
  fs.writeFileSync(
    path.join(dir, ".eleventy.ts"),
    `import encoderCompare from ${JSON.stringify(plugin)};\n` +
      `export default function (eleventyConfig: any) {\n` +
      `  eleventyConfig.ignores.add("data/**");\n` +
      `  eleventyConfig.addPlugin(encoderCompare, ${JSON.stringify(pluginOptions)});\n}\n`,
  );
  return dir;
}
