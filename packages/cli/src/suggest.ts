// "Did you mean": the closest known name by edit distance (adjacent swaps
// count as one edit, the commonest typo), or nothing when none is close.

function distance(a: string, b: string): number {
  // Optimal string alignment distance over two rolling rows plus the one before.
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (before[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * The candidate closest to `input` when it is plausibly a typo of it (at
 * most a third of the longer name's letters differ, and at least one letter
 * is shared), else undefined. Ties go to the earlier candidate.
 *
 * @example
 * ```ts
 * suggest('--bach-size', ['--batch-size', '--cursor']); // '--batch-size'
 * ```
 */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(input, c);
    const limit = Math.max(1, Math.floor(Math.max(input.length, c.length) / 3));
    if (d <= limit && d < bestDistance && d < c.length) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * ` (did you mean X?)` for the nearest candidate, or the empty string.
 *
 * @example
 * ```ts
 * didYouMean('rewrp', ['rewrap', 'stats']); // ' (did you mean rewrap?)'
 * ```
 */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const s = suggest(input, candidates);
  return s === undefined ? '' : ` (did you mean ${s}?)`;
}
