import type { HostRandom } from '../random/generator.js';

/** Sampling settings of one step (see GenerateOptions). */
export interface SamplingOptions {
  temperature: number;
  topK: number;
  topP: number;
}

/** Index of the largest value (first one on ties, as torch.argmax). */
export function argmaxHost(logits: ArrayLike<number>, start = 0, length = logits.length - start): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = logits[start + i]!;
    if (v > bestValue || (Number.isNaN(v) && !Number.isNaN(bestValue))) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

/**
 * Draws a token from one row of logits as HF's sampling does: divide by the
 * temperature, keep the top-k logits, then the smallest most-likely set whose
 * probability reaches top-p (always at least one token), renormalise and
 * draw with one uniform number from `rng`. Computed in f64 on the host.
 */
export function sampleToken(logits: ArrayLike<number>, start: number, vocab: number, opts: SamplingOptions, rng: HostRandom): number {
  const order = Array.from({ length: vocab }, (_, i) => i);
  const scaled = new Float64Array(vocab);
  for (let i = 0; i < vocab; i++) scaled[i] = logits[start + i]! / opts.temperature;
  // Descending by logit, ties by id so the draw is reproducible.
  order.sort((a, b) => scaled[b]! - scaled[a]! || a - b);
  let keep = opts.topK > 0 ? Math.min(opts.topK, vocab) : vocab;
  const maxLogit = scaled[order[0]!]!;
  const probs = new Float64Array(keep);
  let total = 0;
  for (let r = 0; r < keep; r++) {
    probs[r] = Math.exp(scaled[order[r]!]! - maxLogit);
    total += probs[r]!;
  }
  if (opts.topP < 1) {
    let cum = 0;
    let cut = keep;
    for (let r = 0; r < keep; r++) {
      cum += probs[r]! / total;
      if (cum >= opts.topP) {
        cut = r + 1;
        break;
      }
    }
    keep = cut;
    total = 0;
    for (let r = 0; r < keep; r++) total += probs[r]!;
  }
  const u = rng.next() * total;
  let acc = 0;
  for (let r = 0; r < keep; r++) {
    acc += probs[r]!;
    if (u < acc) return order[r]!;
  }
  return order[keep - 1]!;
}
