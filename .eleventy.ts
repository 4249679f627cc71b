// The demo blog's Eleventy config. `npm run build` / `npm start` compile it to JavaScript and run
// Eleventy under plain node (scripts/eleventy.mjs). The plugin is imported by its package name, as any site would.
import encoderCompare from "encoder-compare";

export default function (eleventyConfig: any) {
  // Block tags become <% %> so the shortcode reads `<% encoderCompare "q.png" %>` in markdown.
  // This replaces Eleventy's default options, hence dev: true again; layouts use <% %> too.
  eleventyConfig.setNunjucksEnvironmentOptions({ dev: true, tags: { blockStart: "<%", blockEnd: "%>" } });

  eleventyConfig.addPassthroughCopy({ assets: "assets" });
  // Browsers ask for /favicon.ico on pages without an icon link, such as a full-size image.
  eleventyConfig.addPassthroughCopy({ "assets/favicon.ico": "favicon.ico" });
  // Dataset images and query inputs are read by the plugin, not published as pages.
  eleventyConfig.ignores.add("content/datasets/**");
  eleventyConfig.ignores.add("content/posts/*/inputs/**");
  eleventyConfig.watchIgnores.add("content/datasets/**");

  eleventyConfig.addFilter("isoDate", (date: Date) => date.toISOString().slice(0, 10));
  eleventyConfig.addFilter("longDate", (date: Date) =>
    date.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }),
  );
  // Topic tags of a post (or every topic, given `collections`), without Eleventy's own collections.
  eleventyConfig.addFilter("postTags", (tags: string[] | Record<string, unknown> | undefined) =>
    (Array.isArray(tags) ? tags : Object.keys(tags ?? {})).filter((tag) => tag !== "posts" && tag !== "all"),
  );
  eleventyConfig.addFilter("readingMinutes", (html: string) => {
    const words = String(html ?? "").replace(/<[^>]*>/g, " ").split(/\s+/).filter(Boolean).length;
    return Math.max(1, Math.round(words / 230));
  });

  // Inline code may wrap between words but never inside one ("--json" must not break at a hyphen).
  eleventyConfig.amendLibrary("md", (md: any) => {
    md.renderer.rules.code_inline = (tokens: any[], idx: number) => {
      const words = tokens[idx].content
        .split(/( +)/)
        .map((part: string) => (part.trim() ? `<span class="code-word">${md.utils.escapeHtml(part)}</span>` : part));
      return `<code>${words.join("")}</code>`;
    };
  });

  eleventyConfig.addPlugin(encoderCompare, {
    // The 2021 post's contenders. Where a model cannot be downloaded, its tables show the
    // stand-in named in its spec (pixels for CLIP, phash for BiT), labelled as a stand-in.
    encoders: ["clip-vit-b32", "bit-m-r50x1"],
    dataset: "content/datasets/emoji-memes",
  });
}

export const config = {
  dir: { input: "content", output: "_site", includes: "_includes", data: "../_data" },
  markdownTemplateEngine: "njk",
  htmlTemplateEngine: "njk",
};
