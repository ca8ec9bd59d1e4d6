import type { AdapterSetup, BlockType, CompositionBlock, ModuleDict, ResidualSite, Tensor } from '@adapterkit/core';
import type { BottleneckAdapter, LayerNormFn } from './adapter.js';

/**
 * The state a bottleneck site threads through a composition (Python
 * `BottleneckState`): current hidden states, the sub-layer's residual input,
 * the adapters' residual, the model's LN, the last adapter's scaled
 * up-projection (for Fuse) and the last adapter applied.
 */
export interface BottleneckState {
  hidden: Tensor;
  inputTensor: Tensor;
  adapterResidual: Tensor;
  layerNorm: LayerNormFn;
  bottleneckUp: Tensor | null;
  last: string | null;
}

/** The adapters of one site (a Python `BottleneckLayer`): what block evaluators work on. */
export interface BottleneckSiteView {
  /** Adapter name → its module at this site. */
  readonly adapters: ModuleDict<BottleneckAdapter>;
  /** Layer index (for messages). */
  readonly layer: number;
  /** 'mh_adapter' | 'output_adapter'. */
  readonly location: string;
  /** The residual site itself (block evaluators reach the forward context and the site's holder through it). */
  readonly site?: ResidualSite;
}

/** Evaluates one composition block on a site's state (Python `compose_<block>`). */
export type BottleneckBlockEvaluator = (site: BottleneckSiteView, block: CompositionBlock, state: BottleneckState, lvl: number) => BottleneckState;

const evaluators = new Map<BlockType, BottleneckBlockEvaluator>();

/**
 * Adds (or replaces) the evaluator of a composition block for bottleneck
 * adapters; @adapterkit/composition registers Fuse, Split, BatchSplit,
 * Parallel and Average here. The method's `supportedBlocks` follows this table.
 */
export function registerBottleneckBlock(type: BlockType, evaluator: BottleneckBlockEvaluator): void {
  evaluators.set(type, evaluator);
}

/** Blocks the bottleneck method can evaluate now. */
export function bottleneckBlocks(): BlockType[] {
  return [...evaluators.keys()];
}

/** Python `pre_block`: the first adapter of `setup` prepares the input and residual. */
export function preBlock(site: BottleneckSiteView, setup: AdapterSetup, state: BottleneckState): BottleneckState {
  const name = typeof setup === 'string' ? setup : setup.first();
  const adapter = site.adapters.get(name);
  if (!adapter) return state;
  const { hidden, residual } = adapter.preForward(state.hidden, state.inputTensor, state.layerNorm);
  return { ...state, hidden, adapterResidual: residual };
}

/** Python `compose_single`: one adapter on the current state. */
export function composeSingle(site: BottleneckSiteView, name: string, state: BottleneckState): BottleneckState {
  const adapter = site.adapters.get(name)!;
  const out = adapter.forward(state.hidden, state.adapterResidual);
  return { ...state, hidden: out.output, bottleneckUp: out.up, last: name };
}

/** Evaluates any setup node: a block through its evaluator, a name as a single adapter. */
export function composeBlock(site: BottleneckSiteView, setup: AdapterSetup, state: BottleneckState, lvl: number): BottleneckState {
  if (typeof setup === 'string') return site.adapters.has(setup) ? composeSingle(site, setup, state) : state;
  const evaluate = evaluators.get(setup.type);
  if (!evaluate) {
    throw new Error(`bottleneck adapters: composition block ${setup.type} cannot be evaluated (layer ${site.layer}, ${site.location}); ` +
      `supported: ${bottleneckBlocks().join(', ')} — import @adapterkit/composition for the other blocks`);
  }
  return evaluate(site, setup, state, lvl);
}

/**
 * Stack: adapters one after another (Python `compose_stack`). As in the
 * Python code (adapters 1.2/1.3), *every* adapter of the stack runs its own
 * `pre_forward` on the previous adapter's output (`pre_block` per child), then
 * consumes it with the previous output as its residual; the last adapter's
 * `post_forward` is applied by the site afterwards. For seq_bn that means
 * adapter 2 sees LN(out₁ + x) and its residual is out₁. Adapters absent at
 * this site (leave_out) are skipped.
 */
export const composeStack: BottleneckBlockEvaluator = (site, block, state, lvl) => {
  let s = state;
  for (const child of block.children) {
    if (typeof child !== 'string') {
      if (lvl >= 1) throw new Error(`bottleneck adapters: adapter setup is too deep: cannot have ${child.type} inside a nested Stack (layer ${site.layer})`);
      s = composeBlock(site, child, s, lvl + 1);
    } else if (site.adapters.has(child)) {
      s = composeSingle(site, child, preBlock(site, child, s));
    }
  }
  return s;
};

registerBottleneckBlock('Stack', composeStack);
