import {
  attentionPathStats, backendByName, backward, dispose, maskValue, memory, mul, noGrad, resetAttentionPathStats,
  scaledDotProductAttention, setBackend, sum, tensor, tidy, transpose, type Tensor,
} from '@adapterkit/core';
import { median } from './python.js';
import { saveResults, type BenchRow } from './results.js';

/** Options of `benchAttentionWebGpu`. */
export interface AttentionWebGpuBenchOptions {
  /** Interleaved rounds of (fused, composed) timings per shape and mode; default 5. */
  rounds?: number;
  /** Attention calls queued per timing (one readback at the end); default 4. */
  perTiming?: number;
  /** Also time 'cpu-ref' (fused vs composed, 3 interleaved rounds); default true. */
  cpuRef?: boolean;
}

interface Shape {
  name: string;
  b: number;
  h: number;
  l: number;
  d: number;
}

/** BERT-base-like (12 heads of 32, as MiniLM; BERT-base has 12 of 64) and a small single-sequence one. */
const SHAPES: Shape[] = [
  { name: 'BERT-ish B=8, H=12, L=128, D=32', b: 8, h: 12, l: 128, d: 32 },
  { name: 'small B=1, H=12, L=32, D=32', b: 1, h: 12, l: 32, d: 32 },
];

type Path = 'fused' | 'composed';
type Mode = 'forward' | 'forward+backward';

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((((i + seed) * 2654435761) % 1000) / 1000 - 0.5) * 2);
}

interface Inputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  mask: Tensor;
  r: Tensor;
}

/**
 * q, k, v [B, H, L, D] as BERT makes them: permuted views of [B, L, H, D]
 * projections (so both paths pay the same copy to contiguous heads), the
 * additive padding mask [B, 1, 1, L] (the last eighth of every sequence is
 * padding) and a fixed upstream weight r for the backward.
 */
function makeInputs(s: Shape, backend: string, grad: boolean): Inputs {
  const { b, h, l, d } = s;
  const heads = (seed: number): Tensor => tensor(values(b * l * h * d, seed), [b, l, h, d], { backend, requiresGrad: grad });
  const maskData = new Float32Array(b * l);
  for (let i = 0; i < b; i++) for (let j = Math.floor((7 * l) / 8); j < l; j++) maskData[i * l + j] = maskValue('f32');
  return {
    q: heads(1), k: heads(2), v: heads(3),
    mask: tensor(maskData, [b, 1, 1, l], { backend }),
    r: tensor(values(b * h * l * d, 4), [b, h, l, d], { backend }),
  };
}

const toHeads = (x: Tensor): Tensor => transpose(x, 1, 2);

/** One attention call on `path`; returns what to read back to finish the work. */
function step(inp: Inputs, path: Path, mode: Mode): Tensor[] {
  if (mode === 'forward') {
    return [noGrad(() => tidy(() => scaledDotProductAttention(toHeads(inp.q), toHeads(inp.k), toHeads(inp.v), { mask: inp.mask, path })))];
  }
  tidy(() => {
    const out = scaledDotProductAttention(toHeads(inp.q), toHeads(inp.k), toHeads(inp.v), { mask: inp.mask, path });
    backward(sum(mul(out, inp.r)));
  });
  const grads = [inp.q.grad!, inp.k.grad!, inp.v.grad!];
  inp.q.grad = inp.k.grad = inp.v.grad = null;
  return grads;
}

/** ms per call: `n` calls queued, then the last one's results read back. */
async function timeCalls(inp: Inputs, path: Path, mode: Mode, n: number): Promise<number> {
  const t0 = performance.now();
  let last: Tensor[] = [];
  for (let i = 0; i < n; i++) {
    dispose(last);
    last = step(inp, path, mode);
  }
  for (const t of last) await t.data();
  dispose(last);
  return (performance.now() - t0) / n;
}

/** max |fused − composed| of the output (forward) or of dq, dk, dv (forward+backward). */
async function agreement(inp: Inputs, mode: Mode): Promise<number> {
  const f = step(inp, 'fused', mode);
  const c = step(inp, 'composed', mode);
  let worst = 0;
  for (let i = 0; i < f.length; i++) {
    const [a, b] = [await f[i]!.data(), await c[i]!.data()];
    for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j]! - b[j]!));
  }
  dispose([f, c]);
  return worst;
}

