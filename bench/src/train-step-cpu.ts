import { join } from 'node:path';
import { AdamW, AutoAdapterModel, backward, manualSeed, memory, tensor, tidy, type AdapterModel, type Tensor } from '@adapterkit/core';
import '@adapterkit/method-bottleneck'; // registers seq_bn
import { byFamily, installKernelProfiler, type KernelStat } from './kernel-profile.js';
import { ADAPTERS_PYTHON, PythonWorker, REPO_ROOT, median } from './python.js';
import { saveResults, type BenchRow } from './results.js';
import { cpuThreads } from './threads.js';

/** Options of `benchTrainStep`. */
export interface TrainStepBenchOptions {
  /** Interleaved rounds of ('cpu' steps, PyTorch steps) per thread count; default 3. */
  rounds?: number;
  /** Timed steps per side and round (median over all rounds); default 1. */
  stepsPerRound?: number;
  /** Timed 'cpu-ref' steps (each takes about a minute); default 1, 0 skips the row. */
  refSteps?: number;
  batch?: number;
  seq?: number;
  /** Python with torch + adapters; default tools/reference/.venv-adapters; null skips the PyTorch column. */
  python?: string | null;
  /** Measure this thread count only (default: all threads, then 1 thread). */
  threads?: number;
}

const MODEL_DIR = join(REPO_ROOT, 'models', 'all-MiniLM-L6-v2');
/** SST-2 training split size (GLUE). */
const SST2_TRAIN = 67_349;
const LR = 1e-4;

/** ms per phase of one step. */
type Phases = [forward: number, backward: number, optimizer: number];

interface Trainer {
  trainable: number;
  step(): Phases;
  dispose(): void;
}

interface TorchInfo {
  torch: string;
  transformers: string;
  adapters: string;
  threads: number;
  attn_implementation: string;
  trainable_params: number;
}

interface TorchProfile {
  families: Record<string, number>;
  top: { op: string; ms: number; calls: number }[];
}

/** What one profiled 'cpu' step measured (installKernelProfiler). */
interface Profile {
  kernels: Map<string, KernelStat>;
  byShape: Map<string, KernelStat>;
  memory: KernelStat;
  total: number;
}

/** Everything measured at one thread count. */
interface AtThreads {
  threads: number;
  cpuPhases: Phases[];
  torchPhases: Phases[];
  profile?: Profile;
  torchProfile?: TorchProfile;
}

/** Deterministic token ids in [1000, 30000) (ordinary word pieces, no special tokens). */
function tokenIds(n: number): Int32Array {
  const out = new Int32Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = 1000 + (x % 29000);
  }
  return out;
}

/**
 * all-MiniLM-L6-v2 (F16 checkpoint, loaded as f32) with a 2-label
 * classification head and a seq_bn adapter, base frozen, in train mode
 * (dropout on), AdamW on adapter + head: the step of the main SST-2 job.
 */
async function buildTrainer(backend: string, batch: number, seq: number): Promise<Trainer> {
  manualSeed(0);
  const model: AdapterModel = await AutoAdapterModel.fromPretrained(MODEL_DIR, { backend, onWarning: () => {}, loadTokenizer: false });
  model.addClassificationHead('sst2', { numLabels: 2 });
  model.addAdapter('sst2', 'seq_bn');
  model.trainAdapter('sst2');
  model.train();
  const params = model.parameters().filter((p) => p.requiresGrad);
  const opt = new AdamW(params, { lr: LR });
  const inputIds = tensor(tokenIds(batch * seq), [batch, seq], { dtype: 'i32', backend });
  const attentionMask = tensor(new Int32Array(batch * seq).fill(1), [batch, seq], { dtype: 'i32', backend });
  const labels = tensor(Int32Array.from({ length: batch }, (_, i) => i % 2), [batch], { dtype: 'i32', backend });
  return {
    trainable: params.reduce((s, p) => s + p.size, 0),
    step(): Phases {
      const t0 = performance.now();
      // Everything the forward pass returns except the loss is freed here; autograd keeps what backward needs.
      const loss: Tensor = tidy(() => model.forward({ inputIds, attentionMask, labels }).loss!);
      const t1 = performance.now();
      backward(loss);
      const t2 = performance.now();
      opt.step();
      opt.zeroGrad();
      const t3 = performance.now();
      loss.dispose();
      return [t1 - t0, t2 - t1, t3 - t2];
    },
    dispose() {
      for (const t of [inputIds, attentionMask, labels]) t.dispose();
      model.dispose();
    },
  };
}

const total = (p: Phases): number => p[0] + p[1] + p[2];

function medianPhases(ps: Phases[]): Phases {
  return [0, 1, 2].map((i) => median(ps.map((p) => p[i]!))) as Phases;
}

