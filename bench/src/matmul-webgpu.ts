/// <reference types="@webgpu/types" />
import { backendByName, matmul, setBackend, tensor, transpose, type Tensor } from '@adapterkit/core';
import { median } from './python.js';
import { saveResults, type BenchRow } from './results.js';

/** Options of `benchMatmulWebGpu`. */
export interface MatmulWebGpuBenchOptions {
  /** Square size (default 1024). */
  n?: number;
  /** Interleaved rounds of (webgpu, tfjs-webgpu) timings; default 5. */
  rounds?: number;
  /** Matmuls queued per GPU timing (one readback at the end); default 2. */
  perTiming?: number;
}

type Outcome = { ms: number[] } | { skip: string };

/** A matmul shape the models run: [batch ×] op(A) (m×k) · op(B) (k×n). */
interface Shape {
  label: string;
  batch: number;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

/**
 * MiniLM-sized (hidden 384, FFN 1536, 12 heads of 32, 128 tokens): the linear
 * layers (x·Wᵀ), the FFN up-projection as a plain product, the two attention
 * products, and a weight gradient (Xᵀ·dY).
 */
const MODEL_SHAPES: Shape[] = [
  { label: 'x·Wᵀ [128×384]·[384×384]ᵀ', batch: 1, m: 128, k: 384, n: 384, transA: false, transB: true },
  { label: '[128×384]·[384×1536]', batch: 1, m: 128, k: 384, n: 1536, transA: false, transB: false },
  { label: 'x·Wᵀ [128×1536]·[1536×384]ᵀ', batch: 1, m: 128, k: 1536, n: 384, transA: false, transB: true },
  { label: 'attention Q·Kᵀ [12×128×32]·[12×32×128]', batch: 12, m: 128, k: 32, n: 128, transA: false, transB: false },
  { label: 'attention P·V [12×128×128]·[12×128×32]', batch: 12, m: 128, k: 128, n: 32, transA: false, transB: false },
  { label: 'weight grad Xᵀ·dY [384×128]ᵀ·[128×384]', batch: 1, m: 384, k: 128, n: 384, transA: true, transB: false },
];

/** Stored (untransposed) shapes of a shape's operands: A is [k, m] when transA, B is [n, k] when transB. */
function operandShapes(s: Shape): [number[], number[]] {
  return [s.transA ? [s.batch, s.k, s.m] : [s.batch, s.m, s.k], s.transB ? [s.batch, s.n, s.k] : [s.batch, s.k, s.n]];
}

function values(size: number, seed: number): Float32Array {
  return Float32Array.from({ length: size }, (_, i) => (((i + seed) * 2654435761) % 1000) / 1000 - 0.5);
}

/**
 * Loads Dawn (the `webgpu` package), installs its WebGPU globals and exposes
 * its GPU object as `navigator.gpu`, so our backend (src/device.ts looks at
 * navigator.gpu first) and tfjs-backend-webgpu request adapters from the same
 * Dawn instance. Node 20 has no `navigator`; newer Nodes have one without `gpu`.
 */
async function installDawnNavigator(): Promise<GPU | string> {
  let mod: { create(flags: string[]): GPU; globals: Record<string, unknown> };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    return `the 'webgpu' package (Dawn) does not load: ${(e as Error).message.split('\n')[0]}`;
  }
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  const nav = (globalThis as unknown as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `Node.js ${process.version}` }, configurable: true, writable: true });
  // Dawn tears its instance down when this object is collected (see backend-webgpu's device.ts): keep it.
  (globalThis as { __benchDawnGpu?: GPU }).__benchDawnGpu = gpu;
  return gpu;
}

/** ms per matmul on our 'webgpu' backend: `perTiming` products queued, then one readback. */
async function timeOurs(product: () => Tensor, perTiming: number): Promise<number> {
  const t0 = performance.now();
  let c: Tensor | null = null;
  for (let i = 0; i < perTiming; i++) {
    c?.dispose();
    c = product();
  }
  await c!.data();
  c!.dispose();
  return (performance.now() - t0) / perTiming;
}

type Tf = typeof import('@tensorflow/tfjs-core');

/** tfjs-backend-webgpu on the same Dawn instance, or why it cannot run. */
async function loadTfjs(): Promise<{ tf: Tf; adapter: string } | string> {
  try {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) return 'tf.setBackend("webgpu") returned false (no adapter through navigator.gpu)';
    await tf.ready();
    const backend = tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } };
    return { tf, adapter: backend.adapterInfo ? `${backend.adapterInfo.vendor ?? ''} ${backend.adapterInfo.architecture ?? ''}`.trim() : 'unknown' };
  } catch (e) {
    return `tfjs-backend-webgpu could not start: ${(e as Error).message.split('\n')[0]}`;
  }
}