async function loadWebGpu(): Promise<string | null> {
  try {
    const { registerWebGpuBackend } = await import('@adapterkit/backend-webgpu');
    const backend = await registerWebGpuBackend();
    const info = backend.adapter?.info;
    return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' | ') : 'unknown';
  } catch (e) {
    console.log(`webgpu unavailable: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

/**
 * scaledDotProductAttention on 'webgpu': the fused 'attention' kernel against
 * the composed ops (matmul, softmax, add, matmul), forward under noGrad and
 * forward + backward, interleaved in one process; 'cpu-ref' the same way
 * (one timing each) for scale.
 */
export async function benchAttentionWebGpu(opts: AttentionWebGpuBenchOptions = {}): Promise<void> {
  const rounds = opts.rounds ?? 5, perTiming = opts.perTiming ?? 4;
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const adapter = await loadWebGpu();
  const backends = [...(adapter ? ['webgpu'] : []), ...(opts.cpuRef ?? true ? ['cpu-ref'] : [])];

  for (const backend of backends) {
    setBackend(backend);
    const gpu = backend === 'webgpu';
    for (const s of SHAPES) {
      for (const mode of ['forward', 'forward+backward'] as Mode[]) {
        const inp = makeInputs(s, backend, mode !== 'forward');
        const before = memory(backend).liveBuffers;
        const maxDiff = await agreement(inp, mode);
        resetAttentionPathStats();
        const ms: Record<Path, number[]> = { fused: [], composed: [] };
        // cpu-ref: 3 rounds; the small shape takes milliseconds, so 10 calls per timing there.
        const reps = gpu ? perTiming : s.l <= 32 ? 10 : 1;
        // warm-up: pipelines, buffer pool
        for (const path of ['fused', 'composed'] as Path[]) await timeCalls(inp, path, mode, 1);
        for (let r = 0; r < (gpu ? rounds : 3); r++) {
          for (const path of ['fused', 'composed'] as Path[]) ms[path].push(await timeCalls(inp, path, mode, reps));
        }
        const stats = attentionPathStats();
        if (stats.composedReasons["path 'composed' requested"] !== stats.composed || stats.fused !== stats.composed) {
          throw new Error(`unexpected attention paths: ${JSON.stringify(stats)}`);
        }
        await backendByName(backend).sync?.();
        const leaked = memory(backend).liveBuffers - before;
        dispose(inp);
        if (leaked !== 0) notes.push(`${backend} ${s.name} ${mode}: ${leaked} buffers still live after the timings`);
        const fused = median(ms.fused), composed = median(ms.composed);
        rows.push({
          name: `${s.name}, ${mode}`,
          backend,
          'fused ms': fused,
          'composed ms': composed,
          'composed ÷ fused': composed / fused,
          'max |fused − composed|': maxDiff.toExponential(1),
        });
        console.log(`${backend} ${s.name} ${mode}: fused ${fused.toFixed(2)} ms, composed ${composed.toFixed(2)} ms, ratio ${(composed / fused).toFixed(2)}`);
      }
    }
  }

  notes.push(
    `GPU adapter: ${adapter ?? 'none (webgpu rows skipped)'}. On this development machine that is lavapipe (Mesa's software Vulkan) on 2 shared CPU cores: the webgpu ratios compare the two paths' shaders on the same adapter, not what a real GPU does.`,
    'Inputs as BERT makes them: q, k, v are [B, H, L, D] permuted views of [B, L, H, D] tensors, additive padding mask [B, 1, 1, L] (the last eighth of each sequence masked). scale 1/√D, no dropout.',
    `forward: under noGrad (the fused kernel then writes no P). forward+backward: q, k, v require grad; backward of Σ out·r (r fixed), gradients read back. Both include the copy of the permuted q, k, v to contiguous heads.`,
    `webgpu: ${rounds} interleaved rounds (fused, composed); each timing queues ${perTiming} calls and reads the last results back; median; one untimed warm-up per path. cpu-ref: 3 interleaved rounds of one call (BERT-ish) or 10 calls (small) per path, median, after one warm-up call.`,
    "'max |fused − composed|': of the output (forward) or of dq, dk, dv (forward+backward), f32.",
  );
  saveResults('attention-webgpu', 'scaledDotProductAttention: fused kernel vs composed ops (WebGPU in Node, and cpu-ref)', rows, notes);
}