function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} days`;
}

const epochMs = (stepMs: number, batch: number): number => (SST2_TRAIN / batch) * stepMs;

function stepRow(name: string, backend: string, threads: number, phases: Phases[], batch: number, seq: number, torchMs: number | undefined): BenchRow {
  const ms = median(phases.map(total));
  const [f, b, o] = medianPhases(phases);
  return {
    name,
    backend,
    threads,
    'timed steps': phases.length,
    'step ms': ms,
    'forward+loss ms': f,
    'backward ms': b,
    'optimizer ms': o,
    'tokens/s': (batch * seq) / (ms / 1000),
    'SST-2 epoch (projected)': formatDuration(epochMs(ms, batch)),
    '× PyTorch step': torchMs === undefined ? '' : ms / torchMs,
  };
}

/**
 * Training-step time of a seq_bn adapter on all-MiniLM-L6-v2 (batch 16×128,
 * classification head, AdamW) on 'cpu' vs PyTorch + `adapters` in a
 * subprocess (same model, same step, interleaved rounds), at all threads and
 * at one thread; one 'cpu-ref' step; the projected SST-2 epoch time of each;
 * and where 'cpu' spends its step (per kernel family, from a profiled step)
 * beside PyTorch's profile.
 */
export async function benchTrainStep(opts: TrainStepBenchOptions = {}): Promise<void> {
  const batch = opts.batch ?? 16, seq = opts.seq ?? 128;
  const rounds = opts.rounds ?? 3, perRound = opts.stepsPerRound ?? 1, refSteps = opts.refSteps ?? 1;
  const python = opts.python === undefined ? ADAPTERS_PYTHON : opts.python;
  const { registerFastCpuBackend } = await import('@adapterkit/backend-cpu');
  const reg = registerFastCpuBackend();
  const th = await cpuThreads(opts.threads);
  const notes: string[] = [];

  // PyTorch loads first, while nothing else runs; it idles between requests.
  const started = python === null ? 'skipped: no Python given' : await PythonWorker.start<TorchInfo>(
    python, 'bench_train_step.py', ['--batch', String(batch), '--seq', String(seq), '--threads', String(th.counts[0])], 'bench_train_step.py');
  const torchSkip = typeof started === 'string' ? started : undefined;
  if (torchSkip) console.warn(`train-step-cpu: PyTorch column ${torchSkip}`);
  const torch = typeof started === 'string' ? undefined : started;
  const timeTorch = async (reps: number, warmup: number): Promise<Phases[]> =>
    torch ? (await torch.worker.request<{ phases: Phases[] }>({ cmd: 'time', reps, warmup })).phases : [];

  const measured: AtThreads[] = [];
  let trainable = 0;
  try {
    const t = reg.available ? await buildTrainer('cpu', batch, seq) : undefined;
    if (!t) notes.push(`'cpu' rows skipped: ${reg.reason}`);
    trainable = t?.trainable ?? 0;
    try {
      for (const threads of th.counts) {
        th.set(threads);
        if (torch) await torch.worker.request({ cmd: 'threads', n: threads });
        const m: AtThreads = { threads, cpuPhases: [], torchPhases: [] };
        measured.push(m);
        if (!t) {
          m.torchPhases.push(...(await timeTorch(rounds * perRound, 1)));
          continue;
        }
        t.step(); // warm-up: JIT, memory pool, thread pool
        await timeTorch(0, 1);
        const liveBefore = memory('cpu').liveBytes;
        for (let r = 0; r < rounds; r++) {
          for (let i = 0; i < perRound; i++) m.cpuPhases.push(t.step());
          m.torchPhases.push(...(await timeTorch(perRound, 0)));
        }
        const grown = memory('cpu').liveBytes - liveBefore;
        if (grown !== 0) notes.push(`Warning: 'cpu' live tensor bytes grew by ${grown} over the timed steps at ${threads} thread(s) (a leak in the step?).`);
        // One profiled step (the wrappers cost well under 1 % here), then PyTorch's under torch.profiler.
        const prof = installKernelProfiler('cpu');
        const t0 = performance.now();
        try {
          t.step();
        } finally {
          prof.uninstall();
        }
        m.profile = { kernels: prof.kernels, byShape: prof.byShape, memory: prof.memory, total: performance.now() - t0 };
        if (torch) m.torchProfile = await torch.worker.request<TorchProfile>({ cmd: 'profile' });
      }
    } finally {
      th.restore();
      t?.dispose();
    }
  } finally {
    torch?.worker.close();
  }

  const rows: BenchRow[] = [];
  for (const m of measured) {
    const torchMs = m.torchPhases.length ? median(m.torchPhases.map(total)) : undefined;
    if (m.cpuPhases.length) rows.push(stepRow('adapterkit', 'cpu', m.threads, m.cpuPhases, batch, seq, torchMs));
    if (torch && torchMs !== undefined) {
      rows.push(stepRow(`PyTorch ${torch.info.torch} + adapters ${torch.info.adapters}`, 'torch CPU', m.threads, m.torchPhases, batch, seq, torchMs));
    } else {
      rows.push({ name: 'PyTorch + adapters', backend: 'torch CPU', threads: m.threads, 'step ms': torchSkip ?? 'skipped' });
    }
  }
  // 'cpu-ref': the backend the main job had before 'cpu' (about a minute per step, so one or two steps only).
  if (refSteps > 0) {
    const t = await buildTrainer('cpu-ref', batch, seq);
    trainable ||= t.trainable;
    try {
      const phases: Phases[] = [];
      for (let i = 0; i < refSteps; i++) phases.push(t.step());
      // cpu-ref runs on one thread: compare with PyTorch on one thread when measured.
      const torch1 = measured.find((m) => m.threads === 1)?.torchPhases;
      rows.push(stepRow('adapterkit', 'cpu-ref', 1, phases, batch, seq, torch1?.length ? median(torch1.map(total)) : undefined));
    } finally {
      t.dispose();
    }
  }

  notes.push(
    `Step = forward with labels (cross-entropy) + backward + AdamW (lr ${LR}, wd 0.01) + zero grads, on models/all-MiniLM-L6-v2 (F16 checkpoint loaded as f32), ` +
      `classification head (2 layers, tanh, 2 labels) + seq_bn adapter, base frozen, train mode (dropout 0.1 on), batch ${batch}×${seq} (all-ones mask). ` +
      `Trainable parameters: ours ${trainable}${torch ? `, PyTorch ${torch.info.trainable_params}` : ''}.`,
    `'cpu' and PyTorch: at each thread count, ${rounds} interleaved rounds of ${perRound} step(s) after one warm-up step each, median; × PyTorch compares the same thread count. ` +
      `'cpu-ref' (one thread, TypeScript): ${refSteps} step(s), no warm-up. ` +
      (torch
        ? `PyTorch ${torch.info.torch}, transformers ${torch.info.transformers}, attention '${torch.info.attn_implementation}', in a subprocess (tools/reference/bench_train_step.py).`
        : `PyTorch column ${torchSkip}.`),
    `SST-2 epoch (projected) = ${SST2_TRAIN} examples / ${batch} per batch (4,210 steps) × the median step time, every batch padded to ${seq} tokens as here (batches padded to their longest sentence are shorter, so real epochs are faster).`,
  );
  const main = measured.find((m) => m.threads === th.all) ?? measured[0];
  const mainCpu = main?.cpuPhases.length ? median(main.cpuPhases.map(total)) : undefined;
  for (const m of measured) {
    if (!m.cpuPhases.length || !m.torchPhases.length) continue;
    const r = median(m.cpuPhases.map(total)) / median(m.torchPhases.map(total));
    notes.push(`${m.threads} thread(s): 'cpu' step / PyTorch step = ${r.toFixed(2)} (target ≤ 2).`);
  }
  const refRow = rows.find((r) => r.backend === 'cpu-ref');
  if (refRow && mainCpu !== undefined) {
    notes.push(
      `Main job's epoch time before ('cpu-ref') → after ('cpu', ${main!.threads} thread(s), the trainer's default): ${refRow['SST-2 epoch (projected)']} → ${formatDuration(epochMs(mainCpu, batch))} ` +
        `(${((refRow['step ms'] as number) / mainCpu).toFixed(0)}× faster).`,
    );
  }
  notes.push('Shared, loaded 2-core machine: absolute times are noisy (with all cores asked for, PyTorch\'s OpenMP loses more to other processes than our pool, which flatters the all-threads ratio; the 1-thread ratio is the steadier one).');
  saveResults('train-step-cpu', `seq_bn adapter training step, all-MiniLM-L6-v2, batch ${batch}×${seq}: 'cpu' vs PyTorch + adapters`, rows, notes);
  saveBreakdown(measured, batch, seq);
}

/** Where the 'cpu' step goes (per kernel family) at each thread count, beside PyTorch's profile of the same step. */
function saveBreakdown(measured: AtThreads[], batch: number, seq: number): void {
  const rows: BenchRow[] = [];
  const notes: string[] = [
    "One profiled 'cpu' step per thread count: every kernel registered for 'cpu' and the backend's alloc/free wrapped with a timer (installKernelProfiler); \"outside kernels\" is the rest of the step's wall time (autograd bookkeeping, views, JS dispatch).",
    'PyTorch: one step under torch.profiler (CPU); self time per op summed into gemm (aten::mm/addmm/bmm/baddbmm), fused sdpa kernels (none run: with attention dropout in training, sdpa takes its math path of bmm/softmax/dropout), and the rest. The profiler adds overhead, so its total exceeds the unprofiled step.',
  ];
  for (const m of measured) {
    const p = m.profile;
    if (!p) continue;
    const side = `adapterkit 'cpu'`;
    let kernelMs = 0;
    for (const [family, s] of byFamily(p.kernels)) {
      kernelMs += s.ms;
      const row: BenchRow = { name: family, side, threads: m.threads, 'ms/step': s.ms, '% of step': (100 * s.ms) / p.total, 'calls/step': s.calls };
      if (s.flops) row['GFLOP/s'] = s.flops / s.ms / 1e6;
      rows.push(row);
    }
    const outside = p.total - kernelMs - p.memory.ms;
    rows.push({ name: 'alloc/free (memory pool)', side, threads: m.threads, 'ms/step': p.memory.ms, '% of step': (100 * p.memory.ms) / p.total, 'calls/step': p.memory.calls });
    rows.push({ name: 'outside kernels', side, threads: m.threads, 'ms/step': outside, '% of step': (100 * outside) / p.total });
    rows.push({ name: 'total (profiled step)', side, threads: m.threads, 'ms/step': p.total, '% of step': 100 });
    const tp = m.torchProfile;
    let torchTotal = 0;
    if (tp) {
      torchTotal = Object.values(tp.families).reduce((a, b) => a + b, 0);
      for (const [family, ms] of Object.entries(tp.families)) {
        rows.push({ name: family, side: 'PyTorch (profiler self time)', threads: m.threads, 'ms/step': ms, '% of step': (100 * ms) / torchTotal });
      }
      rows.push({ name: 'total (profiled step)', side: 'PyTorch (profiler self time)', threads: m.threads, 'ms/step': torchTotal, '% of step': 100 });
    }

    const top = [...p.kernels].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8).map(([k, s]) => `${k} ${s.ms.toFixed(0)} ms (${s.calls})`).join(', ');
    const shapes = [...p.byShape].filter(([k]) => !k.startsWith('matmul ')).sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)
      .map(([k, s]) => `${k} ${s.ms.toFixed(0)} ms (${s.calls}×)`).join(', ');
    const mm = p.kernels.get('matmul');
    notes.push(`${m.threads} thread(s), ours — top kernels: ${top}. Largest non-matmul calls by output shape ([16,12,128,128] attention probabilities, [16,128,1536] FFN, [16,128,384] hidden): ${shapes}.` +
      (mm ? ` matmul: ${(mm.flops / 1e9).toFixed(1)} GFLOP per step at ${(mm.flops / mm.ms / 1e6).toFixed(1)} GFLOP/s.` : ''));
    if (tp) notes.push(`${m.threads} thread(s), PyTorch — top ops: ${tp.top.slice(0, 8).map((t) => `${t.op} ${t.ms.toFixed(0)} ms (${t.calls})`).join(', ')}.`);
    if (tp && mm && m.cpuPhases.length && m.torchPhases.length) {
      const cpuMs = median(m.cpuPhases.map(total)), torchMs = median(m.torchPhases.map(total));
      const scale = torchMs / torchTotal; // the profiler's overhead out: PyTorch's shares scaled to its unprofiled step
      const tg = (tp.families.gemm ?? 0) * scale;
      notes.push(
        `${m.threads} thread(s), gap: 'cpu' ${cpuMs.toFixed(0)} ms vs PyTorch ${torchMs.toFixed(0)} ms (Δ ${(cpuMs - torchMs).toFixed(0)} ms). ` +
          `Matmul: ours ${mm.ms.toFixed(0)} ms vs PyTorch gemm ≈ ${tg.toFixed(0)} ms; everything else: ours ${(p.total - mm.ms).toFixed(0)} ms ` +
          `(non-matmul kernels ${(kernelMs - mm.ms).toFixed(0)}, alloc/free ${p.memory.ms.toFixed(0)}, outside kernels ${outside.toFixed(0)}) vs PyTorch ≈ ${(torchMs - tg).toFixed(0)} ms.`,
      );
    }
  }
  if (!rows.length) return;
  notes.push('Shared, loaded 2-core machine: one profiled step each, so the shares are indicative.');
  saveResults('train-step-cpu-breakdown', `Where the 'cpu' training step goes (seq_bn, all-MiniLM-L6-v2, batch ${batch}×${seq})`, rows, notes);
}
