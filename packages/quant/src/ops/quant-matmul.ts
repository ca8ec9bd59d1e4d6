import { ShapeError, cast, contiguous, formatShape, noGrad, record, reshape, runKernel, tidy, type Tensor } from '@adapterkit/core';
import { QUANT_KERNELS, type Quant4Attrs, type Quant8Attrs } from '../kernels/contract.js';
import type { QuantizedWeight } from '../quantized-weight.js';

/** Kernel inputs after the data tensor (see kernels/contract.ts). */
function weightInputs(q: QuantizedWeight): Tensor[] {
  if (q.bits === 8) return [q.get('weight'), q.get('SCB')];
  const absmax = q.get('absmax');
  const map = q.get('quant_map');
  return q.doubleQuant ? [q.get('weight'), absmax, q.get('nested_absmax'), map, q.get('nested_quant_map')] : [q.get('weight'), absmax, absmax, map, map];
}

function attrsOf(q: QuantizedWeight, m: number): Quant4Attrs | Quant8Attrs {
  const [n, k] = q.shape;
  if (q.bits === 8) return { m, n, k };
  return { m, n, k, blockSize: q.blockSize, nested: q.doubleQuant, nestedBlockSize: q.nestedBlockSize, offset: q.offset };
}

/** f32/f64 run natively; half types are computed in f32 (no backend has half-precision matmul kernels). */
function computeDType(x: Tensor, op: string): 'f32' | 'f64' {
  if (x.dtype === 'f32' || x.dtype === 'f64') return x.dtype;
  if (x.dtype === 'f16' || x.dtype === 'bf16') return 'f32';
  throw new ShapeError(`${op}: expected a float input, got ${x.dtype}${formatShape(x.shape)}`);
}

/** Runs a matmul-shaped kernel over the last axis: [..., inF] → [..., outF]. */
function run(kernel: string, x: Tensor, q: QuantizedWeight, inF: number, outF: number, op: string): Tensor {
  if (x.shape[x.rank - 1] !== inF) {
    throw new ShapeError(`${op}: input ${formatShape(x.shape)} has ${x.shape[x.rank - 1]} features, the quantized weight [${q.shape.join(', ')}] expects ${inF}`);
  }
  const lead = x.shape.slice(0, -1);
  const m = lead.reduce((a, b) => a * b, 1);
  const dtype = computeDType(x, op);
  return noGrad(() =>
    tidy(() => {
      const xc = contiguous(reshape(dtype === x.dtype ? x : cast(x, dtype), [m, inF]));
      const [y] = runKernel(kernel, [xc, ...weightInputs(q)], [{ shape: [m, outF], dtype }], attrsOf(q, m));
      const shaped = reshape(y!, [...lead, outF]);
      return dtype === x.dtype ? shaped : cast(shaped, x.dtype);
    }),
  );
}

/**
 * y = x · dequant(W)ᵀ for x [..., in] and a quantized W [out, in], computed
 * by the fused kernel (W is never materialised). Gradients flow to x only
 * (the base weight is frozen): dx = dy · dequant(W), also fused.
 */
export function quantMatmul(x: Tensor, q: QuantizedWeight): Tensor {
  const [outF, inF] = q.shape;
  const y = run(q.bits === 4 ? QUANT_KERNELS.matmul4 : QUANT_KERNELS.matmul8, x, q, inF, outF, 'quantMatmul');
  record('quantMatmul', [x], [y], [], ([dy]) => [quantMatmulInputGrad(dy!, q)]);
  return y;
}

/**
 * dx = dy · dequant(W) for dy [..., out]: the input gradient of
 * `quantMatmul`. Differentiable itself (its gradient is `quantMatmul`), so
 * higher-order gradients with respect to inputs work too.
 */
export function quantMatmulInputGrad(dy: Tensor, q: QuantizedWeight): Tensor {
  const [outF, inF] = q.shape;
  const dx = run(q.bits === 4 ? QUANT_KERNELS.backward4 : QUANT_KERNELS.backward8, dy, q, outF, inF, 'quantMatmulInputGrad');
  record('quantMatmulInputGrad', [dy], [dx], [], ([g]) => [quantMatmul(g!, q)]);
  return dx;
}

/** The dense f32 [out, in] weight on the weight's backend (for merging and checks; the matmuls do not need it). */
export function dequantizeWeight(q: QuantizedWeight): Tensor {
  const [outF, inF] = q.shape;
  const w = q.get('weight');
  const kernel = q.bits === 4 ? QUANT_KERNELS.dequant4 : QUANT_KERNELS.dequant8;
  return noGrad(() => runKernel(kernel, [w, ...weightInputs(q)], [{ shape: [outF, inF], dtype: 'f32' }], attrsOf(q, 0))[0]!);
}
