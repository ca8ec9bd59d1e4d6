/**
 * Runs the exported conformance suite against a second instance of the CPU
 * reference backend registered under another name ('cpu-ref-2'), the way a
 * backend package would run it against its own backend, and checks that the
 * suite's comparison helpers really fail on a broken backend.
 */
import { describe, expect, it } from 'vitest';
import {
  CpuBackend, getKernel, kernelsFor, memory, registerBackend, registerCpuBackend, registerKernel,
  type Backend, type KernelImpl, type View,
} from '../src/index.js';
import {
  checkCase, compareArrays, conformanceCaseCount, describeConformance, dtypeCases, kernelCases, missingKernels, type KernelCase,
} from '../src/conformance/index.js';

/** A CPU backend instance whose `name` (used for kernel lookup) is `name`. */
function cpuBackendNamed(name: string): Backend {
  const b: Backend = new CpuBackend();
  // CpuBackend's name is fixed to 'cpu-ref'; runKernel looks kernels up by the
  // instance's name, so a second instance must carry its own.
  if (b.name !== name) Object.defineProperty(b, 'name', { value: name, enumerable: true });
  return b;
}

registerCpuBackend();

// A second backend: same kernels, copied from the 'cpu-ref' registrations by name.
registerBackend('cpu-ref-2', () => cpuBackendNamed('cpu-ref-2'));
for (const k of kernelsFor('cpu-ref')) registerKernel(k, 'cpu-ref-2', getKernel(k, 'cpu-ref'));

describeConformance({ backend: 'cpu-ref-2', dtypes: ['f32', 'f64'] });

// ---------------------------------------------------------------- the suite can fail

/** A broken copy of the cpu kernels under `name`, with some kernels replaced. */
function registerBroken(name: string, replace: Record<string, KernelImpl>): void {
  registerBackend(name, () => cpuBackendNamed(name));
  for (const k of kernelsFor('cpu-ref')) registerKernel(k, name, replace[k] ?? getKernel(k, 'cpu-ref'));
}

const realExp = getKernel('exp', 'cpu-ref');
const realNeg = getKernel('neg', 'cpu-ref');

/** exp that is right everywhere except one element, off by 0.1 %. */
registerBroken('cpu-broken-exp', {
  exp: (b, args) => {
    realExp(b, args);
    const y = args.outputs[0]!;
    const arr = y.storage.handle as Float32Array;
    if (y.storage.size > 123) arr[y.offset + 123]! *= 1.001;
  },
});

/** exp that ignores the input's strides (reads it as contiguous from its offset). */
registerBroken('cpu-broken-strides', {
  exp: (_b, args) => {
    const x: View = args.inputs[0]!;
    const y: View = args.outputs[0]!;
    const xs = x.storage.handle as Float32Array;
    const ys = y.storage.handle as Float32Array;
    const n = y.shape.reduce((p, d) => p * d, 1);
    for (let i = 0; i < n; i++) ys[y.offset + i] = Math.exp(xs[x.offset + i]!);
  },
});

/** neg that leaks a scratch buffer on every call. */
registerBroken('cpu-broken-leak', {
  neg: (b, args) => {
    b.alloc('f32', 16);
    realNeg(b, args);
  },
});

/** A backend with two kernels missing. */
registerBackend('cpu-incomplete', () => cpuBackendNamed('cpu-incomplete'));
for (const k of kernelsFor('cpu-ref')) if (k !== 'erf' && k !== 'scatterAdd') registerKernel(k, 'cpu-incomplete', getKernel(k, 'cpu-ref'));

/** A backend that stores neither f16 nor bf16 (f16/bf16 cases must be skipped, not failed). */
registerBackend('cpu-no-half', () => {
  const b = cpuBackendNamed('cpu-no-half');
  const supports = b.supportsDType.bind(b);
  b.supportsDType = (d) => d !== 'f16' && d !== 'bf16' && supports(d);
  return b;
});
for (const k of kernelsFor('cpu-ref')) registerKernel(k, 'cpu-no-half', getKernel(k, 'cpu-ref'));

/** A backend without the optional 'attention' kernel (its cases must be skipped, not failed). */
registerBackend('cpu-no-attention', () => cpuBackendNamed('cpu-no-attention'));
for (const k of kernelsFor('cpu-ref')) if (k !== 'attention') registerKernel(k, 'cpu-no-attention', getKernel(k, 'cpu-ref'));

/** attention that ignores the mask's head stride (reads the mask as if it had one head). */
const realAttention = getKernel('attention', 'cpu-ref');
registerBroken('cpu-broken-attention', {
  attention: (b, args) => {
    const [q, k, v, m] = args.inputs as [View, View, View, View | undefined];
    const badMask: View | undefined = m && { ...m, strides: [m.strides[0]!, 0, m.strides[2]!, m.strides[3]!] };
    realAttention(b, { ...args, inputs: [q, k, v, ...(badMask ? [badMask] : [])] });
  },
});

function findCase(kernel: string, namePrefix: string): KernelCase {
  const c = kernelCases('f32').get(kernel)?.find((x) => x.name.startsWith(namePrefix));
  if (!c) throw new Error(`no ${kernel} case starting with '${namePrefix}'`);
  return c;
}

