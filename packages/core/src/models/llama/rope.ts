import { noGrad } from '../../autograd/grad-mode.js';
import { add, mul, sub } from '../../ops/binary.js';
import { cast } from '../../ops/cast.js';
import { tensor } from '../../ops/creation.js';
import { concat, narrow, reshape, stack } from '../../ops/shape.js';
import { cos, sin } from '../../ops/unary.js';
import { tidy } from '../../backend/scope.js';
import { ShapeError, formatShape } from '../../errors.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { RopeLayout } from './config.js';

/** cos and sin of the rotary angles, [batch, 1, seq, headDim/2] (broadcast over heads). */
export interface RotaryAngles {
  cos: Tensor;
  sin: Tensor;
}

/**
 * Inverse frequencies θ_i = base^(−2i/d), i < d/2, rounded step by step to
 * f32 as HF computes them (arange → /d → pow → reciprocal, all in f32).
 */
export function rotaryInverseFrequencies(headDim: number, base: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const exponent = Math.fround((2 * i) / headDim);
    out[i] = Math.fround(1 / Math.fround(Math.pow(base, exponent)));
  }
  return out;
}

/**
 * Rotary position embedding tables (HF `LlamaRotaryEmbedding`): holds the
 * inverse frequencies as the non-persistent buffer `inv_freq` (so it is not
 * part of the state dict, as in HF) and computes cos/sin for any position ids
 * on the fly, which handles left padding and KV caches alike.
 */
export class LlamaRotaryEmbedding extends Module {
  readonly invFreq: Tensor;

  constructor(readonly headDim: number, readonly base: number) {
    super();
    this.invFreq = this.registerBuffer('inv_freq', noGrad(() => tensor(rotaryInverseFrequencies(headDim, base), [headDim / 2])), false);
  }

  /** Angles for position ids [batch, seq] (i32): cos and sin [batch, 1, seq, headDim/2], f32. */
  forward(positionIds: Tensor): RotaryAngles {
    if (positionIds.rank !== 2) throw new ShapeError(`LlamaRotaryEmbedding: position ids must be [batch, seq], got ${formatShape(positionIds.shape)}`);
    return noGrad(() =>
      tidy(() => {
        // [B, 1, L, 1] · [D/2] → [B, 1, L, D/2]: one f32 product per angle, as HF's matmul of an outer product.
        const pos = reshape(cast(positionIds, 'f32'), [positionIds.shape[0]!, 1, positionIds.shape[1]!, 1]);
        const angles = mul(pos, this.invFreq);
        return { cos: cos(angles), sin: sin(angles) };
      }),
    );
  }
}

/**
 * Applies rotary embeddings to x [batch, heads, seq, headDim]. Each feature
 * pair (a, b) — (i, i + d/2) for 'rotate-half', (2i, 2i + 1) for
 * 'interleaved' — rotates by angle i: a' = a·cos − b·sin, b' = b·cos + a·sin.
 */
export function applyRotary(x: Tensor, angles: RotaryAngles, layout: RopeLayout): Tensor {
  return tidy(() => {
    const d = x.shape[x.rank - 1]!;
    const half = d / 2;
    let a: Tensor;
    let b: Tensor;
    if (layout === 'rotate-half') {
      a = narrow(x, -1, 0, half);
      b = narrow(x, -1, half, half);
    } else {
      const pairs = reshape(x, [...x.shape.slice(0, -1), half, 2]);
      a = reshape(narrow(pairs, -1, 0, 1), [...x.shape.slice(0, -1), half]);
      b = reshape(narrow(pairs, -1, 1, 1), [...x.shape.slice(0, -1), half]);
    }
    const { cos: c, sin: s } = angles;
    const ra = sub(mul(a, c), mul(b, s));
    const rb = add(mul(b, c), mul(a, s));
    if (layout === 'rotate-half') return concat([ra, rb], -1);
    return reshape(stack([ra, rb], -1), x.shape);
  });
}

/**
 * Reorders the output rows of a q or k projection weight [heads·headDim, in]
 * (or bias [heads·headDim]) between rotary layouts, head by head:
 * 'interleaved' → 'rotate-half' takes rows (0, 2, 4, …, 1, 3, 5, …) of each
 * head (the inverse of the permutation HF's and llama.cpp's converters apply);
 * 'rotate-half' → 'interleaved' undoes it. Host arrays in, new array out.
 */
export function permuteRotaryRows<T extends Float32Array | Float64Array>(
  data: T,
  rows: number,
  cols: number,
  heads: number,
  to: RopeLayout,
): T {
  if (data.length !== rows * cols) throw new ShapeError(`permuteRotaryRows: ${data.length} values do not fill [${rows}, ${cols}]`);
  if (rows % heads !== 0 || (rows / heads) % 2 !== 0) throw new ShapeError(`permuteRotaryRows: ${rows} rows do not split into ${heads} heads of even size`);
  const headDim = rows / heads;
  const half = headDim / 2;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let s = 0; s < 2; s++) {
        const halfRow = h * headDim + s * half + i; // rotate-half position of pair i, member s
        const pairRow = h * headDim + 2 * i + s; // interleaved position of the same feature
        const [dst, src] = to === 'rotate-half' ? [halfRow, pairRow] : [pairRow, halfRow];
        out.set(data.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}
