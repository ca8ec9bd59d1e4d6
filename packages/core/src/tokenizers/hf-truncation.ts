/**
 * Truncation and padding of token sequences, as the Rust `tokenizers`
 * library does them (utils/truncation.rs, utils/padding.rs), on plain arrays.
 */

/** Which sequence loses tokens when a pair is too long (HF `TruncationStrategy`). */
export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

/**
 * Lengths to keep for a sequence (and its pair) so that their total fits
 * `budget` (max_length minus the special tokens the template adds).
 *
 * `longest_first` follows the Rust implementation exactly: with n1 ≤ n2,
 * keep n1 and cut the longer one to budget − n1 when that still leaves it
 * at least n1; otherwise split the budget, the longer sequence getting the
 * odd token. Errors name the lengths, as the Rust "sequence to truncate too
 * short" error does.
 */
export function truncatedLengths(n1: number, n2: number | undefined, budget: number, strategy: TruncationStrategy): [number, number | undefined] {
  if (budget < 0) throw new Error(`truncation: max_length leaves no room for the ${-budget} tokens the template needs beyond it`);
  if (n2 === undefined) {
    if (strategy === 'only_second') throw new Error('truncation: only_second needs a pair of sequences');
    return [Math.min(n1, budget), undefined];
  }
  if (n1 + n2 <= budget) return [n1, n2];
  if (strategy === 'only_first' || strategy === 'only_second') {
    const other = strategy === 'only_first' ? n2 : n1;
    const keep = budget - other;
    if (keep < 0) throw new Error(`truncation: cannot fit ${strategy === 'only_first' ? 'the pair' : 'the first sequence'} (${other} tokens) into ${budget} by truncating ${strategy === 'only_first' ? 'the first' : 'the second'} sequence`);
    return strategy === 'only_first' ? [keep, n2] : [n1, keep];
  }
  const swap = n1 > n2;
  let a = swap ? n2 : n1; // the shorter
  let b: number;
  if (a > budget) b = a;
  else b = Math.max(a, budget - a);
  if (a + b > budget) {
    a = Math.floor(budget / 2);
    b = a + (budget % 2);
  }
  return swap ? [b, a] : [a, b];
}

/** Padding length for a batch: the longest sequence, or `maxLength`, rounded up to a multiple. */
export function paddedLength(lengths: readonly number[], mode: 'longest' | 'max_length', maxLength: number | undefined, padToMultipleOf: number | undefined): number {
  let len: number;
  if (mode === 'max_length') {
    if (maxLength === undefined) throw new Error("padding 'max_length' needs maxLength");
    len = Math.max(maxLength, ...lengths);
  } else {
    len = lengths.length ? Math.max(...lengths) : 0;
  }
  if (padToMultipleOf !== undefined && padToMultipleOf > 0 && len % padToMultipleOf !== 0) len += padToMultipleOf - (len % padToMultipleOf);
  return len;
}
