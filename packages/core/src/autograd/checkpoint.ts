import { keep, tidy } from '../backend/scope.js';
import { getRngState, setRngState } from '../random/generator.js';
import { Tensor } from '../tensor/tensor.js';
import { backward } from './backward.js';
import { isGradEnabled, noGrad, withGradMode } from './grad-mode.js';
import { shareStorage } from './node.js';
import { record } from './record.js';

/**
 * Gradient checkpointing: runs `fn` without keeping its intermediates and
 * recomputes it during backward. Parameters used inside `fn` receive their
 * gradients during that recomputation. The random stream is replayed, so
 * dropout masks match. `fn` must return one tensor and must be deterministic
 * apart from the global random stream.
 */
export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, ...inputs: Tensor[]): Tensor {
  if (!isGradEnabled()) return fn(...inputs);
  const rngBefore = getRngState();
  // Intermediates of the forward are freed at once; only the output survives.
  const raw = noGrad(() => tidy(() => fn(...inputs)));
  // An fn that returns a tensor it did not make (an input, or a captured
  // parameter) still gets an output of its own, so recording below does not
  // overwrite that tensor's place in the graph.
  const preexisting = raw.requiresGrad || inputs.includes(raw);
  const out = preexisting ? new Tensor(raw.storage, raw.shape, raw.strides, raw.offset) : raw;
  const wantsGrad = inputs.map((t) => t.requiresGrad);
  // Forced: parameters inside fn need gradients even if no input does.
  record('checkpoint', inputs, [out], inputs, ([dy], saved) => {
    const rngAfter = getRngState();
    setRngState(rngBefore);
    try {
      return withGradMode(true, () => {
        const detached = saved.map((s, i) => {
          const d = keep(shareStorage(s));
          d.requiresGrad = wantsGrad[i]!;
          return d;
        });
        const y = fn(...detached);
        if (y.requiresGrad) backward(y, dy!);
        // The input gradients are kept tensors; hand them back as tensors of the
        // current (backward) scope so the engine's tidy frees them after use.
        const grads = detached.map((d) => (d.grad ? rescope(d.grad) : null));
        for (const d of detached) {
          d.grad = null;
          d.dispose();
        }
        // y and the recomputed intermediates belong to the engine's tidy scope for
        // this node and are freed with it; y is not disposed here because fn may
        // have returned a tensor it did not make (a captured parameter).
        return grads;
      });
    } finally {
      setRngState(rngAfter);
    }
  }, true);
  return out;
}

/** A tracked tensor sharing `kept`'s storage; `kept` itself is disposed. */
function rescope(kept: Tensor): Tensor {
  const t = new Tensor(kept.storage, kept.shape, kept.strides, kept.offset);
  kept.dispose();
  return t;
}
