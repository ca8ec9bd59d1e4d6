import { HostRandom, tensor } from '@adapterkit/core';
import type { Batch, CollateContext, DataCollator } from './batch.js';
import { padHost } from './collator.js';
import { specialTokensMaskOf, type Feature, type TokenizerLike } from './features.js';

/** Label value the loss ignores. */
export const IGNORE_INDEX = -100;

/** Options of `mlmCollator`. */
export interface MlmCollatorOptions {
  /** Id of [MASK]. */
  maskTokenId: number;
  /** Vocabulary size (random replacement ids are drawn from [0, vocabSize)). */
  vocabSize: number;
  /** Padding id (default 0). */
  padTokenId?: number;
  /** Fraction of tokens to predict (default 0.15). */
  mlmProbability?: number;
  padToMultipleOf?: number;
}

/**
 * Masked-LM collator (HF DataCollatorForLanguageModeling): pads, then
 * selects each non-special, non-padding token with probability 0.15; of
 * those, 80% become [MASK], 10% a random token, 10% stay. Labels are the
 * original ids at selected positions and -100 elsewhere. Randomness comes
 * from the batch seed (core HostRandom), so a batch is reproducible and a
 * resumed run masks the same way.
 */
export function mlmCollator(opts: MlmCollatorOptions): DataCollator {
  const p = opts.mlmProbability ?? 0.15;
  if (!(p > 0 && p < 1)) throw new RangeError(`mlmCollator: mlmProbability must be in (0, 1), got ${p}`);
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 1) throw new RangeError(`mlmCollator: vocabSize must be a positive integer, got ${opts.vocabSize}`);
  const padId = opts.padTokenId ?? 0;
  const multiple = opts.padToMultipleOf ?? 1;
  return (features: readonly Feature[], ctx: CollateContext): Batch => {
    const { n, len, ids, mask, types, tokens } = padHost(features, padId, multiple);
    const labels = new Int32Array(n * len).fill(IGNORE_INDEX);
    const rng = new HostRandom(ctx.seed);
    features.forEach((f, r) => {
      const special = f.specialTokensMask;
      for (let j = 0; j < f.inputIds.length; j++) {
        // Three draws per real token whatever happens, so each position's numbers do not depend on the others.
        const select = rng.next() < p;
        const action = rng.next();
        const replacement = rng.nextInt(opts.vocabSize);
        if (!select || special?.[j] === 1) continue;
        const k = r * len + j;
        labels[k] = ids[k]!;
        if (action < 0.8) ids[k] = opts.maskTokenId;
        else if (action < 0.9) ids[k] = replacement;
      }
    });
    const create = { dtype: 'i32' as const, backend: ctx.backend };
    const batch: Batch = {
      inputs: { inputIds: tensor(ids, [n, len], create), attentionMask: tensor(mask, [n, len], create), labels: tensor(labels, [n, len], create) },
      size: n,
      tokens,
    };
    if (types) batch.inputs.tokenTypeIds = tensor(types, [n, len], create);
    return batch;
  };
}

/** Options of `mlmFeatures`. */
export interface MlmFeatureOptions {
  /** Block length (run_mlm's max_seq_length; default 128). */
  maxSeqLength?: number;
  /**
   * One example per non-empty line, truncated (run_mlm --line_by_line).
   * Default false: lines are tokenized, concatenated and cut into blocks of
   * maxSeqLength (run_mlm's group_texts; the last partial block is dropped).
   */
  lineByLine?: boolean;
}

/** Tokenizes a corpus for masked-LM training (run_mlm.py's two modes), with special-token masks. */
export function mlmFeatures(tokenizer: TokenizerLike, lines: readonly string[], opts: MlmFeatureOptions = {}): Feature[] {
  const max = opts.maxSeqLength ?? 128;
  if (!Number.isInteger(max) || max < 2) throw new RangeError(`mlmFeatures: maxSeqLength must be an integer ≥ 2, got ${max}`);
  const texts = lines.filter((l) => l.trim() !== '');
  if (opts.lineByLine) {
    return texts.map((t) => {
      const e = tokenizer.encode(t, undefined, { maxLength: max, truncation: true });
      return { inputIds: e.ids, tokenTypeIds: e.tokenTypeIds, specialTokensMask: specialTokensMaskOf(tokenizer, e.ids, e.tokens) };
    });
  }
  const ids: number[] = [];
  const special: number[] = [];
  for (const t of texts) {
    const e = tokenizer.encode(t, undefined, { truncation: false });
    for (const id of e.ids) ids.push(id);
    for (const s of specialTokensMaskOf(tokenizer, e.ids, e.tokens)) special.push(s);
  }
  const out: Feature[] = [];
  for (let s = 0; s + max <= ids.length; s += max) {
    out.push({ inputIds: ids.slice(s, s + max), tokenTypeIds: new Array<number>(max).fill(0), specialTokensMask: special.slice(s, s + max) });
  }
  return out;
}
