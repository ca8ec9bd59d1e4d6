import { assertFloat, assertSameDType, runKernel } from '../backend/dispatch.js';
import { record } from '../autograd/record.js';
import { DTypeError, ShapeError, formatShape } from '../errors.js';
import { shapeSize, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { div, ne, sub } from './binary.js';
import { cast } from './cast.js';
import { mean, sum } from './reduce.js';
import { contiguous, reshape } from './shape.js';
import { square } from './unary.js';

/** How per-element losses are combined: averaged, summed, or returned as they are. */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options of `crossEntropy`. */
export interface CrossEntropyOptions {
  /** Targets equal to this contribute no loss and no gradient (default -100, as PyTorch). */
  ignoreIndex?: number;
  /** Default 'mean'. */
  reduction?: Reduction;
}

function checkReduction(op: string, r: string): asserts r is Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`${op}: unknown reduction '${r}'; valid: mean, sum, none`);
}

/**
 * Cross-entropy between `logits` (…, C) and integer class `targets` (i32, shape
 * of logits without its last axis), as PyTorch's `F.cross_entropy` with class
 * indices: loss_i = logsumexp(logits_i) − logits_i[target_i]. Uses the fused
 * `crossEntropy` / `crossEntropyBackward` kernels.
 *
 * Targets equal to `ignoreIndex` give loss 0 and no gradient. With
 * reduction 'mean' the sum is divided by the number of targets that are not
 * ignored (counted on the backend with a comparison), so if every target is
 * ignored the result is NaN (0/0), as in PyTorch. 'none' returns the
 * per-target losses in the targets' shape (0 at ignored ones).
 * A target outside [0, C) that is not `ignoreIndex` is an error raised by the kernel.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  checkReduction('crossEntropy', reduction);
  assertFloat('crossEntropy', logits);
  if (targets.dtype !== 'i32') throw new DTypeError(`crossEntropy: targets must be i32 class indices, got ${targets.dtype}${formatShape(targets.shape)}`);
  if (logits.rank === 0) throw new ShapeError('crossEntropy: logits must have a class axis, got a scalar');
  const c = logits.shape[logits.rank - 1]!;
  const lead = logits.shape.slice(0, -1);
  if (!shapesEqual(lead, targets.shape)) {
    throw new ShapeError(`crossEntropy: targets ${formatShape(targets.shape)} do not match logits ${formatShape(logits.shape)} (expected targets ${formatShape(lead)})`);
  }
  const n = shapeSize(lead);
  const dtype = logits.dtype;
  const l2 = reshape(logits, [n, c]);
  const t1 = reshape(targets, [n]);
  const attrs = { n, c, ignoreIndex };
  let loss: Tensor | undefined;
  try {
    [loss] = runKernel('crossEntropy', [l2, t1], [{ shape: [n], dtype }], attrs);
  } catch (e) {
    // A target out of range is a recoverable input error; free what was made for it.
    l2.dispose();
    t1.dispose();
    throw e;
  }
  record('crossEntropy', [l2], [loss!], [l2, t1], ([dloss], [sl, st]) => {
    const dl = contiguous(dloss!);
    const [dx] = runKernel('crossEntropyBackward', [sl!, st!, dl], [{ shape: [n, c], dtype }], attrs);
    return [dx!];
  });
  l2.dispose();
  let y: Tensor;
  if (reduction === 'none') {
    y = reshape(loss!, lead);
  } else if (reduction === 'sum') {
    y = sum(loss!);
  } else {
    const total = sum(loss!);
    const keepMask = ne(t1, ignoreIndex);
    const keepF = cast(keepMask, dtype);
    const count = sum(keepF);
    y = div(total, count);
    for (const t of [total, keepMask, keepF, count]) t.dispose();
  }
  loss!.dispose();
  t1.dispose();
  return y;
}

/**
 * Mean squared error (a − b)² of two tensors of the same shape, reduced by
 * `reduction` ('mean' by default, as PyTorch's `F.mse_loss`). Gradients flow
 * to both.
 */
export function mseLoss(a: Tensor, b: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkReduction('mseLoss', reduction);
  assertFloat('mseLoss', a);
  assertSameDType('mseLoss', a, b);
  if (!shapesEqual(a.shape, b.shape)) throw new ShapeError(`mseLoss: shapes differ: ${formatShape(a.shape)} vs ${formatShape(b.shape)}`);
  const d = sub(a, b);
  const sq = square(d);
  d.dispose();
  if (reduction === 'none') return sq;
  const y = reduction === 'sum' ? sum(sq) : mean(sq);
  if (y !== sq) sq.dispose();
  return y;
}
