/**
 * Sizes past the thresholds where the native kernels split work over the
 * thread pool (the conformance cases are small and run on one thread):
 * elementwise on long and strided views, reductions of one long row (the
 * split-row path, NaN and tie rules included) and of wide inner axes, row
 * kernels over thousands of rows, norm backward with per-task parameter
 * gradients, and the random generator. Compared with 'cpu-ref' using the
 * conformance suite's default tolerances.
 */
import { describe, expect, it } from 'vitest';
import { runKernel, type DType, type Tensor, type View } from '@adapterkit/core';
import { compareArrays, defaultTolerance, scaleAtol } from '@adapterkit/core/conformance';
import { requireFastCpu, seeded } from './helpers.js';
import { tensor } from '@adapterkit/core';

requireFastCpu();

type HostInput = { values: Float32Array | Int32Array | Uint8Array; dtype: DType; shape?: number[]; strides?: number[]; offset?: number };

/** Runs a kernel on both backends with the same inputs; returns outputs per backend. */
function runBoth(kernel: string, inputs: HostInput[], outputs: { shape: number[]; dtype: DType }[], attrs: object = {}): [ArrayLike<number>[], ArrayLike<number>[]] {
  const run = (backend: string): ArrayLike<number>[] => {
    const made: Tensor[] = [];
    const views: View[] = inputs.map((h) => {
      const t = tensor(h.values, [h.values.length], { dtype: h.dtype, backend });
      made.push(t);
      const shape = h.shape ?? [h.values.length];
      const strides = h.strides ?? shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
      return { storage: t.storage, dtype: h.dtype, shape, strides, offset: h.offset ?? 0 };
    });
    const outs = runKernel(kernel, views, outputs, attrs);
    const data = outs.map((o) => o.dataSync());
    for (const t of [...made, ...outs]) t.dispose();
    return data;
  };
  return [run('cpu'), run('cpu-ref')];
}

function expectClose(kernel: string, inputs: HostInput[], outputs: { shape: number[]; dtype: DType }[], attrs: object = {}, atolScale: number[] = []): void {
  const [got, want] = runBoth(kernel, inputs, outputs, attrs);
  const tol = defaultTolerance(kernel, 'f32');
  got.forEach((g, i) => {
    const r = compareArrays(g, want[i]!, scaleAtol(tol, atolScale[i] ?? 1), { label: `${kernel} output ${i}`, shape: outputs[i]!.shape });
    expect(r.ok, r.message).toBe(true);
  });
}

const f32 = (n: number, seed: number, scale = 3): Float32Array => seeded(n, seed).map((v) => v * scale);

describe('elementwise on the thread pool', () => {
  const N = 300_001;
  for (const op of ['exp', 'gelu', 'tanh', 'silu', 'relu', 'sin']) {
    it(`${op} on ${N} contiguous elements and a transposed 600×501 view`, () => {
      expectClose(op, [{ values: f32(N, 1), dtype: 'f32' }], [{ shape: [N], dtype: 'f32' }]);
      expectClose(op, [{ values: f32(600 * 501, 2), dtype: 'f32', shape: [600, 501], strides: [1, 600] }], [{ shape: [600, 501], dtype: 'f32' }]);
    });
  }

  it('add with a row broadcast, mul with a column broadcast, maximum with NaNs', () => {
    const [m, n] = [700, 513];
    expectClose('add', [{ values: f32(m * n, 3), dtype: 'f32', shape: [m, n] }, { values: f32(n, 4), dtype: 'f32', shape: [m, n], strides: [0, 1] }], [{ shape: [m, n], dtype: 'f32' }]);
    expectClose('mul', [{ values: f32(m * n, 5), dtype: 'f32', shape: [m, n] }, { values: f32(m, 6), dtype: 'f32', shape: [m, n], strides: [1, 0] }], [{ shape: [m, n], dtype: 'f32' }]);
    const a = f32(m * n, 7);
    for (let i = 0; i < a.length; i += 997) a[i] = NaN;
    expectClose('maximum', [{ values: a, dtype: 'f32' }, { values: f32(m * n, 8), dtype: 'f32' }], [{ shape: [m * n], dtype: 'f32' }]);
  });

  it('compare, where and copy on large strided views', () => {
    const [m, n] = [512, 700];
    expectClose('lt', [{ values: f32(m * n, 9), dtype: 'f32', shape: [m, n], strides: [1, m] }, { values: f32(n, 10), dtype: 'f32', shape: [m, n], strides: [0, 1] }], [{ shape: [m, n], dtype: 'u8' }]);
    const cond = new Uint8Array(m * n).map((_, i) => (i * 7) % 3 === 0 ? 1 : 0);
    expectClose('where', [{ values: cond, dtype: 'u8', shape: [m, n] }, { values: f32(m * n, 11), dtype: 'f32', shape: [m, n], strides: [1, m] }, { values: f32(1, 12), dtype: 'f32', shape: [m, n], strides: [0, 0] }], [{ shape: [m, n], dtype: 'f32' }]);
    expectClose('copy', [{ values: f32(m * n, 13), dtype: 'f32', shape: [m, n], strides: [1, m] }], [{ shape: [m, n], dtype: 'f32' }]);
  });
});

