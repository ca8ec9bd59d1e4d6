import { REDUCE_OPS, type KernelArgs, type KernelImpl, type PrimitiveAttrs } from '@adapterkit/core';
import type { CpuAddon } from '../addon.js';
import { REDUCE_CODE } from '../ops.js';
import { allF32, arrayOf, f32Of, referenceKernel } from './common.js';

/**
 * Row kernels on contiguous (offset) inputs: reductions, softmax and
 * log-softmax, layer/RMS norm forward and backward, cross-entropy forward
 * and backward. f32 runs natively (fused, one pass per row where possible);
 * other dtypes use the reference TS kernels.
 */
export function rowKernels(addon: CpuAddon): Map<string, KernelImpl> {
  const k = new Map<string, KernelImpl>();

  for (const op of REDUCE_OPS) {
    const ref = referenceKernel(op);
    const code = REDUCE_CODE[op];
    k.set(op, (b, args: KernelArgs<PrimitiveAttrs['reduce']>) => {
      const x = args.inputs[0]!, y = args.outputs[0]!;
      const yOk = op === 'argmax' ? y.dtype === 'i32' : y.dtype === 'f32';
      if (x.dtype !== 'f32' || !yOk) return ref(b, args);
      const { outer, reduce, inner } = args.attrs;
      addon.reduce(code, f32Of(x), x.offset, arrayOf(y) as Float32Array | Int32Array, y.offset, outer, reduce, inner);
    });
  }

  for (const name of ['softmax', 'logSoftmax'] as const) {
    const ref = referenceKernel(name);
    const log = name === 'logSoftmax';
    k.set(name, (b, args: KernelArgs<PrimitiveAttrs['softmax']>) => {
      const x = args.inputs[0]!, y = args.outputs[0]!;
      if (!allF32(x, y)) return ref(b, args);
      addon.softmax(log, f32Of(x), x.offset, f32Of(y), y.offset, args.attrs.rows, args.attrs.cols);
    });
  }

  const refLn = referenceKernel('layerNorm');
  k.set('layerNorm', (b, args: KernelArgs<PrimitiveAttrs['layerNorm']>) => {
    const [x, g, be] = args.inputs;
    const [y, mean, rstd] = args.outputs;
    const { rows, d, eps } = args.attrs;
    if (!allF32(x!, g!, be!, y!, mean!, rstd!) || d === 0) return refLn(b, args);
    addon.layerNorm(f32Of(x!), x!.offset, f32Of(g!), g!.offset, f32Of(be!), be!.offset, f32Of(y!), y!.offset,
      f32Of(mean!), mean!.offset, f32Of(rstd!), rstd!.offset, rows, d, eps);
  });

  const refLnB = referenceKernel('layerNormBackward');
  k.set('layerNormBackward', (b, args: KernelArgs<PrimitiveAttrs['layerNormBackward']>) => {
    const [dy, x, mean, rstd, g] = args.inputs;
    const [dx, dg, db] = args.outputs;
    if (!allF32(dy!, x!, mean!, rstd!, g!, dx!, dg!, db!)) return refLnB(b, args);
    const { rows, d } = args.attrs;
    addon.layerNormBackward(f32Of(dy!), dy!.offset, f32Of(x!), x!.offset, f32Of(mean!), mean!.offset, f32Of(rstd!), rstd!.offset,
      f32Of(g!), g!.offset, f32Of(dx!), dx!.offset, f32Of(dg!), dg!.offset, f32Of(db!), db!.offset, rows, d);
  });

  const refRms = referenceKernel('rmsNorm');
  k.set('rmsNorm', (b, args: KernelArgs<PrimitiveAttrs['rmsNorm']>) => {
    const [x, g] = args.inputs;
    const [y, rstd] = args.outputs;
    const { rows, d, eps } = args.attrs;
    if (!allF32(x!, g!, y!, rstd!) || d === 0) return refRms(b, args);
    addon.rmsNorm(f32Of(x!), x!.offset, f32Of(g!), g!.offset, f32Of(y!), y!.offset, f32Of(rstd!), rstd!.offset, rows, d, eps);
  });

  const refRmsB = referenceKernel('rmsNormBackward');
  k.set('rmsNormBackward', (b, args: KernelArgs<PrimitiveAttrs['rmsNormBackward']>) => {
    const [dy, x, rstd, g] = args.inputs;
    const [dx, dg] = args.outputs;
    if (!allF32(dy!, x!, rstd!, g!, dx!, dg!)) return refRmsB(b, args);
    const { rows, d } = args.attrs;
    addon.rmsNormBackward(f32Of(dy!), dy!.offset, f32Of(x!), x!.offset, f32Of(rstd!), rstd!.offset, f32Of(g!), g!.offset,
      f32Of(dx!), dx!.offset, f32Of(dg!), dg!.offset, rows, d);
  });

  const refCe = referenceKernel('crossEntropy');
  k.set('crossEntropy', (b, args: KernelArgs<PrimitiveAttrs['crossEntropy']>) => {
    const [x, t] = args.inputs;
    const [loss] = args.outputs;
    if (!allF32(x!, loss!) || t!.dtype !== 'i32') return refCe(b, args);
    const { n, c, ignoreIndex } = args.attrs;
    addon.crossEntropy(f32Of(x!), x!.offset, arrayOf(t!) as Int32Array, t!.offset, f32Of(loss!), loss!.offset, n, c, ignoreIndex);
  });

  const refCeB = referenceKernel('crossEntropyBackward');
  k.set('crossEntropyBackward', (b, args: KernelArgs<PrimitiveAttrs['crossEntropyBackward']>) => {
    const [x, t, dl] = args.inputs;
    const [dx] = args.outputs;
    if (!allF32(x!, dl!, dx!) || t!.dtype !== 'i32') return refCeB(b, args);
    const { n, c, ignoreIndex } = args.attrs;
    addon.crossEntropyBackward(f32Of(x!), x!.offset, arrayOf(t!) as Int32Array, t!.offset, f32Of(dl!), dl!.offset, f32Of(dx!), dx!.offset, n, c, ignoreIndex);
  });

  return k;
}
