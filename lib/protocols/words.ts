/**
 * How counts, axes and layers are written where people read them (the CLI's tables and status lines):
 * plurals that agree with the count, an axis as "positive/negative", layers as "layer 3",
 * "layers 2, 5" or "layers 4–9" (a single value is never a range).
 */

/** "1 axis", "2 axes". */
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** An axis as a person reads it: "warm/cold" (its id, warm_cold, is for flags, JSON and file names). */
export function axisLabel(axis: { positive: string; negative: string }): string {
  return `${axis.positive}/${axis.negative}`;
}

/** "layer 3", "layers 2, 5", "layers 4–9" (consecutive runs of three or more as a range). */
export function layerList(layers: readonly number[]): string {
  const sorted = [...new Set(layers)].sort((a, b) => a - b);
  if (sorted.length === 0) return 'no layers';
  if (sorted.length === 1) return `layer ${sorted[0]}`;
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    if (j - i >= 2) parts.push(`${sorted[i]}–${sorted[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(sorted[k]));
    i = j + 1;
  }
  return `layers ${parts.join(', ')}`;
}