type TfTensor = import('@tensorflow/tfjs-core').Tensor;

async function timeTfjs(product: () => TfTensor, perTiming: number): Promise<number> {
  const t0 = performance.now();
  let c: TfTensor | null = null;
  for (let i = 0; i < perTiming; i++) {
    c?.dispose();
    c = product();
  }
  await c!.data();
  c!.dispose();
  return (performance.now() - t0) / perTiming;
}

function timeSync(fn: () => void, reps: number, warmup: number): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Interleaved (ours, tfjs) timings of one product; either side may be missing. */
async function interleave(
  ours: (() => Tensor) | null, tfjs: (() => TfTensor) | null, rounds: number, perTiming: number,
): Promise<{ ours: number[]; tfjs: number[] }> {
  if (ours) await timeOurs(ours, 1); // pipeline compile, buffer pool
  if (tfjs) await timeTfjs(tfjs, 1); // shader compile
  const out = { ours: [] as number[], tfjs: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    if (ours) out.ours.push(await timeOurs(ours, perTiming));
    if (tfjs) out.tfjs.push(await timeTfjs(tfjs, perTiming));
  }
  return out;
}

/**
 * f32 matmul GFLOP/s at n³ on the WebGPU backend (Node, Dawn), beside 'cpu'
 * and 'cpu-ref' and beside @tensorflow/tfjs-backend-webgpu on the same Dawn
 * adapter, all in one process; then the model shapes (MODEL_SHAPES), ours
 * against tfjs-webgpu, interleaved the same way.
 */
