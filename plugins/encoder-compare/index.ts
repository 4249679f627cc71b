// The package's face: the Eleventy plugin (eleventy/plugin.ts) and the types a site's config needs.
export { default } from "./eleventy/plugin.ts";
export * from "./eleventy/plugin.ts";
