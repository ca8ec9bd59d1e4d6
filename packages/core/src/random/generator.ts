import { hash2 } from './hash.js';

/**
 * The global random stream: a seed plus a counter. Each random kernel call
 * takes `size` counters, so a run is reproducible from its seed, and saving
 * and restoring the state replays the same numbers (checkpoint, resume).
 */
export interface RngState {
  seed: number;
  counter: number;
}

let state: RngState = { seed: 0x2545f491, counter: 0 };

/** Seeds the global random stream (tensor init, dropout, shuffles). */
export function manualSeed(seed: number): void {
  state = { seed: seed >>> 0, counter: 0 };
}

export function getRngState(): RngState {
  return { ...state };
}

export function setRngState(s: RngState): void {
  state = { seed: s.seed >>> 0, counter: s.counter };
}

/** Reserves `n` counters for one random kernel call. */
export function takeRandomCounters(n: number): RngState {
  const taken = { ...state };
  state.counter = (state.counter + n) % 4294967296;
  return taken;
}

/** A host-side random stream for data shuffling and sampling, independent of the global one. */
export class HostRandom {
  private counter = 0;
  constructor(private readonly seed: number) {}

  /** Uniform in [0, 1) with 32 bits. */
  next(): number {
    return hash2(this.seed, this.counter++) / 4294967296;
  }

  /** Integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}
