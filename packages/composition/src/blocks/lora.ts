import { IA3, registerLoRABlockEvaluator, type ComposeContext, type LoRABlockEvaluator, type LoRAState } from '@adapterkit/method-lora';
import { add, mul, mulScalar, sub, type Average, type BatchSplit, type CompositionBlock, type Tensor } from '@adapterkit/core';
import { batchRanges, contextOf, join, parallelRanges, rows } from './common.js';

/**
 * LoRA / (IA)³ evaluators of BatchSplit, Parallel and Average (Python
 * `LoRALinear` with the generic compose_* of ComposableAdapterLayerBase),
 * registered into method-lora's block table. Both LoRA semantics are
 * handled ('adapterkit': each adapter updates the running output;
 * 'python': adapters chain a hidden state the last one applies).
 */

const where = (ctx: ComposeContext, block: string): string => `LoRA ${block} (${ctx.layer.describe()})`;

/** Python semantics: applies a part's chained state with its last adapter (LoRA adds, (IA)³ scales). */
function finishPart(ctx: ComposeContext, s: LoRAState, block: string): Tensor {
  if (!s.last || !s.hidden) return s.output;
  const m = ctx.layer.get(s.last)!;
  if (m instanceof IA3) return mul(s.output, s.hidden);
  if (m.useDora) throw new Error(`${where(ctx, block)}: DoRA adapter '${s.last}' inside ${block} is not supported with 'python' LoRA semantics`);
  return add(s.output, s.hidden);
}

/**
 * Runs each child on its rows and joins the outputs. With 'python'
 * semantics each part is finished on its own (its last adapter applies its
 * chained state), so channels of different kinds stay correct; an adapter
 * stacked after the block then starts a new chain from the input.
 */
function overRows(block: CompositionBlock, state: LoRAState, ranges: [number, number][], ctx: ComposeContext): LoRAState {
  const parts = block.children.map((child, i) => {
    const [start, length] = ranges[i]!;
    // A chained (IA)³ state is a per-feature vector, not per row: it applies to every slice as it is.
    const h = state.hidden && state.hidden.rank === state.output.rank && state.hidden.shape[0] === state.output.shape[0] ? rows(state.hidden, start, length) : state.hidden;
    const part: LoRAState = { input: rows(state.input, start, length), output: rows(state.output, start, length), hidden: h, last: state.last };
    return length === 0 ? part : ctx.compose(child, part);
  });
  if (ctx.semantics === 'python') {
    return { input: state.input, output: join(parts.map((p) => finishPart(ctx, p, block.type)), 0), hidden: null, last: null };
  }
  return { input: state.input, output: join(parts.map((p) => p.output), 0), hidden: null, last: [...parts].reverse().find((p) => p.last)?.last ?? state.last };
}

/** BatchSplit: child i adapts its `batchSizes[i]` rows. */
export const loraBatchSplit: LoRABlockEvaluator = (block, state, ctx) =>
  overRows(block, state, batchRanges(block as BatchSplit, state.output.shape[0]!, where(ctx, 'BatchSplit')), ctx);

/** Parallel: channel i (rows [i·B, (i+1)·B) of the replicated batch) goes through child i. */
export const loraParallel: LoRABlockEvaluator = (block, state, ctx) =>
  overRows(block, state, parallelRanges(contextOf(ctx.layer.site.host), block.children.length, state.output.shape[0]!, where(ctx, 'Parallel')), ctx);

/**
 * Average of the adapters' effects with weights wᵢ (summing to 1 unless
 * `normalizeWeights` was false): 'adapterkit' semantics gives
 * y + Σᵢ wᵢ·(yᵢ − y), i.e. W₀x + b + Σ wᵢ·sᵢBᵢAᵢx for LoRA and
 * y·Σ wᵢ·lᵢ for (IA)³; 'python' semantics averages the chained states as
 * Σ wᵢ·hᵢ. Python (quirk Q3) divides by N once more: (1/N)·Σ wᵢ·hᵢ.
 * Children absent at this projection are left out of the sum.
 */
export const loraAverage: LoRABlockEvaluator = (block, state, ctx) => {
  const avg = block as Average;
  const ran: { s: LoRAState; w: number }[] = [];
  avg.children.forEach((child, i) => {
    const s = ctx.compose(child, state);
    if (s !== state) ran.push({ s, w: avg.weights[i]! });
  });
  if (!ran.length) return state;
  const last = ran[ran.length - 1]!.s.last;
  if (ctx.semantics === 'python') {
    let hidden: Tensor | null = null;
    for (const { s, w } of ran) {
      if (!s.hidden) continue;
      const term = mulScalar(s.hidden, w);
      hidden = hidden ? add(hidden, term) : term;
    }
    return { ...state, hidden, last };
  }
  let output = state.output;
  for (const { s, w } of ran) output = add(output, mulScalar(sub(s.output, state.output), w));
  return { ...state, output, last };
};

let registered = false;

/** Registers the LoRA evaluators (idempotent). */
export function registerLoRABlocks(): void {
  if (registered) return;
  registered = true;
  registerLoRABlockEvaluator('BatchSplit', loraBatchSplit);
  registerLoRABlockEvaluator('Parallel', loraParallel);
  registerLoRABlockEvaluator('Average', loraAverage);
}
