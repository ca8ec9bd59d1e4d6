/**
 * Forward values of the composite ops against naive JS references in f32
 * (tolerance 1e-5), and the strided view ops.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as ak from '../src/index.js';
import { liveTensors, memory, tensor, tidy, type Tensor } from '../src/index.js';
import { randomData } from './gradcheck.js';

ak.setBackend('cpu-ref');

const TOL = 1e-5;
const f32 = (data: number[], shape: number[]): Tensor => tensor(data, shape, { dtype: 'f32' });
const i32 = (data: number[], shape: number[]): Tensor => tensor(new Int32Array(data), shape);
const u8 = (data: number[], shape: number[]): Tensor => tensor(new Uint8Array(data), shape);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = TOL): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) expect(a).toBeNaN();
    else if (Math.abs(a - e) > tol * Math.max(1, Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (tolerance ${tol})\nactual ${Array.from(actual)}\nexpected ${Array.from(expected)}`);
    }
  }
}

/** Row-major rows of length `cols`. */
function rows(data: number[], cols: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < data.length; i += cols) out.push(data.slice(i, i + cols));
  return out;
}

function softmaxRow(r: number[]): number[] {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Naive [.., Lq, D] attention for one batch item. */
function naiveAttention(q: number[][], k: number[][], v: number[][], scale: number, allowed: (i: number, j: number) => boolean, additive?: number[][]): number[][] {
  return q.map((qi, i) => {
    const scores = k.map((kj, j) => {
      if (!allowed(i, j)) return -3.4028234663852886e38;
      const s = qi.reduce((acc, x, d) => acc + x * kj[d]!, 0) * scale;
      return s + (additive ? additive[i]![j]! : 0);
    });
    const p = softmaxRow(scores);
    return v[0]!.map((_, d) => p.reduce((acc, pj, j) => acc + pj * v[j]![d]!, 0));
  });
}

let startTensors = 0;
let startBuffers = 0;
beforeEach(() => {
  startTensors = liveTensors();
  startBuffers = memory('cpu-ref').liveBuffers;
});
afterEach(() => {
  expect(liveTensors()).toBe(startTensors);
  expect(memory('cpu-ref').liveBuffers).toBe(startBuffers);
});

describe('softmax / logSoftmax', () => {
  const data = randomData(24, 1, -3, 3);
  it('last axis', () => tidy(() => {
    const x = f32(data, [2, 3, 4]);
    const expected = rows(data, 4).flatMap(softmaxRow);
    expectClose(ak.softmax(x).dataSync(), expected);
    expectClose(ak.logSoftmax(x).dataSync(), expected.map(Math.log));
  }));
  it('non-last axis (axis 1 of [2, 3, 4])', () => tidy(() => {
    const x = f32(data, [2, 3, 4]);
    const expected = new Array<number>(24);
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 4; c++) {
        const col = [0, 1, 2].map((r) => data[b * 12 + r * 4 + c]!);
        softmaxRow(col).forEach((v, r) => (expected[b * 12 + r * 4 + c] = v));
      }
    }
    const y = ak.softmax(x, 1);
    expect(y.shape).toEqual([2, 3, 4]);
    expectClose(y.dataSync(), expected);
    expectClose(ak.logSoftmax(x, -2).dataSync(), expected.map(Math.log));
  }));
  it('is stable for large inputs', () => tidy(() => {
    const y = ak.softmax(f32([1000, 1001, 1002], [3])).dataSync();
    expectClose(y, softmaxRow([0, 1, 2]));
  }));
});

describe('layerNorm / rmsNorm', () => {
  const x = randomData(15, 2, -2, 2);
  const g = randomData(5, 3, 0.5, 1.5);
  const b = randomData(5, 4);
  it('layerNorm matches the definition (biased variance, eps 1e-5 by default)', () => tidy(() => {
    const expected = rows(x, 5).flatMap((r) => {
      const mu = r.reduce((a, v) => a + v, 0) / 5;
      const variance = r.reduce((a, v) => a + (v - mu) ** 2, 0) / 5;
      return r.map((v, i) => ((v - mu) / Math.sqrt(variance + 1e-5)) * g[i]! + b[i]!);
    });
    expectClose(ak.layerNorm(f32(x, [3, 5]), f32(g, [5]), f32(b, [5])).dataSync(), expected);
  }));
  it('rmsNorm matches the definition (eps 1e-6 by default)', () => tidy(() => {
    const expected = rows(x, 5).flatMap((r) => {
      const rstd = 1 / Math.sqrt(r.reduce((a, v) => a + v * v, 0) / 5 + 1e-6);
      return r.map((v, i) => v * rstd * g[i]!);
    });
    expectClose(ak.rmsNorm(f32(x, [3, 5]), f32(g, [5])).dataSync(), expected);
  }));
});

