import type { PrimitiveAttrs } from '../backend/primitives.js';
import type { DType } from '../tensor/dtype.js';
import { contiguousStrides, shapeSize } from '../tensor/shape.js';
import { normalData, seedOf, uniformData } from './data.js';
import { offsetHost, type HostArray, type KernelCase } from './runner.js';

/**
 * Cases of the optional fused 'attention' kernel (primitives.ts). They run
 * only on backends that register it (`optionalKernel`), against the
 * reference's kernel. q, k, v are contiguous [batch·heads, L, D] (one case
 * at storage offsets, surrounded by NaN); the additive mask is a strided
 * [batch, heads, lq, lk] view of a smaller storage, as core builds it: per
 * key (BERT padding), per query and key (Llama keep-masks turned additive),
 * or full. Masked entries use the lowest finite value, as core does.
 *
 * Tolerance: FUSED ({atol 1e-5, rtol 1e-4} in f32); atol scaled by √lk for
 * out (a weighted sum over the keys) and by √d for P (the score is a sum
 * over d).
 */

type MaskKind = 'none' | 'perKey' | 'perQueryKey' | 'full';

interface AttentionVariant {
  label: string;
  batch: number;
  heads: number;
  lq: number;
  lk: number;
  d: number;
  dv: number;
  causal?: boolean;
  scale?: number;
  mask?: MaskKind;
  /** Fraction of masked (lowest) entries; rows listed in `maskedRows` are masked entirely. */
  maskedFraction?: number;
  maskedRows?: number[];
  /** Request P (default true); false checks the out-only variant. */
  probs?: boolean;
  /** Std of q and k (large values test the softmax's stability shift). */
  std?: number;
  /** Storage offsets of q, k, v and the mask (poisoned surroundings). */
  offset?: number;
}

const VARIANTS: AttentionVariant[] = [
  { label: '1 problem, 1×1, d 1', batch: 1, heads: 1, lq: 1, lk: 1, d: 1, dv: 1 },
  { label: 'batch 2, heads 3, lq 7, lk 9, d 8, dv 5', batch: 2, heads: 3, lq: 7, lk: 9, d: 8, dv: 5 },
  { label: 'causal, lq 5 < lk 11 (bottom-right)', batch: 1, heads: 2, lq: 5, lk: 11, d: 8, dv: 8, causal: true },
  { label: 'causal, lq 9 > lk 4 (rows without keys: uniform)', batch: 2, heads: 1, lq: 9, lk: 4, d: 4, dv: 6, causal: true, scale: 0.3 },
  { label: 'mask per key [B, 1, 1, Lk] (BERT padding), 2×4 heads, 33×33, d 16', batch: 2, heads: 4, lq: 33, lk: 33, d: 16, dv: 16, mask: 'perKey', maskedFraction: 0.25 },
  {
    label: 'mask per query and key [B, 1, Lq, Lk] with fully masked rows, causal', batch: 2, heads: 2, lq: 6, lk: 6, d: 8, dv: 8,
    mask: 'perQueryKey', maskedFraction: 0.2, maskedRows: [0, 7], causal: true,
  },
  { label: 'full mask [B, H, Lq, Lk]', batch: 1, heads: 3, lq: 4, lk: 10, d: 4, dv: 4, mask: 'full' },
  { label: 'long: lq 70, lk 300, d 64, dv 64 (several row blocks and key tiles)', batch: 1, heads: 2, lq: 70, lk: 300, d: 64, dv: 64, causal: true },
  { label: 'head sizes d 120, dv 70', batch: 1, heads: 2, lq: 9, lk: 40, d: 120, dv: 70, causal: true },
  { label: 'large head sizes: d 160, dv 96', batch: 1, heads: 2, lq: 5, lk: 40, d: 160, dv: 96 },
  { label: 'large scores (q, k std 4, scale 1)', batch: 1, heads: 2, lq: 8, lk: 50, d: 16, dv: 8, std: 4, scale: 1 },
  { label: 'out only (no P), mask per key, causal', batch: 2, heads: 2, lq: 12, lk: 12, d: 8, dv: 8, mask: 'perKey', maskedFraction: 0.3, causal: true, probs: false },
  { label: 'inputs at storage offsets, mask per key', batch: 2, heads: 2, lq: 3, lk: 5, d: 4, dv: 3, mask: 'perKey', maskedFraction: 0.2, offset: 3 },
];