describe('conformance suite: failure detection', () => {
  it('defines a substantial number of cases', () => {
    expect(conformanceCaseCount(['f32'])).toBeGreaterThan(400);
  });

  it('compareArrays reports max |Δ|, its index and coordinates', () => {
    const expected = Float32Array.from({ length: 12 }, (_, i) => i);
    const actual = Float32Array.from(expected);
    actual[7] = 7.5;
    actual[2] = 2.00001;
    const r = compareArrays(actual, expected, { atol: 1e-3, rtol: 0 }, { label: 'demo', shape: [3, 4] });
    expect(r.ok).toBe(false);
    expect(r.badCount).toBe(1);
    expect(r.maxAbsDiffIndex).toBe(7);
    expect(r.maxAbsDiff).toBeCloseTo(0.5);
    expect(r.message).toContain('index 7 [1, 3]');
    expect(r.message).toContain('demo');
    expect(compareArrays(actual, expected, { atol: 0.6, rtol: 0 }).ok).toBe(true);
  });

  it('compareArrays matches NaN only with NaN and infinities only with themselves', () => {
    expect(compareArrays([NaN, Infinity, -Infinity], [NaN, Infinity, -Infinity], { atol: 0, rtol: 0 }).ok).toBe(true);
    expect(compareArrays([NaN], [1], { atol: 1e9, rtol: 1e9 }).ok).toBe(false);
    expect(compareArrays([1], [NaN], { atol: 1e9, rtol: 1e9 }).ok).toBe(false);
    expect(compareArrays([Infinity], [1e30], { atol: 1e9, rtol: 1e9 }).ok).toBe(false);
    expect(compareArrays([1, 2], [1], { atol: 1, rtol: 1 }).ok).toBe(false);
  });

  it('passes the reference against itself', async () => {
    const report = await checkCase(findCase('exp', 'contiguous ['), { backend: 'cpu-ref-2' });
    expect(report.ok, report.message).toBe(true);
  });

  it('reports a single wrong exp element with its index and max |Δ|', async () => {
    const c = findCase('exp', 'contiguous [');
    const report = await checkCase(c, { backend: 'cpu-broken-exp' });
    expect(report.ok).toBe(false);
    expect(report.outputs[0]!.badCount).toBe(1);
    expect(report.outputs[0]!.maxAbsDiffIndex).toBe(123);
    expect(report.message).toMatch(/max \|Δ\| = \S+ at index 123 \[6, 9\]/);
    expect(report.message).toContain('exp [f32]');
  });

  it('catches a kernel that ignores strides and offsets (but not on contiguous input)', async () => {
    expect((await checkCase(findCase('exp', 'contiguous ['), { backend: 'cpu-broken-strides' })).ok).toBe(true);
    const transposed = await checkCase(findCase('exp', 'transposed view'), { backend: 'cpu-broken-strides' });
    expect(transposed.ok).toBe(false);
    const sliced = await checkCase(findCase('exp', 'sliced view'), { backend: 'cpu-broken-strides' });
    expect(sliced.ok).toBe(false);
    // the poisoned storage around the slice turns into NaN in the output
    expect(sliced.outputs[0]!.maxAbsDiff).toBe(Infinity);
  });

  it('a per-kernel tolerance override can accept the small error', async () => {
    const report = await checkCase(findCase('exp', 'contiguous ['), { backend: 'cpu-broken-exp', tolerances: { 'exp:f32': { atol: 0, rtol: 2e-3 } } });
    expect(report.ok, report.message).toBe(true);
  });

  it('reports buffers a kernel leaks', async () => {
    const before = memory('cpu-broken-leak').liveBuffers;
    const report = await checkCase(findCase('neg', 'contiguous ['), { backend: 'cpu-broken-leak' });
    expect(report.ok).toBe(false);
    expect(report.leakedBuffers).toEqual({ backend: 1, reference: 0 });
    expect(report.message).toContain("1 buffer(s) still live on 'cpu-broken-leak'");
    expect(memory('cpu-broken-leak').liveBuffers).toBe(before + 1);
  });

  it('skips f16/bf16 cases on a backend that does not store them', async () => {
    const cases = [...dtypeCases().values()].flat();
    const half = cases.filter((c) => c.id.includes('f16'));
    expect(half.length).toBeGreaterThan(5);
    for (const c of half) {
      const report = await checkCase(c, { backend: 'cpu-no-half' });
      expect(report.skipped, c.id).toMatch(/does not support (f16|bf16)/);
    }
    const i32 = cases.find((c) => c.kernel === 'cast' && c.id.includes('i32 → u8'))!;
    expect((await checkCase(i32, { backend: 'cpu-no-half' })).ok).toBe(true);
  });

  it('skips the optional attention cases on a backend without the kernel, and catches a wrong one', async () => {
    const cases = kernelCases('f32').get('attention')!;
    expect(cases.length).toBeGreaterThan(8);
    for (const c of cases) {
      const report = await checkCase(c, { backend: 'cpu-no-attention' });
      expect(report.skipped, c.id).toBe("backend 'cpu-no-attention' does not register the optional kernel 'attention'");
    }
    const full = findCase('attention', 'full mask');
    expect((await checkCase(full, { backend: 'cpu-ref-2' })).ok).toBe(true);
    const bad = await checkCase(full, { backend: 'cpu-broken-attention' });
    expect(bad.ok).toBe(false);
    expect(bad.message).toContain('output 0 (out)');
  });

  it('lists missing kernels', () => {
    expect(missingKernels('cpu-incomplete')).toEqual(['erf', 'scatterAdd']);
    expect(missingKernels('cpu-ref-2')).toEqual([]);
  });
});
