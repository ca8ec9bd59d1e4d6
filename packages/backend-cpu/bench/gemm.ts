import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runKernel, tensor, type PrimitiveAttrs, type Tensor } from '@adapterkit/core';
import { loadCpuAddon, registerFastCpuBackend } from '../src/index.js';
import { registerWasmCpuBackend } from '../src/wasm/index.js';
import { resultsWriter, type BenchRow, type SaveResults } from './results-format.js';

/** One GEMM shape: C[m×n] = A[m×k]·op(B). */
export interface GemmShape {
  m: number;
  k: number;
  n: number;
  /** B given as [n, k] (how Linear stores its weight). */
  transB?: boolean;
}

export interface GemmBenchOptions {
  /** Where results go: bench/src/results.ts saveResults under `pnpm bench`; default writes bench/results/ in this package. */
  save?: SaveResults;
  /** Timed runs per shape and round for 'cpu' and PyTorch (median taken); default 5. */
  reps?: number;
  /** Rounds of (cpu, PyTorch) measurements, interleaved so both see the same machine load; the median round is reported. Default 3. */
  rounds?: number;
  /** Timed runs of 'cpu-ref' (slow: ~1 GFLOP/s); default 2. */
  refReps?: number;
  /** Python with torch for the PyTorch column; default tools/reference/.venv/bin/python of this repo; null skips it. */
  python?: string | null;
  shapes?: GemmShape[];
  /** Thread counts to measure 'cpu' and PyTorch with (default [1, all]); 1 thread is the steadier comparison on a shared machine. */
  threadCounts?: number[];
}

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = join(HERE, '..', '..', '..');
const DEFAULT_PYTHON = join(REPO_ROOT, 'tools', 'reference', '.venv', 'bin', 'python');

/** The sizes of the issue: 256³, 1024³ and a BERT-FFN-like 4096×384×1536 (m×k×n), plain and as a Linear (B transposed). */
export const GEMM_SHAPES: GemmShape[] = [
  { m: 256, k: 256, n: 256 },
  { m: 1024, k: 1024, n: 1024 },
  { m: 4096, k: 384, n: 1536 },
  { m: 4096, k: 384, n: 1536, transB: true },
];

function shapeName(s: GemmShape): string {
  return `${s.m}×${s.k}×${s.n}${s.transB ? ' A·Bᵀ' : ''}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function medianMs(fn: () => void, reps: number, warmup = 1): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Times one matmul kernel call on a backend (inputs uploaded once). */
function timeBackend(backend: string, s: GemmShape, reps: number, warmup: number): number {
  const a = tensor(new Float32Array(s.m * s.k).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5), [s.m, s.k], { backend });
  const b = tensor(new Float32Array(s.k * s.n).map((_, i) => ((i * 40503) % 1000) / 1000 - 0.5), s.transB ? [s.n, s.k] : [s.k, s.n], { backend });
  const attrs: PrimitiveAttrs['matmul'] = { batch: 1, m: s.m, n: s.n, k: s.k, transA: false, transB: !!s.transB, aBatchStride: 0, bBatchStride: 0 };
  const ms = medianMs(() => {
    const [c] = runKernel('matmul', [a, b], [{ shape: [1, s.m, s.n], dtype: 'f32' }], attrs) as [Tensor];
    c.dispose();
  }, reps, warmup);
  a.dispose();
  b.dispose();
  return ms;
}

const TORCH_SCRIPT = `
import json, sys, time
import torch
shapes, reps, threads = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
out = []
for s in shapes:
    a = torch.randn(s['m'], s['k'])
    b = torch.randn(s['n'], s['k']) if s.get('transB') else torch.randn(s['k'], s['n'])
    bb = b.t() if s.get('transB') else b
    c = torch.empty(s['m'], s['n'])
    for _ in range(2):
        torch.mm(a, bb, out=c)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, bb, out=c)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    out.append(times[len(times) // 2])
print(json.dumps({'ms': out, 'version': torch.__version__, 'threads': torch.get_num_threads()}))
`;

/** PyTorch CPU timings (ms per shape), or the reason the column is skipped. */
function torchTimes(python: string | null, shapes: GemmShape[], reps: number, threads: number): { ms: number[]; version: string; threads: number } | string {
  if (python === null) return 'skipped: no Python given';
  if (!existsSync(python)) return `skipped: ${python} does not exist (create tools/reference/.venv with torch to fill this column)`;
  const res = spawnSync(python, ['-c', TORCH_SCRIPT, JSON.stringify(shapes), String(reps), String(threads)], { encoding: 'utf8', timeout: 600_000 });
  if (res.status !== 0) {
    const why = (res.stderr || res.error?.message || '').trim().split('\n').at(-1);
    return `skipped: \`${python} -c "import torch"\` failed (${why})`;
  }
  return JSON.parse(res.stdout.trim().split('\n').at(-1)!) as { ms: number[]; version: string; threads: number };
}