describe('embedding', () => {
  it('looks rows up for ids of any shape', () => tidy(() => {
    const w = randomData(12, 5);
    const y = ak.embedding(f32(w, [4, 3]), i32([3, 0, 3, 1], [2, 2]));
    expect(y.shape).toEqual([2, 2, 3]);
    expectClose(y.dataSync(), [3, 0, 3, 1].flatMap((id) => w.slice(id * 3, id * 3 + 3)));
  }));
});

describe('where / maskedFill / clamp', () => {
  it('where broadcasts condition and branches', () => tidy(() => {
    const y = ak.where(u8([1, 0], [2, 1]), f32([1, 2, 3, 4, 5, 6], [2, 3]), f32([-1, -2, -3], [3]));
    expect(y.shape).toEqual([2, 3]);
    expectClose(y.dataSync(), [1, 2, 3, -1, -2, -3]);
  }));
  it('maskedFill sets masked elements', () => tidy(() => {
    expectClose(ak.maskedFill(f32([1, 2, 3, 4], [2, 2]), u8([0, 1], [2]), -9).dataSync(), [1, -9, 3, -9]);
  }));
  it('clamp limits to the range (either bound optional)', () => tidy(() => {
    const x = f32([-2, -0.5, 0, 0.5, 2], [5]);
    expectClose(ak.clamp(x, -1, 1).dataSync(), [-1, -0.5, 0, 0.5, 1]);
    expectClose(ak.clamp(x, 0).dataSync(), [0, 0, 0, 0.5, 2]);
    expectClose(ak.clamp(x, undefined, 0).dataSync(), [-2, -0.5, 0, 0, 0]);
  }));
});

describe('losses', () => {
  const logits = randomData(12, 6, -2, 2);
  const naiveCE = (t: number[]): number[] =>
    rows(logits, 4).map((r, i) => {
      if (t[i] === -100) return 0;
      const m = Math.max(...r);
      return Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0)) + m - r[t[i]!]!;
    });
  it('crossEntropy none / sum / mean with ignored targets', () => tidy(() => {
    const l = f32(logits, [3, 4]);
    const t = i32([2, -100, 0], [3]);
    const per = naiveCE([2, -100, 0]);
    expectClose(ak.crossEntropy(l, t, { reduction: 'none' }).dataSync(), per);
    expectClose(ak.crossEntropy(l, t, { reduction: 'sum' }).dataSync(), [per[0]! + per[2]!]);
    expectClose(ak.crossEntropy(l, t).dataSync(), [(per[0]! + per[2]!) / 2]);
  }));
  it('crossEntropy mean is NaN when every target is ignored (as PyTorch)', () => tidy(() => {
    expect(ak.crossEntropy(f32(logits, [3, 4]), i32([-100, -100, -100], [3])).dataSync()[0]).toBeNaN();
  }));
  it('crossEntropy keeps the targets shape with reduction none', () => tidy(() => {
    const y = ak.crossEntropy(f32(logits, [1, 3, 4]), i32([1, 1, 1], [1, 3]), { reduction: 'none' });
    expect(y.shape).toEqual([1, 3]);
  }));
  it('mseLoss', () => tidy(() => {
    const a = f32([1, 2, 3, 4], [2, 2]);
    const b = f32([0, 2, 5, 1], [2, 2]);
    expectClose(ak.mseLoss(a, b, 'none').dataSync(), [1, 0, 4, 9]);
    expectClose(ak.mseLoss(a, b, 'sum').dataSync(), [14]);
    expectClose(ak.mseLoss(a, b).dataSync(), [3.5]);
  }));
});

describe('dropout', () => {
  it('p = 0 or eval mode returns x itself; p = 1 gives zeros', () => tidy(() => {
    const x = f32([1, 2, 3], [3]);
    expect(ak.dropout(x, 0)).toBe(x);
    expect(ak.dropout(x, 0.5, false)).toBe(x);
    expectClose(ak.dropout(x, 1).dataSync(), [0, 0, 0]);
  }));
  it('zeroes about p of the elements and scales the rest by 1/(1 − p)', () => tidy(() => {
    const y = ak.dropout(ak.ones([4000]), 0.3, true, { seed: 123 }).dataSync();
    let zeros = 0;
    for (const v of y) {
      if (v === 0) zeros++;
      else expect(v).toBeCloseTo(1 / 0.7, 5);
    }
    expect(zeros / 4000).toBeGreaterThan(0.27);
    expect(zeros / 4000).toBeLessThan(0.33);
  }));
  it('a seed gives the same mask; the global stream advances between calls', () => tidy(() => {
    const x = ak.ones([64]);
    expect(Array.from(ak.dropout(x, 0.5, true, { seed: 9 }).dataSync())).toEqual(Array.from(ak.dropout(x, 0.5, true, { seed: 9 }).dataSync()));
    ak.manualSeed(1);
    const a = Array.from(ak.dropout(x, 0.5).dataSync());
    const b = Array.from(ak.dropout(x, 0.5).dataSync());
    expect(a).not.toEqual(b);
    ak.manualSeed(1);
    expect(Array.from(ak.dropout(x, 0.5).dataSync())).toEqual(a);
  }));
});