/** Storage shape of the mask and the strides of its [batch, heads, lq, lk] view. */
function maskLayout(kind: MaskKind, v: AttentionVariant): { storage: number[]; strides: number[] } {
  const { batch, heads, lq, lk } = v;
  switch (kind) {
    case 'perKey': return { storage: [batch, lk], strides: [lk, 0, 0, 1] };
    case 'perQueryKey': return { storage: [batch, lq, lk], strides: [lq * lk, 0, lk, 1] };
    default: return { storage: [batch, heads, lq, lk], strides: contiguousStrides([batch, heads, lq, lk]) };
  }
}

function lowest(dtype: DType): number {
  return dtype === 'f64' ? -Number.MAX_VALUE : -3.4028234663852886e38;
}

function attentionCase(dtype: DType, v: AttentionVariant): KernelCase {
  const id = `attention [${dtype}] ${v.label}`;
  const seed = seedOf(id);
  const { batch, heads, lq, lk, d, dv } = v;
  const bh = batch * heads;
  const kind = v.mask ?? 'none';
  const layout = kind === 'none' ? null : maskLayout(kind, v);
  const off = v.offset ?? 0;
  const scale = v.scale ?? 1 / Math.sqrt(d);
  const wantP = v.probs ?? true;

  const maskValues = (): Float64Array => {
    const n = shapeSize(layout!.storage);
    const values = uniformData(seed ^ 0x5a5a, n, -2, 0);
    const pick = uniformData(seed ^ 0x77, n, 0, 1);
    const rowLen = lk;
    for (let i = 0; i < n; i++) {
      if (pick[i]! < (v.maskedFraction ?? 0) || (v.maskedRows ?? []).includes(Math.floor(i / rowLen))) values[i] = lowest(dtype);
    }
    return values;
  };
  const host = (values: Float64Array, shape: number[]): HostArray =>
    off ? offsetHost(shape, dtype, off, values) : { values, shape, dtype };

  return {
    id,
    kernel: 'attention',
    name: v.label,
    dtype,
    optionalKernel: 'attention',
    inputs: () => [
      host(normalData(seed, bh * lq * d, 0, v.std ?? 1), [bh, lq, d]),
      host(normalData(seed ^ 0x1111, bh * lk * d, 0, v.std ?? 1), [bh, lk, d]),
      host(normalData(seed ^ 0x2222, bh * lk * dv), [bh, lk, dv]),
      ...(layout ? [host(maskValues(), layout.storage)] : []),
    ],
    run: (ctx, ins) => {
      const [q, k, val, m] = off
        ? [ctx.at(ins[0]!, [bh, lq, d], off), ctx.at(ins[1]!, [bh, lk, d], off), ctx.at(ins[2]!, [bh, lk, dv], off), ins[3]]
        : ins;
      const maskView = layout ? ctx.view(m!, [batch, heads, lq, lk], layout.strides, off) : null;
      const attrs: PrimitiveAttrs['attention'] = { batch, heads, lq, lk, d, dv, scale, causal: v.causal ?? false };
      const outs = ctx.kernel('attention', [q!, k!, val!, ...(maskView ? [maskView] : [])],
        [{ shape: [bh, lq, dv], dtype }, ...(wantP ? [{ shape: [bh, lq, lk], dtype }] : [])], attrs);
      return [
        { name: 'out', tensor: outs[0]!, atolScale: Math.sqrt(lk) },
        ...(wantP ? [{ name: 'P', tensor: outs[1]!, atolScale: Math.sqrt(d) }] : []),
      ];
    },
  };
}

export function attentionCases(dtype: DType): KernelCase[] {
  return VARIANTS.map((v) => attentionCase(dtype, v));
}
