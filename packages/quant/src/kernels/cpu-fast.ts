import { getKernel, type Backend, type KernelArgs, type PrimitiveAttrs, type View } from '@adapterkit/core';
import type { Quant4Attrs, Quant8Attrs } from './contract.js';
import { cpuQuantKernels, rows4, rows8, type RowDequantizer } from './cpu.js';

/**
 * Kernels for the fast CPU backend ('cpu', @adapterkit/backend-cpu): the
 * layer's weight is dequantized into one transient f32 buffer of the backend
 * (this layer only — never the whole model) and multiplied by the backend's
 * own native 'matmul' kernel; the buffer goes back to the backend's pool
 * right after. f64 data (gradient checks) falls back to the TS kernels.
 */
type MatmulAttrs = PrimitiveAttrs['matmul'];

function withDense(b: Backend, n: number, k: number, rowsOf: RowDequantizer, use: (w: View) => void): void {
  const storage = b.alloc('f32', n * k);
  try {
    rowsOf(0, n, storage.handle as Float32Array);
    use({ storage, dtype: 'f32', shape: [n, k], strides: [k, 1], offset: 0 });
  } finally {
    b.free(storage);
  }
}

function run(b: Backend, data: View, out: View, rowsOf: RowDequantizer, m: number, n: number, k: number, backward: boolean): void {
  const matmul = getKernel('matmul', b.name);
  withDense(b, n, k, rowsOf, (w) => {
    // forward: y[m, n] = x[m, k] · Wᵀ ; backward: dx[m, k] = dy[m, n] · W
    const attrs: MatmulAttrs = backward
      ? { batch: 1, m, n: k, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 }
      : { batch: 1, m, n, k, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 };
    matmul(b, { inputs: [data, w], outputs: [out], attrs });
  });
}

const isF32 = (v: View) => v.dtype === 'f32';

export const fastCpuQuantKernels = {
  quantMatmul4bit(b: Backend, args: KernelArgs<Quant4Attrs>): void {
    if (!isF32(args.inputs[0]!)) return cpuQuantKernels.quantMatmul4bit(b, args);
    const { m, n, k } = args.attrs;
    run(b, args.inputs[0]!, args.outputs[0]!, rows4(args.inputs, args.attrs), m, n, k, false);
  },
  quantMatmul4bitBackward(b: Backend, args: KernelArgs<Quant4Attrs>): void {
    if (!isF32(args.inputs[0]!)) return cpuQuantKernels.quantMatmul4bitBackward(b, args);
    const { m, n, k } = args.attrs;
    run(b, args.inputs[0]!, args.outputs[0]!, rows4(args.inputs, args.attrs), m, n, k, true);
  },
  quantDequantize4bit: cpuQuantKernels.quantDequantize4bit,
  quantMatmul8bit(b: Backend, args: KernelArgs<Quant8Attrs>): void {
    if (!isF32(args.inputs[0]!)) return cpuQuantKernels.quantMatmul8bit(b, args);
    const { m, n, k } = args.attrs;
    run(b, args.inputs[0]!, args.outputs[0]!, rows8(args.inputs, args.attrs), m, n, k, false);
  },
  quantMatmul8bitBackward(b: Backend, args: KernelArgs<Quant8Attrs>): void {
    if (!isF32(args.inputs[0]!)) return cpuQuantKernels.quantMatmul8bitBackward(b, args);
    const { m, n, k } = args.attrs;
    run(b, args.inputs[0]!, args.outputs[0]!, rows8(args.inputs, args.attrs), m, n, k, true);
  },
  quantDequantize8bit: cpuQuantKernels.quantDequantize8bit,
};
