import { keep, tidy } from '../backend/scope.js';
import { DTypeError, ShapeError, formatShape } from '../errors.js';
import { add } from '../ops/binary.js';
import { onesLike } from '../ops/creation.js';
import { shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { withGradMode } from './grad-mode.js';
import { shareStorage, type GradNode } from './node.js';

export interface BackwardOptions {
  /** Keep the graph (saved tensors) for another backward through it. */
  retainGraph?: boolean;
}

/** Nodes reachable from `root`, parents after children (reverse topological order). */
function topoOrder(root: GradNode): GradNode[] {
  const order: GradNode[] = [];
  const visited = new Set<GradNode>();
  const stack: [GradNode, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [node, i] = top;
    if (i < node.edges.length) {
      top[1]++;
      const e = node.edges[i];
      if (e && 'node' in e && !visited.has(e.node)) {
        visited.add(e.node);
        stack.push([e.node, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order.reverse();
}

/** Adds `g` into a gradient slot, owning a separate reference. */
function accumulate(existing: Tensor | null, g: Tensor): Tensor {
  if (!existing) return keep(shareStorage(g));
  const sum = keep(add(existing, g));
  existing.dispose();
  return sum;
}

/**
 * Reverse-mode differentiation from `root`: accumulates d(root)/d(leaf) into
 * `.grad` of every leaf tensor with `requiresGrad`. A non-scalar root needs an
 * explicit `grad`. The graph is released afterwards unless `retainGraph`.
 */
export function backward(root: Tensor, grad?: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error(`backward(): tensor #${root.id} does not require grad (no input of it had requiresGrad)`);
  if (!grad && root.size !== 1) throw new ShapeError(`backward(): root has shape ${formatShape(root.shape)}; pass a gradient of that shape for non-scalar roots`);
  if (grad && !shapesEqual(grad.shape, root.shape)) throw new ShapeError(`backward(): gradient shape ${formatShape(grad.shape)} does not match root ${formatShape(root.shape)}`);
  if (grad && grad.dtype !== root.dtype) throw new DTypeError(`backward(): gradient dtype ${grad.dtype} does not match root dtype ${root.dtype}`);
  withGradMode(false, () =>
    tidy(() => {
      const seed = grad ?? onesLike(root);
      if (!root.gradNode) {
        root.grad = accumulate(root.grad, seed);
        return;
      }
      const order = topoOrder(root.gradNode);
      // Checked before any gradient is computed, so a failed call leaves .grad untouched.
      const stale = order.find((n) => n.released);
      if (stale) {
        // The graph can never be differentiated again, and nothing else would free
        // what its live nodes saved, so release them (unless asked to keep them).
        if (!opts.retainGraph) for (const node of order) node.release();
        throw new Error(`backward(): the graph through '${stale.name}' was already released by an earlier backward; pass { retainGraph: true } to the first backward to go through it twice`);
      }
      const pending = new Map<GradNode, (Tensor | null)[]>();
      const rootSlots = new Array<Tensor | null>(root.gradNode.numOutputs).fill(null);
      rootSlots[root.outputIndex] = keep(shareStorage(seed));
      pending.set(root.gradNode, rootSlots);
      try {
        for (const node of order) {
          const slots = pending.get(node);
          pending.delete(node);
          if (!slots || slots.every((s) => s === null)) continue;
          try {
            runNode(node, slots, pending);
          } finally {
            for (const s of slots) s?.dispose();
          }
        }
      } finally {
        // Slots are kept outside tidy scopes; free whatever is left (also when a rule threw).
        for (const slots of pending.values()) for (const s of slots) s?.dispose();
      }
      if (!opts.retainGraph) for (const node of order) node.release();
    }),
  );
}

function runNode(node: GradNode, slots: (Tensor | null)[], pending: Map<GradNode, (Tensor | null)[]>): void {
  const needs = node.edges.map((e) => e !== null);
  tidy(() => {
    const grads = node.backwardFn(slots, node.saved, needs);
    node.edges.forEach((edge, i) => {
      const g = grads[i];
      if (!edge || !g) return;
      if (!shapesEqual(g.shape, node.inputShapes[i]!)) {
        throw new ShapeError(`backward(): gradient rule of '${node.name}' returned ${formatShape(g.shape)} for input ${i}, expected ${formatShape(node.inputShapes[i]!)}`);
      }
      if ('leaf' in edge) {
        edge.leaf.grad = accumulate(edge.leaf.grad, g);
      } else {
        let target = pending.get(edge.node);
        if (!target) pending.set(edge.node, (target = new Array<Tensor | null>(edge.node.numOutputs).fill(null)));
        target[edge.index] = accumulate(target[edge.index] ?? null, g);
      }
    });
  });
}
