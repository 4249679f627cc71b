// What is read off a finished map without laying it out again: where a query lands, and how each group clusters.
// Pure.

/** How far a placed query sits from the neighbour it is placed at, towards the others (map units). */
export const PLACE_NUDGE = 20;

/**
 * Where a new vector lands on a map, from its nearest laid-out neighbours (by cosine) and their positions. Each
 * neighbour weighs as in UMAP's own transform: exp(−(d − ρ)/σ) over chord distances d = √(2 − 2·cosine), ρ the nearest
 * distance, σ chosen so the weights sum to log₂ of the count. UMAP's transform starts from the weighted mean of their
 * positions, which falls into empty space between them when the map has torn them apart; this takes the weighted
 * medoid instead (the neighbour with the least weighted distance to the others), nudged PLACE_NUDGE units towards
 * that mean so the marker does not hide it. It lands on its neighbours by construction.
 */
export function placeAmongNeighbours(neighbours: ReadonlyArray<{ score: number; x: number; y: number }>): { x: number; y: number } {
  if (neighbours.length === 0) return { x: 500, y: 500 };
  const weights = membershipWeights(neighbours.map((n) => n.score));
  let best = 0;
  let bestCost = Infinity;
  neighbours.forEach((a, i) => {
    const cost = neighbours.reduce((sum, b, j) => sum + weights[j] * Math.hypot(a.x - b.x, a.y - b.y), 0);
    if (cost < bestCost - 1e-9) [best, bestCost] = [i, cost];
  });
  const total = weights.reduce((sum, w) => sum + w, 0);
  const meanX = neighbours.reduce((sum, n, i) => sum + weights[i] * n.x, 0) / total;
  const meanY = neighbours.reduce((sum, n, i) => sum + weights[i] * n.y, 0) / total;
  const { x, y } = neighbours[best];
  const gap = Math.hypot(meanX - x, meanY - y);
  const step = gap > 0 ? Math.min(PLACE_NUDGE, gap) / gap : 0;
  const round = (v: number) => Math.round(v * 10) / 10;
  return { x: round(x + (meanX - x) * step), y: round(y + (meanY - y) * step) };
}

/** UMAP's membership strengths of a point's neighbours, from their cosine scores (best first or not). */
function membershipWeights(scores: readonly number[]): number[] {
  const distances = scores.map((s) => Math.sqrt(Math.max(0, 2 - 2 * s)));
  const rho = Math.min(...distances);
  const target = Math.log2(Math.max(2, distances.length));
  const total = (sigma: number) => distances.reduce((sum, d) => sum + Math.exp(-(d - rho) / sigma), 0);
  let [low, high] = [1e-9, 1e3];
  for (let i = 0; i < 64; i++) {
    const mid = (low + high) / 2;
    if (total(mid) > target) high = mid;
    else low = mid;
  }
  const sigma = (low + high) / 2;
  return distances.map((d) => Math.exp(-(d - rho) / sigma));
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
    if (p.group === undefined) return;
    const rows = members.get(p.group);
    if (rows) rows.push(i);
    else members.set(p.group, [i]);
  });
  const limit = linkDistance * linkDistance;
  const cell = linkDistance > 0 ? linkDistance : 1;
  const out: Array<{ group: string; count: number; clustered: number }> = [];
  for (const [group, rows] of members) {
    // Members filed by grid cell of one link's width: a member's links can only reach the 3 × 3 cells around it.
    const grid = new Map<string, number[]>();
    const key = (cx: number, cy: number) => `${cx},${cy}`;
    rows.forEach((row, i) => {
      const k = key(Math.floor(points[row].x / cell), Math.floor(points[row].y / cell));
      const filed = grid.get(k);
      if (filed) filed.push(i);
      else grid.set(k, [i]);
    });
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
        const [cx, cy] = [Math.floor(a.x / cell), Math.floor(a.y / cell)];
        for (let dx = -1; dx <= 1; dx++) {
          for (let dy = -1; dy <= 1; dy++) {
            for (const j of grid.get(key(cx + dx, cy + dy)) ?? []) {
              if (seen[j]) continue;
              const b = points[rows[j]];
              if ((a.x - b.x) ** 2 + (a.y - b.y) ** 2 <= limit) {
                seen[j] = 1;
                stack.push(j);
              }
            }
          }
        }
      }
      largest = Math.max(largest, size);
    }
    out.push({ group, count: rows.length, clustered: largest });
  }
  return out.sort((a, b) => b.count - a.count || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}
