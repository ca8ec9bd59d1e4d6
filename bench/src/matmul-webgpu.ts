/// <reference types="@webgpu/types" />
import { backendByName, matmul, setBackend, tensor, type Tensor } from '@adapterkit/core';
import { median } from './python.js';
import { saveResults, type BenchRow } from './results.js';

/** Options of `benchMatmulWebGpu`. */
export interface MatmulWebGpuBenchOptions {
  /** Square size (default 1024). */
  n?: number;
  /** Interleaved rounds of (webgpu, tfjs-webgpu) timings; default 3. */
  rounds?: number;
  /** Matmuls queued per GPU timing (one readback at the end); default 2. */
  perTiming?: number;
}

type Outcome = { ms: number[] } | { skip: string };

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
async function timeOurs(a: Tensor, b: Tensor, perTiming: number): Promise<number> {
  const t0 = performance.now();
  let c: Tensor | null = null;
  for (let i = 0; i < perTiming; i++) {
    c?.dispose();
    c = matmul(a, b);
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

async function timeTfjs(tf: Tf, a: import('@tensorflow/tfjs-core').Tensor, b: import('@tensorflow/tfjs-core').Tensor, perTiming: number): Promise<number> {
  const t0 = performance.now();
  let c: import('@tensorflow/tfjs-core').Tensor | null = null;
  for (let i = 0; i < perTiming; i++) {
    c?.dispose();
    c = tf.matMul(a, b);
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

/**
 * f32 matmul GFLOP/s at n³ on the WebGPU backend (Node, Dawn), beside 'cpu'
 * and 'cpu-ref' and beside @tensorflow/tfjs-backend-webgpu on the same Dawn
 * adapter, all in one process.
 */
export async function benchMatmulWebGpu(opts: MatmulWebGpuBenchOptions = {}): Promise<void> {
  const n = opts.n ?? 1024, rounds = opts.rounds ?? 3, perTiming = opts.perTiming ?? 2;
  const flops = 2 * n ** 3;
  const ha = values(n * n, 1), hb = values(n * n, 7);
  const results = new Map<string, Outcome>();
  const notes: string[] = [];
  let adapterName = 'none';

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
    let ours: { a: Tensor; b: Tensor } | string;
    try {
      const { registerWebGpuBackend } = await import('@adapterkit/backend-webgpu');
      const backend = await registerWebGpuBackend();
      const info = backend.adapter?.info;
      adapterName = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' | ') : 'unknown';
      ours = { a: tensor(ha, [n, n], { backend: 'webgpu' }), b: tensor(hb, [n, n], { backend: 'webgpu' }) };
      await timeOurs(ours.a, ours.b, 1); // pipeline compile, buffer pool
    } catch (e) {
      ours = `our WebGPU backend did not start: ${(e as Error).message.split('\n')[0]}`;
    }
    const tfjs = await loadTfjs();
    let tfT: { a: import('@tensorflow/tfjs-core').Tensor; b: import('@tensorflow/tfjs-core').Tensor } | undefined;
    if (typeof tfjs !== 'string') {
      tfT = { a: tfjs.tf.tensor2d(ha, [n, n]), b: tfjs.tf.tensor2d(hb, [n, n]) };
      await timeTfjs(tfjs.tf, tfT.a, tfT.b, 1); // shader compile
    }
    const oursMs: number[] = [], tfMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (typeof ours !== 'string') oursMs.push(await timeOurs(ours.a, ours.b, perTiming));
      if (tfT && typeof tfjs !== 'string') tfMs.push(await timeTfjs(tfjs.tf, tfT.a, tfT.b, perTiming));
    }
    results.set('webgpu', typeof ours === 'string' ? { skip: `skipped: ${ours}` } : { ms: oursMs });
    results.set('tfjs-webgpu', typeof tfjs === 'string' ? { skip: `skipped: ${tfjs}` } : { ms: tfMs });
    if (typeof ours !== 'string') {
      ours.a.dispose();
      ours.b.dispose();
      await backendByName('webgpu').sync?.();
    }
    tfT?.a.dispose();
    tfT?.b.dispose();
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
  notes.push(
    `GPU adapter: ${adapterName}. This machine has no GPU: lavapipe (Mesa's llvmpipe Vulkan driver) runs the compute shaders on the 2 CPU cores, so the WebGPU numbers say nothing about a real GPU — they compare the two WebGPU implementations' shaders on the same software adapter, and the CPU columns show what the same cores do natively.`,
    `WebGPU columns: ${rounds} interleaved rounds (ours, tfjs); each timing queues ${perTiming} matmuls and reads the last result back (4 MiB), divided by ${perTiming}; median; one untimed warm-up (pipeline compile) each. Inputs uploaded once.`,
    "'cpu': median of 5 after 2 warm-ups; 'cpu-ref': median of 2 (core's matmul op, same process).",
    'tfjs-backend-webgpu runs in Node with navigator.gpu set to the `webgpu` package\'s create([]) object and its globals installed.',
  );
  saveResults('matmul-webgpu', `WebGPU backend: f32 matmul ${n}³ (Node, Dawn)`, rows, notes);
}
