import {
  ParallelBottleneckAdapter, composeBlock, composeSingle, preBlock, registerBottleneckBlock,
  type BottleneckBlockEvaluator, type BottleneckSiteView, type BottleneckState,
} from '@adapterkit/method-bottleneck';
import { add, mulScalar, type AdapterSetup, type Average, type BatchSplit, type Fuse, type Split, type Tensor } from '@adapterkit/core';
import { fusionLayerAt } from '../fusion/registry.js';
import { recordFusionAttention } from '../fusion/attentions.js';
import { batchRanges, contextOf, join, parallelRanges, positions, rows, splitRanges } from './common.js';

/**
 * Bottleneck evaluators of Fuse, Split, BatchSplit, Parallel and Average
 * (Python `BottleneckLayer.compose_*` and the generic ones of
 * `ComposableAdapterLayerBase`), registered into method-bottleneck's block
 * table.
 *
 * Split, BatchSplit, Parallel and Average run each child as it would run
 * alone: an adapter after its own pre_forward, a nested block as it is (it
 * pre-processes itself), on its part of the state; the last adapter's
 * post_forward then closes the sub-layer for all rows (in the site hook).
 * With children of one kind this is exactly Python, which applies the
 * block's first adapter's pre_forward to the whole state once (so a nested
 * Stack pre-processes its first adapter's input twice there, and an absent
 * first adapter is a KeyError). A child absent at a site (leave_out, other
 * location flags) passes its part through unchanged, so with sequential
 * adapters its rows equal the model without adapters there. Fuse follows
 * Python exactly.
 */

const where = (site: BottleneckSiteView, block: string): string => `bottleneck ${block} (layer ${site.layer}, ${site.location})`;

/** Whether a child (a name or a block) has an adapter at this site. */
function presentAt(site: BottleneckSiteView, child: AdapterSetup): boolean {
  return typeof child === 'string' ? site.adapters.has(child) : child.flatten().some((n) => site.adapters.has(n));
}

/** Runs one child on a state as it would run alone: an adapter after its pre_forward, a nested block as it is, nothing when absent. */
function runAlone(site: BottleneckSiteView, child: AdapterSetup, state: BottleneckState, lvl: number): BottleneckState {
  if (typeof child !== 'string') return composeBlock(site, child, state, lvl + 1);
  return site.adapters.has(child) ? composeSingle(site, child, preBlock(site, child, state)) : state;
}

/** Runs one child on an already pre-processed state (Python compose_single / a nested compose_*), nothing when absent. */
function runChild(site: BottleneckSiteView, child: AdapterSetup, state: BottleneckState, lvl: number): BottleneckState {
  if (typeof child === 'string') return site.adapters.has(child) ? composeSingle(site, child, state) : state;
  return composeBlock(site, child, state, lvl + 1);
}

/** The state's tensors restricted to some rows (Python vslice). */
function sliceRows(s: BottleneckState, start: number, length: number): BottleneckState {
  return {
    ...s,
    hidden: rows(s.hidden, start, length),
    inputTensor: rows(s.inputTensor, start, length),
    adapterResidual: rows(s.adapterResidual, start, length),
    bottleneckUp: rows(s.bottleneckUp, start, length),
  };
}

/** Concatenates row slices back (Python pad_and_concat); `last` is the last child's adapter that ran. */
function joinRows(states: BottleneckState[], fallbackLast: string | null): BottleneckState {
  const ups = states.map((s) => s.bottleneckUp);
  return {
    ...states[0]!,
    hidden: join(states.map((s) => s.hidden), 0),
    inputTensor: join(states.map((s) => s.inputTensor), 0),
    adapterResidual: join(states.map((s) => s.adapterResidual), 0),
    bottleneckUp: ups.every((u): u is Tensor => u !== null) ? join(ups, 0) : null,
    last: [...states].reverse().find((s) => s.last)?.last ?? fallbackLast,
  };
}

/** Runs each child on its rows of the state and joins the results. */
function overRows(site: BottleneckSiteView, children: readonly AdapterSetup[], state: BottleneckState, ranges: [number, number][], lvl: number): BottleneckState {
  const parts = children.map((child, i) => {
    const [start, length] = ranges[i]!;
    const part = sliceRows(state, start, length);
    // An empty slice (batch size 0) runs nothing; its 0-row tensors keep their place in the concatenation.
    return length === 0 ? part : runAlone(site, child, part, lvl);
  });
  return joinRows(parts, state.last);
}

/**
 * Fuse (Python compose_fuse): the last fused adapter's pre_forward gives
 * the adapters' input, the fusion query and the residual; every present
 * child runs on that state (a Stack child in full); their scaled
 * up-projections are fused by the fusion layer of this site; the last
 * adapter's post_forward closes the sub-layer (in the site hook).
 */
