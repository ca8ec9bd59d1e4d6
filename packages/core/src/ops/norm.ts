import { assertFloat, assertSameDType, runKernel } from '../backend/dispatch.js';
import { record } from '../autograd/record.js';
import { ShapeError, formatShape } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { contiguous } from './shape.js';

/** Checks x (…, d) against per-feature parameters of shape [d]; returns d and the number of rows. */
function normShapes(op: string, x: Tensor, params: Tensor[]): { d: number; rows: number } {
  assertFloat(op, x);
  assertSameDType(op, x, ...params);
  if (x.rank === 0) throw new ShapeError(`${op}: input must have at least one axis, got a scalar`);
  const d = x.shape[x.rank - 1]!;
  for (const p of params) {
    if (p.rank !== 1 || p.shape[0] !== d) {
      throw new ShapeError(`${op}: parameter of shape ${formatShape(p.shape)} does not match the last axis of input ${formatShape(x.shape)} (expected [${d}])`);
    }
  }
  return { d, rows: d === 0 ? 0 : x.size / d };
}

function disposeCopies(pairs: [Tensor, Tensor][]): void {
  for (const [orig, copy] of pairs) if (copy !== orig) copy.dispose();
}

/**
 * Layer normalisation over the last axis:
 * y = (x − mean) / sqrt(var + eps) · gamma + beta, with the biased variance
 * (as PyTorch's `nn.LayerNorm`). x is (…, d); gamma and beta are [d].
 * `eps` defaults to 1e-5, PyTorch's default; BERT-style models pass their
 * config's `layer_norm_eps` (often 1e-12). Uses the fused `layerNorm` and
 * `layerNormBackward` kernels; gradients flow to x, gamma and beta.
 */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const { d, rows } = normShapes('layerNorm', x, [gamma, beta]);
  const xc = contiguous(x);
  const gc = contiguous(gamma);
  const bc = contiguous(beta);
  const dtype = x.dtype;
  const [y, mean, rstd] = runKernel(
    'layerNorm',
    [xc, gc, bc],
    [{ shape: x.shape, dtype }, { shape: [rows], dtype }, { shape: [rows], dtype }],
    { rows, d, eps },
  );
  const xShape = x.shape;
  record('layerNorm', [xc, gc, bc], [y!], [xc, mean!, rstd!, gc], ([dy], [sx, sm, sr, sg], needs) => {
    const dyc = contiguous(dy!);
    const [dx, dgamma, dbeta] = runKernel(
      'layerNormBackward',
      [dyc, sx!, sm!, sr!, sg!],
      [{ shape: xShape, dtype }, { shape: [d], dtype }, { shape: [d], dtype }],
      { rows, d },
    );
    return [needs[0] ? dx! : null, needs[1] ? dgamma! : null, needs[2] ? dbeta! : null];
  });
  mean!.dispose();
  rstd!.dispose();
  disposeCopies([[x, xc], [gamma, gc], [beta, bc]]);
  return y!;
}

/**
 * RMS normalisation over the last axis (Llama/Mistral):
 * y = x / sqrt(mean(x²) + eps) · gamma. x is (…, d); gamma is [d]. `eps`
 * defaults to 1e-6 (Llama's `rms_norm_eps`). Uses the fused `rmsNorm` and
 * `rmsNormBackward` kernels; gradients flow to x and gamma.
 */
export function rmsNorm(x: Tensor, gamma: Tensor, eps = 1e-6): Tensor {
  const { d, rows } = normShapes('rmsNorm', x, [gamma]);
  const xc = contiguous(x);
  const gc = contiguous(gamma);
  const dtype = x.dtype;
  const [y, rstd] = runKernel('rmsNorm', [xc, gc], [{ shape: x.shape, dtype }, { shape: [rows], dtype }], { rows, d, eps });
  const xShape = x.shape;
  record('rmsNorm', [xc, gc], [y!], [xc, rstd!, gc], ([dy], [sx, sr, sg], needs) => {
    const dyc = contiguous(dy!);
    const [dx, dgamma] = runKernel(
      'rmsNormBackward',
      [dyc, sx!, sr!, sg!],
      [{ shape: xShape, dtype }, { shape: [d], dtype }],
      { rows, d },
    );
    return [needs[0] ? dx! : null, needs[1] ? dgamma! : null];
  });
  rstd!.dispose();
  disposeCopies([[x, xc], [gamma, gc]]);
  return y!;
}
