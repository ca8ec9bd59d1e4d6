import {
  add, cast, mul, reshape, sub, tidy,
  type AdapterSetup, type BlockType, type CompositionBlock, type LinearHook, type LinearSite, type Tensor,
} from '@adapterkit/core';
import { doraScale } from './dora.js';
import { LoRALayer } from './layer.js';
import { IA3, LoRA, scaleBy, type LoRALike } from './modules.js';
import { loraSemanticsOf, type LoRASemantics } from './semantics.js';

/**
 * What flows through a composition at one projection (Python `LoRAState`).
 * With 'adapterkit' semantics `output` is the running output each adapter
 * updates in turn; with 'python' semantics `output` stays the base output
 * and `hidden` carries the chained adapter state (Δ or a scale vector).
 */
export interface LoRAState {
  /** The projection's input x [batch, seq, in]. */
  input: Tensor;
  output: Tensor;
  hidden: Tensor | null;
  /** The last adapter applied (its composition mode decides how `hidden` is combined in 'python' semantics). */
  last: string | null;
}

/** Everything a block evaluator needs besides the block and the state. */
export interface ComposeContext {
  readonly layer: LoRALayer;
  readonly semantics: LoRASemantics;
  /** Evaluates a child: an adapter name (a no-op if it is not at this layer) or a nested block. */
  compose(setup: AdapterSetup, state: LoRAState): LoRAState;
}

/** Evaluates one composition block type for the LoRA family (Stack here; BatchSplit, Parallel … can be added). */
export type LoRABlockEvaluator = (block: CompositionBlock, state: LoRAState, ctx: ComposeContext) => LoRAState;

const evaluators = new Map<BlockType, LoRABlockEvaluator>();

/** Adds (or replaces) how the LoRA family evaluates a composition block type. */
export function registerLoRABlockEvaluator(type: BlockType, evaluator: LoRABlockEvaluator): void {
  evaluators.set(type, evaluator);
}

/** Block types the LoRA family can evaluate now. */
export function loraSupportedBlocks(): BlockType[] {
  return [...evaluators.keys()];
}

/** Stack: children one after another (Python compose_stack). */
const composeStack: LoRABlockEvaluator = (block, state, ctx) => {
  let s = state;
  for (const child of block.children) s = ctx.compose(child, s);
  return s;
};
registerLoRABlockEvaluator('Stack', composeStack);

/** The layer's gate for a module, or null when ungated. */
function gateOf(m: LoRALike, x: Tensor): Tensor | null {
  return m.useGating ? (m as LoRA | IA3).gateOf(x) : null;
}

/**
 * One adapter, 'adapterkit' semantics: LoRA adds s·g·B·A·x to the running
 * output; (IA)³ multiplies it by l·alpha·g; DoRA (alone at the layer)
 * rescales the base projection's rows.
 */
function singleAdapterkit(m: LoRALike, name: string, state: LoRAState, layer: LoRALayer): LoRAState {
  const x = state.input;
  const g = gateOf(m, x);
  if (m instanceof IA3) {
    let s = scaleBy(m.vector(state.output.dtype), m.alpha);
    if (g) s = mul(s, cast(g, s.dtype));
    return { ...state, output: mul(state.output, s), last: name };
  }
  const lora = m as LoRA;
  let delta = scaleBy(lora.lowRank(x), lora.scaling);
  if (g) delta = mul(delta, cast(g, delta.dtype));
  if (lora.useDora) {
    // y = m/‖W + sBA‖ ⊙ (W x + s B A x) + b: the bias is not rescaled (DoRA paper, PEFT), so a merge is exact.
    const { weight, bias } = layer.linear;
    const ns = reshape(doraScale(lora, weight, lora.scaling), [lora.outFeatures]);
    const wx = bias ? sub(state.output, bias) : state.output;
    const out = mul(add(wx, delta), cast(ns, delta.dtype));
    return { ...state, output: bias ? add(out, bias) : out, last: name };
  }
  return { ...state, output: add(state.output, delta), last: name };
}

/**
 * One adapter, 'python' semantics (adapters' LoRA/IA3 forward): the input is
 * the previous adapter's state when there is one; a gate replaces alpha/r.
 */
function singlePython(m: LoRALike, name: string, state: LoRAState): LoRAState {
  const x = state.input;
  const g = gateOf(m, x);
  let hidden: Tensor;
  if (m instanceof IA3) {
    const l = m.vector(state.output.dtype);
    hidden = state.hidden ? mul(state.hidden, l) : l;
    hidden = g ? mul(hidden, cast(g, hidden.dtype)) : scaleBy(hidden, m.alpha);
  } else {
    const lora = m as LoRA;
    hidden = lora.lowRank(state.hidden ?? x);
    hidden = g ? mul(hidden, cast(g, hidden.dtype)) : scaleBy(hidden, lora.scaling);
  }
  return { ...state, hidden, last: name };
}

/** Python's final step: the last adapter combines the chained state with the base output. */
function finishPython(state: LoRAState, layer: LoRALayer): Tensor {
  if (!state.last || !state.hidden) return state.output;
  const last = layer.get(state.last)!;
  if (last instanceof IA3) return mul(state.output, state.hidden);
  const lora = last as LoRA;
  if (lora.useDora) {
    // Python: m/‖W + BA‖ (unscaled BA, Q13) times the whole output, bias included.
    const ns = reshape(doraScale(lora, layer.linear.weight, 1), [lora.outFeatures]);
    return mul(add(state.output, state.hidden), cast(ns, state.output.dtype));
  }
  return add(state.output, state.hidden);
}

/** Builds the ComposeContext of one forward call at one layer. */
function contextFor(layer: LoRALayer, semantics: LoRASemantics, skip: string | null): ComposeContext {
  const ctx: ComposeContext = {
    layer,
    semantics,
    compose(setup, state) {
      if (typeof setup === 'string') {
        const m = layer.get(setup);
        if (!m || setup === skip) return state;
        return semantics === 'python' ? singlePython(m, setup, state) : singleAdapterkit(m, setup, state, layer);
      }
      const evaluate = evaluators.get(setup.type);
      if (!evaluate) {
        throw new Error(`LoRA (${layer.describe()}): composition block ${setup.type} is not supported yet; supported: ${loraSupportedBlocks().join(', ')}`);
      }
      return evaluate(setup, state, ctx);
    },
  };
  return ctx;
}

/**
 * The hook of one LoRA layer: runs the active setup's adapters that live
 * here; null (no change) when none of them does, or when the only one is
 * merged into the weight already.
 */
export function makeLoRAHook(layer: LoRALayer, site: LinearSite): LinearHook {
  return ({ x, output, setup }) => {
    const present = setup.flatten().filter((n) => layer.has(n));
    if (!present.length) return null;
    const semantics = loraSemanticsOf(site.host);
    const merged = layer.merged?.name ?? null;
    // Python skips every adapter of a merged layer; adapterkit skips only the merged one (it is in the weight).
    if (merged !== null && semantics === 'python') return null;
    const live = present.filter((n) => n !== merged);
    if (!live.length) return null;
    if (semantics === 'adapterkit' && live.length > 1) {
      const dora = live.find((n) => layer.get(n)!.useDora);
      if (dora) throw new Error(`LoRA (${layer.describe()}): DoRA adapter '${dora}' cannot be composed with other adapters at the same projection (${live.join(', ')})`);
    }
    return tidy(() => {
      const ctx = contextFor(layer, semantics, merged);
      const state = ctx.compose(setup, { input: x, output, hidden: null, last: null });
      return semantics === 'python' ? finishPython(state, layer) : state.output;
    });
  };
}