export const composeFuse: BottleneckBlockEvaluator = (site, block, state, lvl) => {
  const fuse = block as Fuse;
  const present = fuse.children.filter((c) => presentAt(site, c));
  if (!present.length) return state;
  const layer = site.site ? fusionLayerAt(site.site, fuse.name) : undefined;
  if (!layer) {
    throw new Error(`${where(site, 'Fuse')}: no AdapterFusion '${fuse.name}' here; add it with addAdapterFusion(${JSON.stringify(fuse.name)}) (or load it) before activating ${fuse.toString()}`);
  }
  // Python takes Fuse.last(); with leave_out that adapter may be absent here, then the last present one stands in.
  const lastName = site.adapters.has(fuse.last()) ? fuse.last() : [...present].reverse().map((c) => (typeof c === 'string' ? c : c.last())).find((n) => site.adapters.has(n))!;
  const last = site.adapters.get(lastName)!;
  const pre = last.preForward(state.hidden, state.inputTensor, state.layerNorm);
  const query = last instanceof ParallelBottleneckAdapter ? state.inputTensor : layer.config.fields.query_before_ln ? state.hidden : pre.hidden;
  const s: BottleneckState = { ...state, hidden: pre.hidden, adapterResidual: pre.residual };
  const ups: Tensor[] = [];
  for (const child of present) {
    const out = runChild(site, child, s, lvl);
    if (!out.bottleneckUp) throw new Error(`${where(site, 'Fuse')}: child ${typeof child === 'string' ? `'${child}'` : child.toString()} produced no adapter output to fuse`);
    ups.push(out.bottleneckUp);
  }
  const { output, probs } = layer.forward(query, ups, s.adapterResidual);
  if (site.site) recordFusionAttention(site.site, fuse.name, probs);
  return { ...s, hidden: output, last: lastName };
};

/** Split (Python compose_split): child i adapts positions [Σ_{j<i} s_j, Σ_{j≤i} s_j) of the sequence. */
export const composeSplit: BottleneckBlockEvaluator = (site, block, state, lvl) => {
  const split = block as Split;
  const ranges = splitRanges(split, state.hidden.shape[1]!, where(site, 'Split'));
  const parts = split.children.map((child, i) => {
    const [start, length] = ranges[i]!;
    const part: BottleneckState = {
      ...state,
      hidden: positions(state.hidden, start, length),
      inputTensor: positions(state.inputTensor, start, length),
      adapterResidual: positions(state.adapterResidual, start, length),
      bottleneckUp: positions(state.bottleneckUp, start, length),
      last: null,
    };
    return length === 0 ? part : runAlone(site, child, part, lvl);
  });
  const last = [...parts].reverse().find((p) => p.last)?.last ?? state.last;
  const ups = parts.map((p) => p.bottleneckUp);
  return {
    ...state,
    hidden: join(parts.map((p) => p.hidden), 1),
    adapterResidual: join(parts.map((p) => p.adapterResidual), 1),
    bottleneckUp: ups.every((u): u is Tensor => u !== null) ? join(ups, 1) : null,
    last,
  };
};

/** BatchSplit (Python compose_batch_split): child i adapts its `batchSizes[i]` rows. */
export const composeBatchSplit: BottleneckBlockEvaluator = (site, block, state, lvl) => {
  const bs = block as BatchSplit;
  const ranges = batchRanges(bs, state.hidden.shape[0]!, where(site, 'BatchSplit'));
  return overRows(site, bs.children, state, ranges, lvl);
};

/** Parallel (Python compose_parallel): channel i (rows [i·B, (i+1)·B) of the replicated batch) goes through child i. */
export const composeParallel: BottleneckBlockEvaluator = (site, block, state, lvl) => {
  const ranges = parallelRanges(contextOf(site.site?.host), block.children.length, state.hidden.shape[0]!, where(site, 'Parallel'));
  return overRows(site, block.children, state, ranges, lvl);
};

/**
 * Average: every child runs on the same state and the results are combined
 * as Σᵢ wᵢ·hᵢ — a true weighted average (the weights sum to 1 unless
 * `normalizeWeights` was false). Python (quirk Q3) takes the mean of the
 * weighted states, (1/N)·Σᵢ wᵢ·hᵢ. The averaged states include the
 * adapters' residual, as in Python. Absent children contribute their input.
 * The residual state of the first child is kept (Python: states[0]).
 */
export const composeAverage: BottleneckBlockEvaluator = (site, block, state, lvl) => {
  const avg = block as Average;
  const parts = avg.children.map((child) => runAlone(site, child, state, lvl));
  let hidden: Tensor | null = null;
  parts.forEach((p, i) => {
    const term = mulScalar(p.hidden, avg.weights[i]!);
    hidden = hidden ? add(hidden, term) : term;
  });
  const last = [...parts].reverse().find((p) => p.last)?.last ?? state.last;
  return { ...parts[0]!, hidden: hidden!, last };
};

let registered = false;

/** Registers the bottleneck evaluators (idempotent). */
export function registerBottleneckBlocks(): void {
  if (registered) return;
  registered = true;
  registerBottleneckBlock('Fuse', composeFuse);
  registerBottleneckBlock('Split', composeSplit);
  registerBottleneckBlock('BatchSplit', composeBatchSplit);
  registerBottleneckBlock('Parallel', composeParallel);
  registerBottleneckBlock('Average', composeAverage);
}
