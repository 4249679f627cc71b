// Everything that reaches HTML from a dataset, a file name or an option goes through here.
// Line breaks become character references too: a blank line inside the shortcode's output
// would end markdown-it's HTML block and turn the rest of the table into paragraphs.
const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "\n": "&#10;", "\r": "&#13;" };

/** Escapes text for element content and for quoted attribute values alike. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'\n\r]/g, (c) => ENTITIES[c]);
}
