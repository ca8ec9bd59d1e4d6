import {
  DTypeError, add, backendByName, fromNumbers, narrow, neg, registerKernel, runKernel, runKernelInto, tensor,
  type Backend, type DType, type KernelArgs, type Tensor,
} from '@adapterkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_1D, Params, WG, createWebGpuBackend, grid, header, type WebGpuBackend } from '../src/index.js';
import { initWebGpu } from './setup.js';

/**
 * Behaviour specific to the WebGPU backend that the shared conformance suite
 * does not reach: GPU-side index validation, ordering of host writes against
 * batched work and recycled buffers, unaligned sub-word writes, batches longer
 * than one submit, grids folded past 65535 workgroups, NaN in reductions, and
 * overlapping copies.
 */

let gpu: WebGpuBackend;
let cpu: Backend;

beforeAll(async () => {
  gpu = await initWebGpu();
  cpu = backendByName('cpu-ref');
});

function up(values: ArrayLike<number>, shape: number[], dtype: DType, backend: Backend): Tensor {
  return tensor(fromNumbers(values, dtype), shape, { dtype, backend });
}

/** Runs one kernel on both backends with the same host inputs; returns [webgpu, cpu-ref] outputs. */
async function both(
  name: string, inputs: { values: ArrayLike<number>; shape: number[]; dtype: DType }[], outputs: { shape: number[]; dtype: DType }[], attrs: object,
): Promise<[ArrayLike<number>[], ArrayLike<number>[]]> {
  const res: ArrayLike<number>[][] = [];
  for (const b of [gpu, cpu]) {
    const ins = inputs.map((i) => up(i.values, i.shape, i.dtype, b));
    const outs = runKernel(name, ins, outputs, attrs, b);
    res.push(await Promise.all(outs.map((o) => o.data())));
    for (const t of [...ins, ...outs]) t.dispose();
  }
  return [res[0]!, res[1]!];
}

function close(a: ArrayLike<number>, e: ArrayLike<number>, atol: number, rtol: number): void {
  expect(a.length).toBe(e.length);
  const bad: string[] = [];
  for (let i = 0; i < e.length && bad.length < 5; i++) {
    const x = a[i]!, y = e[i]!;
    const ok = Number.isNaN(y) ? Number.isNaN(x) : Math.abs(x - y) <= atol + rtol * Math.abs(y);
    if (!ok) bad.push(`index ${i}: got ${x}, expected ${y}`);
  }
  expect(bad, bad.join('; ')).toEqual([]);
}

