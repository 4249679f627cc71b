// expect= on a comparison or a map: the groups a result must be in to be marked a match.
import type { Dataset } from "../dataset/load.ts";

/** expect= names groups the dataset has, or the marks would silently all read "not a match". */
export function checkExpectedGroups(expect: readonly string[], dataset: Dataset): void {
  const groups = new Set(dataset.images.map((image) => image.group).filter((g): g is string => g !== undefined));
  for (const g of expect) {
    if (!groups.has(g)) {
      const known = [...groups].sort().slice(0, 5);
      throw new Error(
        known.length
          ? `expect="${g}": dataset ${dataset.name} has no group "${g}"; its groups look like ${known.map((k) => `"${k}"`).join(", ")}`
          : `expect="${g}": dataset ${dataset.name} has no groups; give images a "group" in its manifest (see README, Datasets)`,
      );
    }
  }
}

/** What counts as a match for one query: expect= when given, else the query's own group when it is a dataset image. */
export function expectedFor(expect: readonly string[] | undefined, member: { group?: string } | undefined): readonly string[] | undefined {
  return expect ?? (member?.group !== undefined ? [member.group] : undefined);
}
