// A shown item is cut like dataset text: at SHOWN_ITEM_CHARS, ending in "…", never inside a surrogate pair
// (half an emoji would reach the message as a lone surrogate).
import assert from "node:assert/strict";
import { test } from "node:test";
import { cutText, SHOWN_ITEM_CHARS, shownItem } from "../../plugins/encoder-compare/base/shown-item.ts";

test("a shown item is cut at its cap, and never between the halves of a surrogate pair", () => {
  const short = "a".repeat(SHOWN_ITEM_CHARS);
  assert.equal(shownItem(short), short);
  const long = "b".repeat(SHOWN_ITEM_CHARS + 1);
  assert.equal(shownItem(long), `${"b".repeat(SHOWN_ITEM_CHARS - 1)}…`);
  const emojiAtCut = `${"c".repeat(SHOWN_ITEM_CHARS - 2)}🐶${"d".repeat(10)}`;
  const shown = shownItem(emojiAtCut);
  assert.equal(shown, `${"c".repeat(SHOWN_ITEM_CHARS - 2)}…`);
  assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(shown), "no lone high surrogate");
  assert.equal(shown, cutText(emojiAtCut, SHOWN_ITEM_CHARS));
});