describe('webgpu backend', () => {
  it('reports its dtypes: no f64', () => {
    for (const d of ['f32', 'i32', 'u8', 'i8', 'f16', 'bf16'] as const) expect(gpu.supportsDType(d)).toBe(true);
    expect(gpu.supportsDType('f64')).toBe(false);
    expect(() => tensor(new Float64Array(3), [3], { backend: gpu })).toThrow(DTypeError);
  });

  it('flags out-of-range gather indices at the next read, then recovers', async () => {
    const table = up([1, 2, 3, 4, 5, 6], [3, 2], 'f32', gpu);
    const ids = up([0, 7, 2], [3], 'i32', gpu);
    const [y] = runKernel('gather', [table, ids], [{ shape: [3, 2], dtype: 'f32' }], { v: 3, d: 2, n: 3 }, gpu);
    await expect(y!.data()).rejects.toThrow(/gather: an index was out of range.*offending value: 7/);
    // The flag was consumed: later reads succeed and the valid rows are right.
    const good = up([2, 0], [2], 'i32', gpu);
    const [z] = runKernel('gather', [table, good], [{ shape: [2, 2], dtype: 'f32' }], { v: 3, d: 2, n: 2 }, gpu);
    expect([...(await z!.data())]).toEqual([5, 6, 1, 2]);
    for (const t of [table, ids, y!, good, z!]) t.dispose();
  });

  it('flags scatterAdd indices and cross-entropy targets out of range', async () => {
    const src = up([1, 1, 1, 1], [2, 2], 'f32', gpu);
    const ids = up([0, -1], [2], 'i32', gpu);
    const [y] = runKernel('scatterAdd', [src, ids], [{ shape: [2, 2], dtype: 'f32' }], { v: 2, d: 2, n: 2 }, gpu);
    await expect(gpu.sync()).rejects.toThrow(/scatterAdd: an index was out of range/);
    const logits = up([0, 1, 2, 3], [2, 2], 'f32', gpu);
    const t = up([1, 5], [2], 'i32', gpu);
    const [loss] = runKernel('crossEntropy', [logits, t], [{ shape: [2], dtype: 'f32' }], { n: 2, c: 2, ignoreIndex: -100 }, gpu);
    await expect(loss!.data()).rejects.toThrow(/crossEntropy: a target was neither/);
    await gpu.sync();
    for (const x of [src, ids, y!, logits, t, loss!]) x.dispose();
  });

  it('keeps eager order when a recycled buffer is written while work is pending', async () => {
    const a = up([1, 2, 3, 4, 5], [5], 'f32', gpu);
    const b = neg(a); // recorded, not yet submitted
    a.dispose(); // a's buffer goes back to the pool while b's kernel still has to read it
    const c = up([10, 20, 30, 40, 50], [5], 'f32', gpu); // same size: reuses a's buffer
    expect([...(await b.data())]).toEqual([-1, -2, -3, -4, -5]);
    expect([...(await c.data())]).toEqual([10, 20, 30, 40, 50]);
    b.dispose();
    c.dispose();
  });

  it('writes sub-word ranges that do not start or end on a word', async () => {
    const s = gpu.alloc('u8', 11);
    gpu.write(s, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    gpu.write(s, new Uint8Array([101, 102, 103]), 3);
    gpu.write(s, new Uint8Array([201]), 10);
    expect([...(await gpu.read(s))]).toEqual([1, 2, 3, 101, 102, 103, 7, 8, 9, 10, 201]);
    gpu.free(s);
    const h = gpu.alloc('f16', 5);
    gpu.write(h, fromNumbers([1, 2, 3, 4, 5], 'f16') as Uint16Array);
    gpu.write(h, fromNumbers([-1, -2], 'f16') as Uint16Array, 1);
    expect([...(await gpu.read(h))]).toEqual([...fromNumbers([1, -1, -2, 4, 5], 'f16')]);
    gpu.free(h);
  });

  it('runs batches longer than one submit (200 chained kernels)', async () => {
    let x = up([0, 1, 2], [3], 'f32', gpu);
    const one = up([1, 1, 1], [3], 'f32', gpu);
    for (let i = 0; i < 200; i++) {
      const next = add(x, one);
      x.dispose();
      x = next;
    }
    expect([...(await x.data())]).toEqual([200, 201, 202]);
    x.dispose();
    one.dispose();
  });

  it('folds grids past 65535 workgroups (17M-element add, 70000-row softmax)', async () => {
    const n = 65536 * 256 + 1000;
    const a = tensor(new Float32Array(n).fill(1.5), [n], { backend: gpu });
    const b = add(a, a);
    const y = await b.data();
    expect(y[0]).toBe(3);
    expect(y[n - 1]).toBe(3);
    expect(y[65535 * 256 + 7]).toBe(3);
    a.dispose();
    b.dispose();
    const rows = 70000;
    const [sm, ref] = await both('softmax', [{ values: Float32Array.from({ length: rows * 2 }, (_, i) => (i % 7) - 3), shape: [rows, 2], dtype: 'f32' }],
      [{ shape: [rows, 2], dtype: 'f32' }], { rows, cols: 2 });
    close(sm[0]!, ref[0]!, 1e-6, 1e-5);
  });

  it('propagates NaN through max/min/argmax (lane and workgroup reductions) like cpu-ref', async () => {
    for (const [outer, reduce, inner] of [[1, 1000, 1], [4, 10, 3]] as const) {
      const values = Float32Array.from({ length: outer * reduce * inner }, (_, i) => Math.sin(i) * 10);
      values[17] = NaN;
      values[23] = NaN;
      for (const op of ['max', 'min', 'argmax', 'sum']) {
        const [g, c] = await both(op, [{ values, shape: [outer, reduce, inner], dtype: 'f32' }],
          [{ shape: [outer, inner], dtype: op === 'argmax' ? 'i32' : 'f32' }], { outer, reduce, inner });
        close(g[0]!, c[0]!, 0, op === 'sum' ? 1e-5 : 0);
      }
    }
  });

  it('copies between overlapping views of one storage like cpu-ref (x[1:] = x[:-1])', async () => {
    const out: number[][] = [];
    for (const b of [gpu, cpu]) {
      const x = up([1, 2, 3, 4, 5, 6, 7, 8], [8], 'f32', b);
      const src = narrow(x, 0, 0, 7), dst = narrow(x, 0, 1, 7); // views sharing x's storage
      runKernelInto('copy', [src], dst);
      out.push([...(await x.data())]);
      for (const t of [x, src, dst]) t.dispose();
    }
    expect(out[0]).toEqual(out[1]);
    expect(out[0]).toEqual([1, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('matches cpu-ref on a larger batched matmul with transposes and a broadcast operand', async () => {
    const batch = 3, m = 150, k = 200, n = 97;
    const A = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37));
    const B = Float32Array.from({ length: batch * n * k }, (_, i) => Math.cos(i * 0.11));
    const [g, c] = await both('matmul',
      [{ values: A, shape: [1, k, m], dtype: 'f32' }, { values: B, shape: [batch, n, k], dtype: 'f32' }],
      [{ shape: [batch, m, n], dtype: 'f32' }],
      { batch, m, n, k, transA: true, transB: true, aBatchStride: 0, bBatchStride: n * k });
    close(g[0]!, c[0]!, 1e-5 * Math.sqrt(k), 1e-4);
  });

  it('sync() resolves once queued work is done', async () => {
    const a = up([1, 2], [2], 'f32', gpu);
    const b = neg(a);
    await gpu.sync();
    expect([...(await b.data())]).toEqual([-1, -2]);
    a.dispose();
    b.dispose();
  });

  it('runs a kernel a plugin registers with its own WGSL (the README example)', async () => {
    registerKernel('scale2', 'webgpu', (b: WebGpuBackend, { inputs: [x], outputs: [y] }: KernelArgs) => {
      const n = y!.shape.reduce((p, d) => p * d, 1);
      b.dispatch({
        key: 'myplugin:scale2',
        code: () => `${header([{ name: 'x', access: 'read' }, { name: 'y', access: 'write' }])}
${ENTRY_1D}
  if (gid >= pu(0u)) { return; }
  y[pu(2u) + gid] = bitcast<u32>(2.0 * bitcast<f32>(x[pu(1u) + gid]));
}`,
        bindings: [{ buffer: b.bufferOf(x!), access: 'read' }, { buffer: b.bufferOf(y!), access: 'write' }],
        params: new Params().u32(n).u32(x!.offset).u32(y!.offset),
        workgroups: grid(Math.ceil(n / WG)),
      });
    });
    const x = up([1, 2, 3, 4, 5, 6, 7], [7], 'f32', gpu);
    const view = narrow(x, 0, 2, 4);
    const [y] = runKernel('scale2', [view], [{ shape: [4], dtype: 'f32' }], {}, gpu);
    expect([...(await y!.data())]).toEqual([6, 8, 10, 12]);
    for (const t of [x, view, y!]) t.dispose();
  });

  it('casts edge values exactly like cpu-ref (large ints, wrapping, NaN/Inf, rounding ties)', async () => {
    const big = [2147483647, -2147483648, 16777217, 16777219, -16777221, 33554435, 123456789, -987654321, 0, -1];
    const [g1, c1] = await both('cast', [{ values: big, shape: [big.length], dtype: 'i32' }], [{ shape: [big.length], dtype: 'f32' }], {});
    expect(Array.from(g1[0]!)).toEqual(Array.from(c1[0]!));
    const floats = [3e9, -3e9, 4294967296 * 3 + 5, 1e20, -1.5, 300.7, -0.5, 255.9, 2147483648, -2147483904, NaN, Infinity, -Infinity, 1e-40];
    for (const to of ['i32', 'u8', 'i8'] as const) {
      const [g, c] = await both('cast', [{ values: floats, shape: [floats.length], dtype: 'f32' }], [{ shape: [floats.length], dtype: to }], {});
      expect(Array.from(g[0]!), `f32 → ${to}`).toEqual(Array.from(c[0]!));
    }
    for (const to of ['f16', 'bf16'] as const) {
      const [g, c] = await both('cast', [{ values: floats, shape: [floats.length], dtype: 'f32' }], [{ shape: [floats.length], dtype: to }], {});
      expect(Array.from(g[0]!), `f32 → ${to}`).toEqual(Array.from(c[0]!));
    }
  });

  it('submits pending work on its own and can be destroyed', async () => {
    const own = await createWebGpuBackend();
    const s = own.alloc('f32', 4);
    own.write(s, new Float32Array([1, 2, 3, 4]));
    expect(Array.from(await own.read(s))).toEqual([1, 2, 3, 4]);
    own.destroy();
    own.free(s); // core may still release storages afterwards
    expect(() => own.alloc('f32', 1)).toThrow(/destroyed/);
    expect(own.memory().liveBuffers).toBe(0);
  });
});
