// What is read off a finished map without laying it out again: where a query lands, and how each group clusters.
// Pure.

/**
 * Where a new vector lands on a map, from its nearest laid-out neighbours (by cosine) and their positions: the
 * membership-weighted mean of their positions that UMAP's own transform starts from (weights exp(−(d − ρ)/σ) over
 * chord distances d = √(2 − 2·cosine), ρ the nearest distance, σ chosen so the weights sum to log₂ of the count).
 * It lands among its neighbours by construction; umap-js would then nudge it further, which needs the fitted model.
 */
export function placeAmongNeighbours(neighbours: ReadonlyArray<{ score: number; x: number; y: number }>): { x: number; y: number } {
  if (neighbours.length === 0) return { x: 500, y: 500 };
  const distances = neighbours.map((n) => Math.sqrt(Math.max(0, 2 - 2 * n.score)));
  const rho = Math.min(...distances);
  const target = Math.log2(neighbours.length);
  const total = (sigma: number) => distances.reduce((sum, d) => sum + Math.exp(-(d - rho) / sigma), 0);
  let [low, high] = [1e-9, 1e3];
  for (let i = 0; i < 64; i++) {
    const mid = (low + high) / 2;
    if (total(mid) > target) high = mid;
    else low = mid;
  }
  const sigma = (low + high) / 2;
  let [sx, sy, sw] = [0, 0, 0];
  neighbours.forEach((n, i) => {
    const w = Math.exp(-(distances[i] - rho) / sigma);
    sx += w * n.x;
    sy += w * n.y;
    sw += w;
  });
  const round = (v: number) => Math.round(v * 10) / 10;
  return { x: round(sx / sw), y: round(sy / sw) };
}

/**
 * Per group: its size and the size of its largest cluster on the map, where two members belong to one cluster when
 * a chain of members links them with hops shorter than `linkDistance`. Largest groups first (ties by name).
 */
export function groupClusters(
  points: ReadonlyArray<{ x: number; y: number; group?: string }>,
  linkDistance: number,
): Array<{ group: string; count: number; clustered: number }> {
  const members = new Map<string, number[]>();
  points.forEach((p, i) => {
    if (p.group !== undefined) members.set(p.group, [...(members.get(p.group) ?? []), i]);
  });
  const limit = linkDistance * linkDistance;
  const out: Array<{ group: string; count: number; clustered: number }> = [];
  for (const [group, rows] of members) {
    const seen = new Uint8Array(rows.length);
    let largest = 0;
    for (let start = 0; start < rows.length; start++) {
      if (seen[start]) continue;
      seen[start] = 1;
      const stack = [start];
      let size = 0;
      while (stack.length) {
        const a = points[rows[stack.pop()!]];
        size++;
        for (let j = 0; j < rows.length; j++) {
          if (seen[j]) continue;
          const b = points[rows[j]];
          if ((a.x - b.x) ** 2 + (a.y - b.y) ** 2 <= limit) {
            seen[j] = 1;
            stack.push(j);
          }
        }
      }
      largest = Math.max(largest, size);
    }
    out.push({ group, count: rows.length, clustered: largest });
  }
  return out.sort((a, b) => b.count - a.count || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}
