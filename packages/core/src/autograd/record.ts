import type { Tensor } from '../tensor/tensor.js';
import { isGradEnabled } from './grad-mode.js';
import { GradNode, type BackwardFn, type Edge } from './node.js';

/**
 * Records an op on the tape when gradients are on and some input requires them.
 * `saved` are the tensors the gradient rule needs (kept alive until backward).
 * `force` records even when no input requires grad (checkpoint: parameters
 * inside the recomputed function still do).
 */
export function record(name: string, inputs: Tensor[], outputs: Tensor[], saved: Tensor[], backwardFn: BackwardFn, force = false): void {
  if (!isGradEnabled() || (!force && !inputs.some((t) => t.requiresGrad))) return;
  const edges: Edge[] = inputs.map((t) => {
    if (!t.requiresGrad) return null;
    return t.gradNode ? { node: t.gradNode, index: t.outputIndex } : { leaf: t };
  });
  const node = new GradNode(name, edges, inputs.map((t) => t.shape), saved, backwardFn, outputs.length);
  for (const e of edges) if (e && 'node' in e) e.node.ref();
  outputs.forEach((o, i) => {
    o.requiresGrad = true;
    o.gradNode = node;
    o.outputIndex = i;
    node.ref();
  });
}
