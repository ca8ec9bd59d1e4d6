import { registerPrefixBlockEvaluator, type PrefixBlockEvaluator, type PrefixComposeContext, type PrefixState } from '@adapterkit/method-prefix';
import { concat, expand, full, maskValue, zeros, type BatchSplit, type CompositionBlock, type Tensor } from '@adapterkit/core';
import { batchRanges, contextOf, join, parallelRanges, rows } from './common.js';

/**
 * Prefix-tuning evaluators of BatchSplit and Parallel (Python
 * `PrefixTuningLayer` with the generic compose_*), registered into
 * method-prefix's block table. Each part prepends its own adapters'
 * prefixes; parts whose prefixes are shorter are padded at the front to
 * the longest, and the padded slots are masked out (Python pads the keys
 * and values with pad_token_id and — for BERT's additive masks — the mask
 * with +1, so its padded slots are attended; here they never are).
 */

const where = (ctx: PrefixComposeContext, block: string): string => `prefix tuning ${block} (layer ${ctx.layer.site.layer})`;

/** A mask's rows; a mask that broadcasts over the batch (first axis 1) serves every slice. */
function maskRows(mask: Tensor | null, start: number, length: number): Tensor | null {
  if (!mask || mask.shape[0] === 1) return mask;
  return rows(mask, start, length);
}

/**
 * Pads a part's keys/values at the front to `length` slots and masks the
 * padding. With `needMask` a part without a mask gets an all-attend one
 * (additive zeros, the kind BERT uses: only BERT runs without a mask), and
 * a mask shared over the batch is expanded to the part's rows.
 */
function padPart(s: PrefixState, length: number, needMask: boolean): { key: Tensor; value: Tensor; mask: Tensor | null } {
  const r = s.key.shape[0]!;
  const pad = length - s.key.shape[2]!;
  let mask = s.mask;
  if (needMask && !mask) mask = zeros([r, 1, 1, s.key.shape[2]!], { dtype: s.key.dtype, backend: s.key.backend });
  if (mask && mask.shape[0] !== r) mask = expand(mask, [r, ...mask.shape.slice(1)]);
  if (pad === 0) return { key: s.key, value: s.value, mask };
  const [, heads, , dim] = s.key.shape as [number, number, number, number];
  const key = concat([zeros([r, heads, pad, dim], { dtype: s.key.dtype, backend: s.key.backend }), s.key], 2);
  const value = concat([zeros([r, heads, pad, dim], { dtype: s.value.dtype, backend: s.value.backend }), s.value], 2);
  const blocked = mask!.dtype === 'u8' ? 0 : maskValue(mask!.dtype);
  const block = full([r, ...mask!.shape.slice(1, -1), pad], blocked, { dtype: mask!.dtype, backend: mask!.backend });
  return { key, value, mask: concat([block, mask!], -1) };
}

/** Runs each child on its rows and joins the parts (Python vslice / pad_and_concat). */
function overRows(block: CompositionBlock, state: PrefixState, ranges: [number, number][], ctx: PrefixComposeContext): PrefixState {
  const parts = block.children.map((child, i) => {
    const [start, length] = ranges[i]!;
    const part: PrefixState = {
      key: rows(state.key, start, length),
      value: rows(state.value, start, length),
      mask: maskRows(state.mask, start, length),
      hidden: rows(state.hidden, start, length),
    };
    return length === 0 ? part : ctx.compose(child, part);
  });
  const longest = Math.max(...parts.map((p) => p.key.shape[2]!));
  const anyMask = parts.some((p) => p.mask) || parts.some((p) => p.key.shape[2] !== longest);
  const padded = parts.map((p) => padPart(p, longest, anyMask));
  return {
    key: join(padded.map((p) => p.key), 0),
    value: join(padded.map((p) => p.value), 0),
    mask: anyMask ? join(padded.map((p) => p.mask!), 0) : null,
    hidden: state.hidden,
  };
}

/** BatchSplit: child i adds its prefixes to its `batchSizes[i]` rows. */
export const prefixBatchSplit: PrefixBlockEvaluator = (block, state, ctx) =>
  overRows(block, state, batchRanges(block as BatchSplit, state.key.shape[0]!, where(ctx, 'BatchSplit')), ctx);

/** Parallel: channel i (rows [i·B, (i+1)·B) of the replicated batch) gets child i's prefixes. */
export const prefixParallel: PrefixBlockEvaluator = (block, state, ctx) =>
  overRows(block, state, parallelRanges(contextOf(ctx.layer.site.host), block.children.length, state.key.shape[0]!, where(ctx, 'Parallel')), ctx);

let registered = false;

/** Registers the prefix-tuning evaluators (idempotent). */
export function registerPrefixBlocks(): void {
  if (registered) return;
  registered = true;
  registerPrefixBlockEvaluator('BatchSplit', prefixBatchSplit);
  registerPrefixBlockEvaluator('Parallel', prefixParallel);
}
