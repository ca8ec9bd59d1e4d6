import { tensor } from '@adapterkit/core';
import type { Batch, CollateContext, DataCollator } from './batch.js';
import type { Feature } from './features.js';

/** Options of `paddingCollator`. */
export interface PaddingCollatorOptions {
  /** Id used for padding (the tokenizer's pad id; default 0). */
  padTokenId?: number;
  /** Round the padded length up to a multiple of this (tensor cores like multiples of 8). */
  padToMultipleOf?: number;
  /** Labels are regression values (f32) instead of class ids (i32). Default: inferred from non-integer labels. */
  regression?: boolean;
}

/** A batch padded on the host: row-major [n, len] arrays. */
export interface HostPadded {
  n: number;
  len: number;
  ids: Int32Array;
  mask: Int32Array;
  /** Token type ids, when every feature has them. */
  types?: Int32Array;
  /** Real tokens in the batch. */
  tokens: number;
}

/** Pads features on the right to the longest (rounded up to `multiple`). */
export function padHost(features: readonly Feature[], pad: number, multiple = 1): HostPadded {
  if (features.length === 0) throw new Error('collator: empty batch');
  const n = features.length;
  const len = Math.ceil(Math.max(...features.map((f) => f.inputIds.length)) / multiple) * multiple;
  const ids = new Int32Array(n * len).fill(pad);
  const mask = new Int32Array(n * len);
  const hasTypes = features.every((f) => f.tokenTypeIds);
  const types = hasTypes ? new Int32Array(n * len) : undefined;
  let tokens = 0;
  features.forEach((f, r) => {
    ids.set(f.inputIds, r * len);
    mask.fill(1, r * len, r * len + f.inputIds.length);
    if (types) types.set(f.tokenTypeIds!, r * len);
    tokens += f.inputIds.length;
  });
  return { n, len, ids, mask, types, tokens };
}

/**
 * Dynamic padding (HF DataCollatorWithPadding): pads every feature on the
 * right to the longest in the batch; attention mask 1 on tokens, 0 on
 * padding; token type ids padded with 0. Labels become i32 class ids, f32
 * values for regression, or [batch, seq] i32 token labels padded with -100.
 */
export function paddingCollator(opts: PaddingCollatorOptions = {}): DataCollator {
  const pad = opts.padTokenId ?? 0;
  const multiple = opts.padToMultipleOf ?? 1;
  if (!Number.isInteger(multiple) || multiple < 1) throw new RangeError(`paddingCollator: padToMultipleOf must be a positive integer, got ${multiple}`);
  return (features: readonly Feature[], ctx: CollateContext): Batch => {
    const host = padHost(features, pad, multiple);
    const { n, len } = host;
    const create = { dtype: 'i32' as const, backend: ctx.backend };
    const batch: Batch = {
      inputs: { inputIds: tensor(host.ids, [n, len], create), attentionMask: tensor(host.mask, [n, len], create) },
      size: n,
      tokens: host.tokens,
    };
    if (host.types) batch.inputs.tokenTypeIds = tensor(host.types, [n, len], create);
    const labelled = features.filter((f) => f.label !== undefined).length;
    if (labelled > 0 && labelled < n) throw new Error(`paddingCollator: ${n - labelled} of ${n} features in the batch have no label`);
    if (labelled === n) {
      if (Array.isArray(features[0]!.label)) {
        const lab = new Int32Array(n * len).fill(-100);
        features.forEach((f, r) => lab.set(f.label as number[], r * len));
        batch.inputs.labels = tensor(lab, [n, len], create);
      } else {
        const values = features.map((f) => f.label as number);
        const regression = opts.regression ?? values.some((v) => !Number.isInteger(v));
        batch.inputs.labels = regression
          ? tensor(Float32Array.from(values), [n], { dtype: 'f32', backend: ctx.backend })
          : tensor(Int32Array.from(values), [n], create);
        batch.labels = Float64Array.from(values);
      }
    }
    return batch;
  };
}
