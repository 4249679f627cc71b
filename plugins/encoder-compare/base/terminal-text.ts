// Text on its way to a terminal. Dataset strings (file names, imported captions: third-party
// internet text) must not be able to move the cursor, recolour, retitle or clear the terminal,
// rewrite an earlier line or forge a new one. Every control character is shown as a visible
// escape (\u001b, \r) instead of being sent: C0 and DEL (ESC, CR, BEL, backspace…), C1 (U+0080–U+009F, where
// U+009B is a one-character CSI), the Unicode line and paragraph separators, and the bidi
// embedding/override/isolate marks (judgement call: a terminal that applies them can make a file
// name read backwards, so they are escaped too; joiners and other invisible letters are left
// alone because emoji sequences need them).

interface Output {
  write(chunk: string): unknown;
}

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_KEEPING_LINES = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** JSON's (and JavaScript's) escape for the character, so --json output stays valid and exact. */
function visible(char: string): string {
  return NAMED[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * `text` with every control character replaced by a visible escape, written as JSON writes it
 * (ESC → \u001b, CR → \r, U+009B → \u009b, U+202E → \u202e): JSON.stringify output passes through
 * unchanged in meaning, since it only leaves C1, separators and bidi marks raw. `keepLineBreaks`
 * keeps "\n" as a line break, for whole messages; a single field (a caption in a table cell) has
 * its newlines escaped too.
 */
export function terminalText(text: string, keepLineBreaks = false): string {
  return text.replace(keepLineBreaks ? UNSAFE_KEEPING_LINES : UNSAFE, visible);
}

/** A stream for the CLI's commands: what they write reaches the terminal through terminalText. */
export interface TerminalOutput extends Output {
  isTTY?: boolean;
  columns?: number;
  /** The stream itself, for the progress line's own carriage returns (its text is escaped by progressLine). */
  unescaped: Output & { isTTY?: boolean };
}

export function terminalOutput(stream: Output & { isTTY?: boolean; columns?: number }): TerminalOutput {
  return {
    write: (chunk: string) => stream.write(terminalText(String(chunk), true)),
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
    unescaped: stream,
  };
}
