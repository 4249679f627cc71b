// Alt text for an image that has no caption: its file name in words ("buff-doge.png" → "Buff doge").

export function humanFileName(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  const words = base.replace(/\.[^.]+$/, "").replace(/[-_.]+/g, " ").replace(/\s+/g, " ").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : base;
}
