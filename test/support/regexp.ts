// A long regular expression written as several literals, so a test keeps its exact pattern within the line limit.

/** The parts' patterns joined in order: joinRegExp(/a/, /b/g) is /ab/g. Flags go on the last part only. */
export function joinRegExp(...parts: RegExp[]): RegExp {
  const last = parts.at(-1);
  if (!last || parts.slice(0, -1).some((part) => part.flags !== "")) {
    throw new Error(`joinRegExp: give at least one part, and flags on the last part only (got ${parts.join(" ")})`);
  }
  return new RegExp(parts.map((part) => part.source).join(""), last.flags);
}
