import { HostRandom, hash2 } from '@adapterkit/core';

/** Options of `epochOrder`. */
export interface EpochOrderOptions {
  /** Run seed (TrainingArguments.seed). */
  seed: number;
  /** 0-based epoch: each epoch gets its own permutation, derived from (seed, epoch). */
  epoch: number;
  /** Shuffle (default true); false keeps file order (evaluation). */
  shuffle?: boolean;
  /**
   * Lengths of the examples: when given, the shuffled order is cut into
   * chunks of `chunkSize` and each chunk is sorted longest first, so batches
   * hold similar lengths and pad less (HF group_by_length).
   */
  lengths?: readonly number[];
  /** Chunk size for length grouping (HF uses 50 × batch size). */
  chunkSize?: number;
}

/** The seed of an epoch's shuffle: a pure function of (seed, epoch), so a resumed run replays it without state. */
export function epochSeed(seed: number, epoch: number): number {
  return hash2(seed >>> 0, (0x9e3779b9 + epoch) >>> 0);
}

/**
 * The order in which an epoch visits the examples: a seeded permutation
 * (Fisher–Yates on core's counter-based HostRandom), optionally grouped by
 * length. Deterministic in (n, seed, epoch, lengths).
 */
export function epochOrder(n: number, opts: EpochOrderOptions): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (opts.shuffle === false) return order;
  new HostRandom(epochSeed(opts.seed, opts.epoch)).shuffle(order);
  const lengths = opts.lengths;
  if (!lengths) return order;
  if (lengths.length !== n) throw new Error(`epochOrder: ${lengths.length} lengths for ${n} examples`);
  const chunk = Math.max(1, opts.chunkSize ?? 50);
  const out: number[] = [];
  for (let s = 0; s < n; s += chunk) {
    // Stable sort, longest first, ties in shuffled order.
    const part = order.slice(s, s + chunk).sort((a, b) => lengths[b]! - lengths[a]!);
    out.push(...part);
  }
  return out;
}

/** Cuts an order into batches of `batchSize` (the last may be shorter unless `dropLast`). */
export function batchesOf(order: readonly number[], batchSize: number, dropLast = false): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchesOf: batchSize must be a positive integer, got ${batchSize}`);
  const out: number[][] = [];
  for (let s = 0; s < order.length; s += batchSize) {
    const b = order.slice(s, s + batchSize);
    if (dropLast && b.length < batchSize) break;
    out.push(b);
  }
  return out;
}

/** Seed of one batch's randomness (MLM masking): a pure function of (seed, epoch, batch index). */
export function batchSeed(seed: number, epoch: number, batchIndex: number): number {
  return hash2(epochSeed(seed, epoch), (batchIndex * 2 + 1) >>> 0);
}