export async function benchMatmulWebGpu(opts: MatmulWebGpuBenchOptions = {}): Promise<void> {
  const n = opts.n ?? 1024, rounds = opts.rounds ?? 5, perTiming = opts.perTiming ?? 2;
  const flops = 2 * n ** 3;
  const ha = values(n * n, 1), hb = values(n * n, 7);
  const results = new Map<string, Outcome>();
  const notes: string[] = [];
  let adapterName = 'none';
  let design = '';
  const shapeRows: BenchRow[] = [];

  // CPU columns first (synchronous, the GPU idle).
  const { registerFastCpuBackend } = await import('@adapterkit/backend-cpu');
  const reg = registerFastCpuBackend();
  for (const [backend, reps, warmup] of [['cpu', 5, 2], ['cpu-ref', 2, 0]] as const) {
    if (backend === 'cpu' && !reg.available) {
      results.set('cpu', { skip: `skipped: ${reg.reason}` });
      continue;
    }
    setBackend(backend);
    const a = tensor(ha, [n, n], { backend }), b = tensor(hb, [n, n], { backend });
    results.set(backend, { ms: timeSync(() => matmul(a, b).dispose(), reps, warmup) });
    a.dispose();
    b.dispose();
  }

  const gpu = await installDawnNavigator();
  if (typeof gpu === 'string') {
    results.set('webgpu', { skip: `skipped: ${gpu}` });
    results.set('tfjs-webgpu', { skip: `skipped: ${gpu}` });
  } else {
    let oursErr: string | null = null;
    try {
      const { registerWebGpuBackend, matmulDesign } = await import('@adapterkit/backend-webgpu');
      const backend = await registerWebGpuBackend();
      const info = backend.adapter?.info;
      adapterName = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' | ') : 'unknown';
      design = matmulDesign(backend);
    } catch (e) {
      oursErr = `our WebGPU backend did not start: ${(e as Error).message.split('\n')[0]}`;
    }
    const tfjs = await loadTfjs();
    const tf = typeof tfjs === 'string' ? null : tfjs.tf;

    const a = oursErr ? null : tensor(ha, [n, n], { backend: 'webgpu' }), b = oursErr ? null : tensor(hb, [n, n], { backend: 'webgpu' });
    const ta = tf?.tensor2d(ha, [n, n]), tb = tf?.tensor2d(hb, [n, n]);
    const t = await interleave(a && b ? () => matmul(a, b) : null, ta && tb ? () => tf!.matMul(ta, tb) : null, rounds, perTiming);
    results.set('webgpu', oursErr ? { skip: `skipped: ${oursErr}` } : { ms: t.ours });
    results.set('tfjs-webgpu', typeof tfjs === 'string' ? { skip: `skipped: ${tfjs}` } : { ms: t.tfjs });
    for (const x of [a, b, ta, tb]) x?.dispose();

    for (const s of MODEL_SHAPES) {
      const [aShape, bShape] = operandShapes(s);
      const sa = values(s.batch * s.m * s.k, 3), sb = values(s.batch * s.k * s.n, 5);
      const fl = 2 * s.batch * s.m * s.n * s.k;
      // Enough products per timing that one readback does not dominate (≥ ~0.1 GFLOP).
      const per = Math.max(2, Math.min(32, Math.ceil(1e8 / fl)));
      const oa = oursErr ? null : tensor(sa, aShape, { backend: 'webgpu' }), ob = oursErr ? null : tensor(sb, bShape, { backend: 'webgpu' });
      const fa = tf?.tensor3d(sa, aShape as [number, number, number]), fb = tf?.tensor3d(sb, bShape as [number, number, number]);
      const ours = oa && ob ? () => {
        const x = s.transA ? transpose(oa) : oa, y = s.transB ? transpose(ob) : ob;
        const c = matmul(x, y);
        if (x !== oa) x.dispose();
        if (y !== ob) y.dispose();
        return c;
      } : null;
      const st = await interleave(ours, fa && fb ? () => tf!.matMul(fa, fb, s.transA, s.transB) : null, rounds, per);
      for (const x of [oa, ob, fa, fb]) x?.dispose();
      const tfMed = st.tfjs.length ? median(st.tfjs) : undefined;
      for (const [label, ms] of [["adapterkit 'webgpu' (Dawn)", st.ours], ['@tensorflow/tfjs-backend-webgpu 4.22.0 (Dawn)', st.tfjs]] as const) {
        if (!ms.length) continue;
        const med = median(ms);
        shapeRows.push({ name: s.label, backend: label, 'ms (median)': med, 'GFLOP/s': fl / med / 1e6, '÷ tfjs-webgpu': tfMed === undefined ? '' : tfMed / med });
      }
    }
    if (!oursErr) await backendByName('webgpu').sync?.();
  }

  const gflops = (k: string): number | undefined => {
    const r = results.get(k);
    return r && 'ms' in r ? flops / median(r.ms) / 1e6 : undefined;
  };
  const labels: Record<string, string> = {
    webgpu: "adapterkit 'webgpu' (Dawn)",
    'tfjs-webgpu': '@tensorflow/tfjs-backend-webgpu 4.22.0 (Dawn)',
    cpu: "adapterkit 'cpu' (native, 2 threads)",
    'cpu-ref': "adapterkit 'cpu-ref' (TypeScript, 1 thread)",
  };
  const rows: BenchRow[] = [];
  for (const key of ['webgpu', 'tfjs-webgpu', 'cpu', 'cpu-ref']) {
    const r = results.get(key)!;
    const g = gflops(key);
    if (!r || !('ms' in r) || g === undefined) {
      rows.push({ name: `matmul f32 ${n}³`, backend: labels[key]!, 'GFLOP/s': r && 'skip' in r ? r.skip : 'skipped' });
      continue;
    }
    const row: BenchRow = { name: `matmul f32 ${n}³`, backend: labels[key]!, 'ms (median)': median(r.ms), 'GFLOP/s': g };
    for (const ref of ['tfjs-webgpu', 'cpu', 'cpu-ref']) {
      const rg = gflops(ref);
      row[`÷ ${ref}`] = rg === undefined ? '' : g / rg;
    }
    rows.push(row);
  }
  rows.push(...shapeRows);
  notes.push(
    `GPU adapter: ${adapterName}; our matmul design on it: ${design || 'n/a'} (packages/backend-webgpu/src/kernels/matmul.ts: 'registers' on CPU adapters, 'tiled' on GPUs). This machine has no GPU: lavapipe (Mesa's llvmpipe Vulkan driver) runs the compute shaders on the 2 CPU cores, so the WebGPU numbers say nothing about a real GPU — they compare the two WebGPU implementations' shaders on the same software adapter, and the CPU columns show what the same cores do natively.`,
    `WebGPU rows: ${rounds} interleaved rounds (ours, tfjs) per shape; at ${n}³ each timing queues ${perTiming} matmuls and reads the last result back (4 MiB), divided by ${perTiming}; the model shapes queue enough products per timing for ~0.1 GFLOP (2–32); median; one untimed warm-up (pipeline compile) each. Inputs uploaded once. ÷ tfjs-webgpu is GFLOP/s over tfjs's GFLOP/s for the same shape in the same run.`,
    "Model shapes (rows after the 4 at n³): MiniLM-sized (hidden 384, FFN 1536, 12 heads of 32, 128 tokens). ᵀ marks an operand passed transposed (a transposed view for ours, transposeA/B for tfjs); no copy on either side.",
    "'cpu': median of 5 after 2 warm-ups; 'cpu-ref': median of 2 (core's matmul op, same process).",
    'tfjs-backend-webgpu runs in Node with navigator.gpu set to the `webgpu` package\'s create([]) object and its globals installed.',
  );
  saveResults('matmul-webgpu', `WebGPU backend: f32 matmul ${n}³ and model shapes (Node, Dawn)`, rows, notes);
}
