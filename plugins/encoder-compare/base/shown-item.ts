// One item of a list a message names (a file, a page, a failed URL), as the message shows it:
// third-party text such as a URL can be megabytes, so a shown item is cut; report files keep it whole.

/** Characters of one item shown in a message. */
export const SHOWN_ITEM_CHARS = 200;

/** `text` in at most `max` UTF-16 units, ending in "…" when cut (never inside a surrogate pair). */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

export function shownItem(item: string): string {
  return cutText(item, SHOWN_ITEM_CHARS);
}