describe('reductions on the thread pool', () => {
  const R = 1_000_003;
  it('sum / max / min / argmax of one long row (split into parts)', () => {
    const x = f32(R, 14);
    expectClose('sum', [{ values: x, dtype: 'f32' }], [{ shape: [1, 1], dtype: 'f32' }], { outer: 1, reduce: R, inner: 1 }, [Math.sqrt(R)]);
    for (const op of ['max', 'min']) expectClose(op, [{ values: x, dtype: 'f32' }], [{ shape: [1, 1], dtype: 'f32' }], { outer: 1, reduce: R, inner: 1 });
    // the maximum appears twice, in different parts: the first one wins
    const t = x.slice();
    t[700_001] = 50;
    t[900_001] = 50;
    expectClose('argmax', [{ values: t, dtype: 'f32' }], [{ shape: [1, 1], dtype: 'i32' }], { outer: 1, reduce: R, inner: 1 });
    // a NaN beats any maximum, the first NaN wins
    t[800_000] = NaN;
    t[950_000] = NaN;
    expectClose('argmax', [{ values: t, dtype: 'f32' }], [{ shape: [1, 1], dtype: 'i32' }], { outer: 1, reduce: R, inner: 1 });
    expectClose('max', [{ values: t, dtype: 'f32' }], [{ shape: [1, 1], dtype: 'f32' }], { outer: 1, reduce: R, inner: 1 });
  });

  it('reductions of a middle axis with a wide inner axis', () => {
    const [outer, reduce, inner] = [3, 700, 301];
    const x = f32(outer * reduce * inner, 15);
    for (const op of ['sum', 'max', 'min', 'argmax']) {
      expectClose(op, [{ values: x, dtype: 'f32' }], [{ shape: [outer, inner], dtype: op === 'argmax' ? 'i32' : 'f32' }], { outer, reduce, inner }, [Math.sqrt(reduce)]);
    }
  });

  it('many short rows', () => {
    const [outer, reduce] = [20_000, 37];
    const x = f32(outer * reduce, 16);
    for (const op of ['sum', 'max', 'argmax']) {
      expectClose(op, [{ values: x, dtype: 'f32' }], [{ shape: [outer, 1], dtype: op === 'argmax' ? 'i32' : 'f32' }], { outer, reduce, inner: 1 }, [Math.sqrt(reduce)]);
    }
  });
});

describe('row kernels on the thread pool', () => {
  it('softmax and logSoftmax over 2000 rows', () => {
    const [rows, cols] = [2000, 301];
    for (const k of ['softmax', 'logSoftmax']) expectClose(k, [{ values: f32(rows * cols, 17, 8), dtype: 'f32' }], [{ shape: [rows, cols], dtype: 'f32' }], { rows, cols });
  });

  it('layerNorm and rmsNorm forward and backward over 3000 rows', () => {
    const [rows, d] = [3000, 257];
    const x = f32(rows * d, 18), g = f32(d, 19, 1), b = f32(d, 20, 1), dy = f32(rows * d, 21, 1);
    expectClose('layerNorm', [{ values: x, dtype: 'f32' }, { values: g, dtype: 'f32' }, { values: b, dtype: 'f32' }],
      [{ shape: [rows, d], dtype: 'f32' }, { shape: [rows], dtype: 'f32' }, { shape: [rows], dtype: 'f32' }], { rows, d, eps: 1e-5 });
    // backward from the reference's own statistics
    const [, stats] = runBoth('layerNorm', [{ values: x, dtype: 'f32' }, { values: g, dtype: 'f32' }, { values: b, dtype: 'f32' }],
      [{ shape: [rows, d], dtype: 'f32' }, { shape: [rows], dtype: 'f32' }, { shape: [rows], dtype: 'f32' }], { rows, d, eps: 1e-5 });
    expectClose('layerNormBackward',
      [{ values: dy, dtype: 'f32' }, { values: x, dtype: 'f32' }, { values: stats[1] as Float32Array, dtype: 'f32' }, { values: stats[2] as Float32Array, dtype: 'f32' }, { values: g, dtype: 'f32' }],
      [{ shape: [rows, d], dtype: 'f32' }, { shape: [d], dtype: 'f32' }, { shape: [d], dtype: 'f32' }], { rows, d }, [1, Math.sqrt(rows), Math.sqrt(rows)]);
    expectClose('rmsNorm', [{ values: x, dtype: 'f32' }, { values: g, dtype: 'f32' }], [{ shape: [rows, d], dtype: 'f32' }, { shape: [rows], dtype: 'f32' }], { rows, d, eps: 1e-6 });
    const [, rstats] = runBoth('rmsNorm', [{ values: x, dtype: 'f32' }, { values: g, dtype: 'f32' }], [{ shape: [rows, d], dtype: 'f32' }, { shape: [rows], dtype: 'f32' }], { rows, d, eps: 1e-6 });
    expectClose('rmsNormBackward',
      [{ values: dy, dtype: 'f32' }, { values: x, dtype: 'f32' }, { values: rstats[1] as Float32Array, dtype: 'f32' }, { values: g, dtype: 'f32' }],
      [{ shape: [rows, d], dtype: 'f32' }, { shape: [d], dtype: 'f32' }], { rows, d }, [1, Math.sqrt(rows)]);
  });

  it('crossEntropy forward and backward over 5000 rows with ignored targets', () => {
    const [n, c] = [5000, 100];
    const t = new Int32Array(n).map((_, i) => (i % 9 === 4 ? -100 : (i * 31) % c));
    const attrs = { n, c, ignoreIndex: -100 };
    expectClose('crossEntropy', [{ values: f32(n * c, 22, 5), dtype: 'f32' }, { values: t, dtype: 'i32' }], [{ shape: [n], dtype: 'f32' }], attrs);
    expectClose('crossEntropyBackward', [{ values: f32(n * c, 22, 5), dtype: 'f32' }, { values: t, dtype: 'i32' }, { values: f32(n, 23, 1), dtype: 'f32' }], [{ shape: [n, c], dtype: 'f32' }], attrs);
  });

  it('crossEntropy rejects an out-of-range target with the reference message', () => {
    const t = new Int32Array([1, 7, 0]);
    expect(() => runBoth('crossEntropy', [{ values: f32(9, 1), dtype: 'f32' }, { values: t, dtype: 'i32' }], [{ shape: [3], dtype: 'f32' }], { n: 3, c: 3, ignoreIndex: -100 }))
      .toThrow('crossEntropy: target 7 at row 1 is out of range for 3 classes (ignoreIndex is -100)');
  });
});