describe('scaledDotProductAttention', () => {
  const Lq = 3, Lk = 4, D = 2;
  const qd = randomData(Lq * D, 10), kd = randomData(Lk * D, 11), vd = randomData(Lk * 3, 12);
  const q = () => f32(qd, [1, Lq, D]), k = () => f32(kd, [1, Lk, D]), v = () => f32(vd, [1, Lk, 3]);
  const Q = rows(qd, D), K = rows(kd, D), V = rows(vd, 3);
  const scale = 1 / Math.sqrt(D);
  it('plain', () => tidy(() => {
    expectClose(ak.scaledDotProductAttention(q(), k(), v()).dataSync(), naiveAttention(Q, K, V, scale, () => true).flat());
  }));
  it('causal is aligned bottom-right (query i sees keys j ≤ i + Lk − Lq)', () => tidy(() => {
    const expected = naiveAttention(Q, K, V, scale, (i, j) => j <= i + 1).flat();
    expectClose(ak.scaledDotProductAttention(q(), k(), v(), { causal: true }).dataSync(), expected);
  }));
  it('u8 keep-mask and custom scale', () => tidy(() => {
    const keepData = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1];
    const expected = naiveAttention(Q, K, V, 0.3, (i, j) => keepData[i * Lk + j] === 1).flat();
    expectClose(ak.scaledDotProductAttention(q(), k(), v(), { mask: u8(keepData, [Lq, Lk]), scale: 0.3 }).dataSync(), expected);
  }));
  it('additive float mask', () => tidy(() => {
    const add = rows(randomData(Lq * Lk, 13, -2, 0), Lk);
    const expected = naiveAttention(Q, K, V, scale, () => true, add).flat();
    expectClose(ak.scaledDotProductAttention(q(), k(), v(), { mask: f32(add.flat(), [Lq, Lk]) }).dataSync(), expected);
  }));
  it('a fully masked row gives no NaN (uniform weights)', () => tidy(() => {
    const keepData = [0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1];
    const y = ak.scaledDotProductAttention(q(), k(), v(), { mask: u8(keepData, [Lq, Lk]) }).dataSync();
    for (const value of y) expect(Number.isFinite(value)).toBe(true);
    const mean = [0, 1, 2].map((d) => V.reduce((a, r) => a + r[d]!, 0) / Lk);
    expectClose(Array.from(y).slice(0, 3), mean);
  }));
  it('repeatKv expands KV heads for grouped-query attention', () => tidy(() => {
    const kv = f32([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const r = ak.repeatKv(kv, 2);
    expect(r.shape).toEqual([1, 4, 2, 2]);
    expectClose(r.dataSync(), [1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8]);
    expect(ak.repeatKv(kv, 1)).toBe(kv);
  }));
});

describe('scaledDotProductAttention: fused kernel vs composed ops', () => {
  /** Forward output and the gradients of Σ out·r for one path (f32, cpu-ref); the mask gets one when float. */
  function run(path: 'fused' | 'composed', inputs: { q: number[][]; k: number[][]; v: number[][]; mask?: [number[], number[], 'f32' | 'u8'] }, opts: ak.AttentionOptions): Float32Array[] {
    return tidy(() => {
      const [q, k, v] = [inputs.q, inputs.k, inputs.v].map(([shape, seed]) => {
        const n = shape!.reduce((a, b) => a * b, 1);
        return tensor(randomData(n, seed as unknown as number, -2, 2), shape as unknown as number[], { dtype: 'f32', requiresGrad: true });
      }) as [Tensor, Tensor, Tensor];
      let mask: Tensor | undefined;
      if (inputs.mask) {
        const [data, shape, dtype] = inputs.mask;
        mask = dtype === 'u8' ? u8(data, shape) : tensor(data, shape, { dtype: 'f32', requiresGrad: true });
      }
      const out = ak.scaledDotProductAttention(q, k, v, { ...opts, mask, path });
      const r = tensor(randomData(out.size, 991, 0.5, 1.5), out.shape, { dtype: 'f32' });
      ak.backward(ak.sum(ak.mul(out, r)));
      const grads = [q, k, v, ...(mask?.dtype === 'f32' ? [mask] : [])].map((t) => {
        const g = t.grad!.dataSync() as Float32Array;
        t.grad!.dispose();
        t.grad = null;
        return g;
      });
      return [out.dataSync() as Float32Array, ...grads];
    });
  }

  const s = (shape: number[], seed: number): number[][] => [shape, [seed]] as unknown as number[][];
  const lowest = -3.4028234663852886e38;
  const cases: [string, Parameters<typeof run>[1], ak.AttentionOptions][] = [
    ['plain [2, 3, 5, 8] × [2, 3, 7, 8]', { q: s([2, 3, 5, 8], 1), k: s([2, 3, 7, 8], 2), v: s([2, 3, 7, 6], 3) }, {}],
    ['additive [B, 1, 1, Lk] mask (BERT) with padding', {
      q: s([2, 2, 4, 4], 4), k: s([2, 2, 4, 4], 5), v: s([2, 2, 4, 4], 6),
      mask: [[0, 0, 0, lowest, 0, 0, lowest, lowest], [2, 1, 1, 4], 'f32'],
    }, {}],
    ['u8 [B, 1, Lq, Lk] mask (Llama) with a fully masked row', {
      q: s([2, 2, 3, 4], 7), k: s([2, 2, 3, 4], 8), v: s([2, 2, 3, 4], 9),
      mask: [[1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1], [2, 1, 3, 3], 'u8'],
    }, {}],
    ['causal, Lq < Lk (KV cache)', { q: s([1, 2, 3, 4], 10), k: s([1, 2, 6, 4], 11), v: s([1, 2, 6, 4], 12) }, { causal: true }],
    ['causal, Lq > Lk (rows without keys)', { q: s([1, 2, 6, 4], 13), k: s([1, 2, 3, 4], 14), v: s([1, 2, 3, 4], 15) }, { causal: true, scale: 0.4 }],
    ['causal and a float mask with a fully masked row', {
      q: s([1, 3, 4], 16), k: s([1, 4, 4], 17), v: s([1, 4, 2], 18),
      mask: [[lowest, lowest, lowest, lowest, ...randomData(8, 19, -1, 0)], [3, 4], 'f32'],
    }, { causal: true }],
    ['one shared KV head (multi-query)', { q: s([2, 4, 3, 4], 20), k: s([2, 1, 5, 4], 21), v: s([2, 1, 5, 3], 22) }, {}],
  ];
  for (const [name, inputs, opts] of cases) {
    it(`${name}: outputs and gradients agree within 1e-5`, () => {
      ak.resetAttentionPathStats();
      const fused = run('fused', inputs, opts);
      const composed = run('composed', inputs, opts);
      expect(ak.attentionPathStats()).toMatchObject({ fused: 1, composed: 1 });
      const names = ['out', 'dq', 'dk', 'dv', 'dmask'];
      fused.forEach((f, i) => {
        try {
          expectClose(f, composed[i]!);
        } catch (e) {
          throw new Error(`${names[i]}: ${(e as Error).message.split('\n')[0]}`);
        }
      });
    });
  }

  it('counts the path of every call and why calls were composed', () => tidy(() => {
    ak.resetAttentionPathStats();
    const q = f32(randomData(8, 30), [1, 2, 4]);
    ak.scaledDotProductAttention(q, q, q);
    ak.scaledDotProductAttention(q, q, q, { dropoutP: 0.1, training: false });
    ak.scaledDotProductAttention(q, q, q, { dropoutP: 0.1 });
    ak.scaledDotProductAttention(q, q, q, { path: 'composed' });
    expect(ak.attentionPathStats()).toEqual({
      fused: 2, composed: 2, composedReasons: { 'attention dropout is active': 1, "path 'composed' requested": 1 },
    });
    expect(() => ak.scaledDotProductAttention(q, q, q, { dropoutP: 0.1, path: 'fused' })).toThrow(/path 'fused' requested, but attention dropout is active/);
    ak.resetAttentionPathStats();
    expect(ak.attentionPathStats()).toEqual({ fused: 0, composed: 0, composedReasons: {} });
  }));

  it('composes on a backend without the kernel, and asks for P only when a gradient is recorded', () => {
    // Two copies of cpu-ref: one without 'attention', one whose 'attention' logs its outputs.
    const outputsSeen: number[] = [];
    for (const name of ['cpu-ref-no-attention', 'cpu-ref-attention-spy']) {
      ak.registerBackend(name, () => {
        const b = new ak.CpuBackend();
        Object.defineProperty(b, 'name', { value: name });
        return b;
      });
      for (const kname of ak.kernelsFor('cpu-ref')) {
        if (kname !== 'attention') ak.registerKernel(kname, name, ak.getKernel(kname, 'cpu-ref'));
      }
    }
    const real = ak.getKernel('attention', 'cpu-ref');
    ak.registerKernel('attention', 'cpu-ref-attention-spy', (b, args) => {
      outputsSeen.push(args.outputs.length);
      real(b, args);
    });
    ak.resetAttentionPathStats();
    for (const backend of ['cpu-ref-no-attention', 'cpu-ref-attention-spy']) {
      const q = tensor(randomData(8, 31), [1, 2, 4], { dtype: 'f32', backend, requiresGrad: true });
      tidy(() => {
        ak.noGrad(() => ak.scaledDotProductAttention(q, q, q));
        ak.backward(ak.sum(ak.scaledDotProductAttention(q, q, q)));
      });
      q.grad?.dispose();
      q.dispose();
    }
    expect(ak.attentionPathStats()).toEqual({ fused: 2, composed: 2, composedReasons: { "backend 'cpu-ref-no-attention' has no 'attention' kernel": 2 } });
    expect(outputsSeen).toEqual([1, 2]);
  });
});

describe('views', () => {
  const m = () => f32([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [3, 4]);
  it('data() of strided views (transpose, narrow, expand, permute)', async () => {
    const x = m();
    const t = ak.transpose(x);
    expect(t.isContiguous()).toBe(false);
    expect(Array.from(await t.data())).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    const n = ak.narrow(x, 1, 1, 2);
    expect(Array.from(await n.data())).toEqual([1, 2, 5, 6, 9, 10]);
    const col = f32([1, 2], [2, 1]);
    const e = ak.expand(col, [2, 3]);
    expect(e.strides).toEqual([1, 0]);
    expect(Array.from(await e.data())).toEqual([1, 1, 1, 2, 2, 2]);
    const r = ak.reshape(x, [2, 3, 2]);
    const p = ak.permute(r, [2, 0, 1]);
    expect(p.shape).toEqual([2, 2, 3]);
    expect(await p.array()).toEqual([[[0, 2, 4], [6, 8, 10]], [[1, 3, 5], [7, 9, 11]]]);
    ak.dispose([x, t, n, col, e, r, p]);
  });
  it('slice of a transposed tensor', () => tidy(() => {
    const s = ak.slice(ak.transpose(m()), [[1, 3], [-2]]);
    expect(s.shape).toEqual([2, 2]);
    expect(Array.from(s.dataSync())).toEqual([5, 9, 6, 10]);
  }));
  it('concat of non-contiguous inputs', () => tidy(() => {
    const x = m();
    const c = ak.concat([ak.transpose(x), ak.narrow(ak.transpose(x), 1, 0, 1), ak.expand(f32([7], [1, 1]), [4, 2])], 1);
    expect(c.shape).toEqual([4, 6]);
    expect(await2(c)).toEqual([
      [0, 4, 8, 0, 7, 7],
      [1, 5, 9, 1, 7, 7],
      [2, 6, 10, 2, 7, 7],
      [3, 7, 11, 3, 7, 7],
    ]);
  }));
  it('stack and split round-trip', () => tidy(() => {
    const x = m();
    const parts = ak.split(x, [1, 3], 1);
    expect(parts.map((p) => p.shape)).toEqual([[3, 1], [3, 3]]);
    expect(Array.from(parts[1]!.dataSync())).toEqual([1, 2, 3, 5, 6, 7, 9, 10, 11]);
    const st = ak.stack([x, ak.neg(x)], 1);
    expect(st.shape).toEqual([3, 2, 4]);
    expect(Array.from(st.dataSync()).slice(0, 8)).toEqual([0, 1, 2, 3, -0, -1, -2, -3]);
  }));
  it('matmul of a sliced (offset) operand', () => tidy(() => {
    const a = ak.narrow(m(), 0, 1, 2); // rows 1..2, offset 4
    const y = ak.matmul(a, ak.ones([4, 1]));
    expect(Array.from(y.dataSync())).toEqual([22, 38]);
  }));
});

/** Nested rows of a 2-D tensor (sync). */
function await2(t: Tensor): number[][] {
  return rows(Array.from(t.dataSync()), t.shape[1]!);
}
