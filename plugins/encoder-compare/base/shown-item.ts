// One item of a list a message names (a file, a page, a failed URL), as the message shows it:
// third-party text such as a URL can be megabytes, so a shown item is cut; report files keep it whole.

/** Characters of one item shown in a message. */
export const SHOWN_ITEM_CHARS = 200;

export function shownItem(item: string): string {
  return item.length <= SHOWN_ITEM_CHARS ? item : `${item.slice(0, SHOWN_ITEM_CHARS - 1)}…`;
}