/**
 * f32 GEMM throughput of the 'cpu' backend vs 'cpu-ref', vs the machine's
 * peak (a register-resident FMA loop in the addon, all threads), vs PyTorch's
 * CPU GEMM in a Python subprocess with the same thread count, and of the
 * WebAssembly path. Returns the rows it saved.
 */
export async function benchGemm(opts: GemmBenchOptions = {}): Promise<BenchRow[]> {
  const save = opts.save ?? resultsWriter(join(HERE, '..', 'bench', 'results'));
  const reps = opts.reps ?? 5, rounds = opts.rounds ?? 3, refReps = opts.refReps ?? 2;
  const shapes = opts.shapes ?? GEMM_SHAPES;
  const reg = registerFastCpuBackend();
  if (!reg.available) {
    const rows = [{ name: 'all shapes', status: `skipped: 'cpu' backend unavailable: ${reg.reason}` }];
    save('gemm-cpu', "Fast CPU backend ('cpu'): f32 GEMM", rows, []);
    return rows;
  }
  const addon = loadCpuAddon().addon!;
  const { isa, threads: allThreads } = addon.info();
  const threadCounts = [...new Set(opts.threadCounts ?? [1, allThreads])];
  const python = opts.python === undefined ? DEFAULT_PYTHON : opts.python;
  const wasm = await registerWasmCpuBackend({ name: 'cpu-wasm' });
  const refMs = shapes.map((s) => timeBackend('cpu-ref', s, refReps, 0));
  const wasmMs = wasm.available ? shapes.map((s) => timeBackend('cpu-wasm', s, 3, 1)) : [];

  const rows: BenchRow[] = [];
  const peakNotes: string[] = [];
  let torchInfo: { version: string } | undefined;
  let torchSkip: string | undefined;
  for (const threads of threadCounts) {
    addon.setThreads(threads);
    const peaks: number[] = [];
    for (let i = 0; i < 5; i++) peaks.push(addon.peakFlops(0.2) / 1e9);
    const peak = Math.max(...peaks);
    peakNotes.push(`${threads} thread(s): ${peak.toFixed(1)} GFLOP/s (runs: ${peaks.map((p) => p.toFixed(0)).join(', ')})`);
    const cpuRounds: number[][] = shapes.map(() => []);
    const torchRounds: number[][] = shapes.map(() => []);
    for (let r = 0; r < rounds; r++) {
      shapes.forEach((s, i) => cpuRounds[i]!.push(timeBackend('cpu', s, reps, 2)));
      if (torchSkip) continue;
      const t = torchTimes(python, shapes, reps, threads);
      if (typeof t === 'string') {
        torchSkip = t;
        console.warn(`PyTorch column ${t}`);
        continue;
      }
      torchInfo = { version: t.version };
      t.ms.forEach((ms, i) => torchRounds[i]!.push(ms));
    }
    shapes.forEach((s, i) => {
      const flops = 2 * s.m * s.n * s.k;
      const cpuMs = median(cpuRounds[i]!);
      const cpu = flops / cpuMs / 1e6;
      const ref = flops / refMs[i]! / 1e6;
      const row: BenchRow = {
        name: `matmul f32 ${shapeName(s)}`,
        threads,
        'cpu ms': cpuMs,
        'cpu GFLOP/s': cpu,
        'cpu % of peak': (100 * cpu) / peak,
        'cpu-ref GFLOP/s': ref,
        'cpu / cpu-ref': cpu / ref,
        'wasm GFLOP/s': wasmMs.length && threads === 1 ? flops / wasmMs[i]! / 1e6 : '',
      };
      if (torchRounds[i]!.length) {
        const torch = flops / median(torchRounds[i]!) / 1e6;
        row['PyTorch GFLOP/s'] = torch;
        row['cpu / PyTorch'] = cpu / torch;
      } else {
        row['PyTorch GFLOP/s'] = 'skipped';
      }
      rows.push(row);
    });
  }
  addon.setThreads(allThreads);
  const notes = [
    `'cpu': native addon, ISA ${isa}. Shapes are m×k×n; A·Bᵀ is the Linear layout (weight [n, k]). PyTorch runs with the same thread count as the row.`,
    `Peak: the best of 5 runs of a register-resident ${isa} FMA loop on the row's threads — ${peakNotes.join('; ')}.`,
    `'cpu' and PyTorch: median of ${reps} runs per round, median of ${rounds} interleaved rounds; 'cpu-ref' (one thread, TS): median of ${refReps} runs.`,
    wasm.available
      ? "wasm: the browser path (@adapterkit/backend-cpu/wasm), WebAssembly SIMD GEMM on one thread in Node's V8, operand copies in and out included (median of 3)."
      : `wasm column empty: ${wasm.reason}`,
    torchInfo ? `PyTorch ${torchInfo.version}, torch.mm, in a subprocess (${python}).` : `PyTorch column ${torchSkip ?? 'skipped'}.`,
    'Shared machine: other processes compete for the cores, so numbers are noisy (the peak too); compare columns of one row, measured in the same rounds.',
  ];
  save('gemm-cpu', "Fast CPU backend ('cpu'): f32 GEMM", rows, notes);
  return rows;
}
