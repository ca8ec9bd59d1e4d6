import { keep } from '../backend/scope.js';
import { Tensor } from '../tensor/tensor.js';

/** Where an input's gradient goes: into another node's output, or into a leaf tensor's `.grad`. */
export type Edge = { node: GradNode; index: number } | { leaf: Tensor } | null;

/**
 * Gradient rule of one op: receives the gradients of its outputs (null where an
 * output got none), the tensors saved in forward, and which inputs need a
 * gradient; returns one gradient per input (null where none flows). Written
 * with ops, so every backend gets it.
 */
export type BackwardFn = (gradOutputs: (Tensor | null)[], saved: Tensor[], needsGrad: boolean[]) => (Tensor | null)[];

/**
 * One recorded op on the tape. Reference-counted: each live output tensor and
 * each later node that consumes an output holds one reference. A node nobody
 * references any more (its outputs were disposed without a backward through
 * it, e.g. an unused pooler output) frees its saved tensors at once.
 */
export class GradNode {
  released = false;
  saved: Tensor[];
  private refs = 0;

  constructor(
    readonly name: string,
    public edges: Edge[],
    readonly inputShapes: (readonly number[])[],
    saved: Tensor[],
    readonly backwardFn: BackwardFn,
    readonly numOutputs: number,
  ) {
    this.saved = saved.map(shareStorage);
  }

  /** Takes a reference (an output tensor or a consuming node). */
  ref(): void {
    this.refs++;
  }

  /** Drops a reference; the last one releases the node and, in turn, its inputs' nodes. */
  unref(): void {
    if (--this.refs <= 0) this.release();
  }

  /** Frees the saved tensors and unlinks the graph, dropping the references this node held on its inputs' nodes. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const t of this.saved) t.dispose();
    this.saved = [];
    const edges = this.edges;
    this.edges = [];
    for (const e of edges) if (e && 'node' in e) e.node.unref();
  }
}

/** A new tensor object sharing `t`'s storage, owned by its holder (untracked by tidy scopes). */
export function shareStorage(t: Tensor): Tensor {
  const v = new Tensor(t.storage, t.shape, t.strides, t.offset);
  return keep(v);
}