describe('gather and scatterAdd', () => {
  it('gather of 4096 rows of 384 (f32 and i32) and scatterAdd back into 3000 rows', () => {
    const [v, d, n] = [3000, 384, 4096];
    const ids = new Int32Array(n).map((_, i) => (i * 7919) % v);
    ids[5] = ids[6] = ids[7] = 0; // repeats
    ids[n - 1] = v - 1;
    expectClose('gather', [{ values: f32(v * d, 24), dtype: 'f32' }, { values: ids, dtype: 'i32' }], [{ shape: [n, d], dtype: 'f32' }], { v, d, n });
    expectClose('gather', [{ values: new Int32Array(v * d).map((_, i) => i * 3 - 7), dtype: 'i32' }, { values: ids, dtype: 'i32' }], [{ shape: [n, d], dtype: 'i32' }], { v, d, n });
    // same order of f32 adds as the reference: exact
    const [got, want] = runBoth('scatterAdd', [{ values: f32(n * d, 25), dtype: 'f32' }, { values: ids, dtype: 'i32' }], [{ shape: [v, d], dtype: 'f32' }], { v, d, n });
    expect(Array.from(got[0]!)).toEqual(Array.from(want[0]!));
  });

  it('an index out of range is an error with the reference message', () => {
    const ids = new Int32Array([0, 3, 1]);
    expect(() => runBoth('gather', [{ values: f32(6, 1), dtype: 'f32' }, { values: ids, dtype: 'i32' }], [{ shape: [3, 2], dtype: 'f32' }], { v: 3, d: 2, n: 3 }))
      .toThrow('gather: index 3 at position 1 is out of range for a table of 3 rows');
    expect(() => runBoth('scatterAdd', [{ values: f32(6, 1), dtype: 'f32' }, { values: ids, dtype: 'i32' }], [{ shape: [3, 2], dtype: 'f32' }], { v: 3, d: 2, n: 3 }))
      .toThrow('scatterAdd: index 3 at position 1 is out of range for a table of 3 rows');
  });
});

describe('random on the thread pool', () => {
  for (const attrs of [
    { distribution: 'uniform', seed: 42, counter: 4294967000, low: -2, high: 3 },
    { distribution: 'normal', seed: 7, counter: 123, mean: 1, std: 2 },
    { distribution: 'bernoulli', seed: 9, counter: 5, p: 0.3 },
  ]) {
    it(`${attrs.distribution} matches the reference generator (counter wrap included)`, () => {
      const n = 300_000;
      const [got, want] = runBoth('random', [], [{ shape: [n], dtype: 'f32' }], attrs);
      const tol = scaleAtol(defaultTolerance('random', 'f32'), attrs.distribution === 'normal' ? attrs.std! : 1);
      const r = compareArrays(got[0]!, want[0]!, tol, { label: attrs.distribution });
      expect(r.ok, r.message).toBe(true);
    });
  }
});
