import {
  cast, concat, full, mean, mul, narrow, reshape, sigmoid,
  type AdapterSetup, type BlockType, type CompositionBlock, type Tensor,
} from '@adapterkit/core';
import type { PrefixTuningLayer } from './layer.js';
import type { PrefixKV } from './modules.js';

/**
 * What flows through a composition at one attention layer (Python
 * `PrefixTuningState`): keys/values [batch, kvHeads, keys, headDim], the mask
 * as the model gives it (additive float or u8 keep-mask, broadcastable to
 * [batch, heads, queries, keys]; null = attend everything) and the attention
 * input (gates read it).
 */
export interface PrefixState {
  key: Tensor;
  value: Tensor;
  mask: Tensor | null;
  hidden: Tensor;
}

/** Everything a block evaluator needs besides the block and the state. */
export interface PrefixComposeContext {
  readonly layer: PrefixTuningLayer;
  /** This layer's prefix keys/values of an adapter for `batch` rows (computed once per forward pass). */
  prefixOf(name: string, batch: number): PrefixKV;
  /** Evaluates a child: an adapter name (a no-op if it has no prefix here) or a nested block. */
  compose(setup: AdapterSetup, state: PrefixState): PrefixState;
}

/** Evaluates one composition block type for prefix tuning (Stack here; Parallel, BatchSplit can be added). */
export type PrefixBlockEvaluator = (block: CompositionBlock, state: PrefixState, ctx: PrefixComposeContext) => PrefixState;

const evaluators = new Map<BlockType, PrefixBlockEvaluator>();

/** Adds (or replaces) how prefix tuning evaluates a composition block type. */
export function registerPrefixBlockEvaluator(type: BlockType, evaluator: PrefixBlockEvaluator): void {
  evaluators.set(type, evaluator);
}

/** Block types prefix tuning evaluates now. */
export function prefixSupportedBlocks(): BlockType[] {
  return [...evaluators.keys()];
}

/**
 * Stack: each adapter prepends its prefix to the keys so far, so the last
 * one's prefix comes first ([P_b; P_a; K] for Stack(a, b)), as Python's compose_stack.
 */
registerPrefixBlockEvaluator('Stack', (block, state, ctx) => {
  let s = state;
  for (const child of block.children) s = ctx.compose(child, s);
  return s;
});

/** Evaluates a setup (a name or a block) on a state. */
export function composePrefix(setup: AdapterSetup, state: PrefixState, ctx: PrefixComposeContext): PrefixState {
  if (typeof setup === 'string') return composeSingle(setup, state, ctx);
  const evaluate = evaluators.get(setup.type);
  if (!evaluate) {
    throw new Error(`prefix tuning does not support composition block ${setup.type} (in ${setup.toString()}); supported: ${prefixSupportedBlocks().join(', ')}`);
  }
  return evaluate(setup, state, ctx);
}

/** Mask entries for `length` prefix keys that are always attended: 1 in a u8 keep-mask, 0 in an additive mask. */
export function prefixMaskBlock(mask: Tensor, length: number): Tensor {
  const shape = [...mask.shape];
  shape[shape.length - 1] = length;
  return full(shape, mask.dtype === 'u8' ? 1 : 0, { dtype: mask.dtype, backend: mask.backend });
}

/** Prepends `length` attended key slots to a mask (null stays null: everything is attended). */
export function extendMask(mask: Tensor | null, length: number): Tensor | null {
  if (!mask) return null;
  return concat([prefixMaskBlock(mask, length), mask], -1);
}

/**
 * One adapter (Python `compose_single`): its prefix keys/values, scaled by
 * its gate when it has one, are prepended along the key axis; the mask gets
 * matching attended entries.
 */
export function composeSingle(name: string, state: PrefixState, ctx: PrefixComposeContext): PrefixState {
  if (!ctx.layer.prefixes.has(name)) return state;
  const batch = state.key.shape[0]!;
  let { key: pk, value: pv } = ctx.prefixOf(name, batch);
  const gate = ctx.layer.prefix_gates.get(name);
  if (gate) {
    // mean over the sequence of sigmoid(gate(h)): [batch, 1 | 2]; column 0 scales keys, the last one values.
    const g = mean(sigmoid(gate.forward(state.hidden)), 1);
    const cols = g.shape[1]!;
    pk = mul(pk, reshape(narrow(g, 1, 0, 1), [batch, 1, 1, 1]));
    pv = mul(pv, reshape(narrow(g, 1, cols - 1, 1), [batch, 1, 1, 1]));
  }
  if (pk.dtype !== state.key.dtype) pk = cast(pk, state.key.dtype);
  if (pv.dtype !== state.value.dtype) pv = cast(pv, state.value.dtype);
  return {
    key: concat([pk, state.key], 2),
    value: concat([pv, state.value], 2),
    mask: extendMask(state.mask, pk.shape[2]!),
    hidden: state.hidden,
  };
}
