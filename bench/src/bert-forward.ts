import { BertModel, manualSeed, noGrad, parseBertConfig, setBackend, tensor } from '@adapterkit/core';
import { PythonWorker, TORCH_PYTHON, median } from './python.js';
import { saveResults, type BenchRow } from './results.js';
import { cpuThreads } from './threads.js';

/** Options of `benchBertForward`. */
export interface BertForwardBenchOptions {
  /** Batch on 'cpu' and PyTorch (default 8×128). */
  batch?: number;
  seq?: number;
  /** Interleaved rounds of ('cpu' forwards, PyTorch forwards) per thread count; default 3. */
  rounds?: number;
  /** Timed forwards per side and round; default 1. */
  repsPerRound?: number;
  /** 'cpu-ref' batch (default 1×128: it is ~100× slower) and timed forwards (default 1; 0 skips the row). */
  refBatch?: number;
  refReps?: number;
  /** Python with torch + transformers; default tools/reference/.venv; null skips the PyTorch column. */
  python?: string | null;
  /** Measure this thread count only (default: all threads, then 1 thread). */
  threads?: number;
}

/** bert-base-uncased's shape. */
const BERT_BASE = {
  model_type: 'bert', vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12,
  intermediate_size: 3072, max_position_embeddings: 512, type_vocab_size: 2,
};

interface TorchInfo {
  torch: string;
  transformers: string;
  threads: number;
  attn_implementation: string;
}

/** A BERT-base encoder on `backend` (random weights: throughput does not depend on them) and a forward closure. */
function buildForward(backend: string, batch: number, seq: number): { run: () => void; dispose: () => void } {
  setBackend(backend);
  manualSeed(0);
  // initWeights false skips HF's normal re-init; Linear's own uniform init still gives ordinary values (no denormals).
  const model = new BertModel(parseBertConfig(BERT_BASE), { initWeights: false }).eval();
  const ids = Int32Array.from({ length: batch * seq }, (_, i) => 1000 + ((i * 7919) % 29000));
  const inputIds = tensor(ids, [batch, seq], { dtype: 'i32', backend });
  const attentionMask = tensor(new Int32Array(batch * seq).fill(1), [batch, seq], { dtype: 'i32', backend });
  return {
    run: () => {
      const out = noGrad(() => model.forward({ inputIds, attentionMask }));
      out.lastHiddenState.dispose();
      out.pooledOutput?.dispose();
    },
    dispose: () => {
      inputIds.dispose();
      attentionMask.dispose();
      model.dispose();
    },
  };
}

function timeMs(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/**
 * Inference throughput (tokens/s) of a BERT-base-shaped encoder (hidden 768,
 * 12 layers, 12 heads, FFN 3072) under noGrad on 'cpu' (all threads and one
 * thread) and 'cpu-ref', beside PyTorch's CPU BertModel (tools/reference/.venv)
 * on the same batch and thread count.
 */
export async function benchBertForward(opts: BertForwardBenchOptions = {}): Promise<void> {
  const batch = opts.batch ?? 8, seq = opts.seq ?? 128;
  const rounds = opts.rounds ?? 3, perRound = opts.repsPerRound ?? 1;
  const refBatch = opts.refBatch ?? 1, refReps = opts.refReps ?? 1;
  const python = opts.python === undefined ? TORCH_PYTHON : opts.python;
  const { registerFastCpuBackend } = await import('@adapterkit/backend-cpu');
  const reg = registerFastCpuBackend();
  const th = await cpuThreads(opts.threads);
  const tokens = batch * seq;
  const notes: string[] = [];

  const started = python === null ? 'skipped: no Python given' : await PythonWorker.start<TorchInfo>(
    python, 'bench_bert_forward.py', ['--batch', String(batch), '--seq', String(seq), '--threads', String(th.counts[0])], 'bench_bert_forward.py');
  const torchSkip = typeof started === 'string' ? started : undefined;
  if (torchSkip) console.warn(`bert-forward: PyTorch column ${torchSkip}`);
  const torch = typeof started === 'string' ? undefined : started;
  const timeTorch = async (reps: number, warmup: number): Promise<number[]> =>
    torch ? (await torch.worker.request<{ ms: number[] }>({ cmd: 'time', reps, warmup })).ms : [];

  const measured: { threads: number; cpuMs: number[]; torchMs: number[] }[] = [];
  try {
    const f = reg.available ? buildForward('cpu', batch, seq) : undefined;
    if (!f) notes.push(`'cpu' rows skipped: ${reg.reason}`);
    try {
      for (const threads of th.counts) {
        th.set(threads);
        if (torch) await torch.worker.request({ cmd: 'threads', n: threads });
        const m = { threads, cpuMs: [] as number[], torchMs: [] as number[] };
        measured.push(m);
        if (!f) {
          m.torchMs.push(...(await timeTorch(rounds * perRound, 1)));
          continue;
        }
        f.run(); // warm-up
        await timeTorch(0, 1);
        for (let r = 0; r < rounds; r++) {
          for (let i = 0; i < perRound; i++) m.cpuMs.push(timeMs(f.run));
          m.torchMs.push(...(await timeTorch(perRound, 0)));
        }
      }
    } finally {
      th.restore();
      f?.dispose();
    }
  } finally {
    torch?.worker.close();
  }

  const rows: BenchRow[] = [];
  const row = (backend: string, threads: number, b: number, times: number[], torchTps: number | undefined): BenchRow => {
    const ms = median(times);
    const tps = (b * seq) / (ms / 1000);
    return {
      name: 'BERT-base forward', backend, threads, batch: `${b}×${seq}`, 'timed runs': times.length, 'ms (median)': ms, 'tokens/s': tps,
      '÷ PyTorch tokens/s': torchTps ? tps / torchTps : '',
    };
  };
  let torch1Tps: number | undefined;
  for (const m of measured) {
    const torchTps = m.torchMs.length ? tokens / (median(m.torchMs) / 1000) : undefined;
    if (m.threads === 1) torch1Tps = torchTps;
    if (m.cpuMs.length) rows.push(row('cpu', m.threads, batch, m.cpuMs, torchTps));
    if (torch && torchTps) rows.push(row(`PyTorch ${torch.info.torch} CPU`, m.threads, batch, m.torchMs, torchTps));
    else rows.push({ name: 'BERT-base forward', backend: 'PyTorch CPU', threads: m.threads, batch: `${batch}×${seq}`, 'tokens/s': torchSkip ?? 'skipped' });
  }
  if (refReps > 0) {
    const f = buildForward('cpu-ref', refBatch, seq);
    try {
      const ms: number[] = [];
      for (let i = 0; i < refReps; i++) ms.push(timeMs(f.run));
      rows.push(row('cpu-ref', 1, refBatch, ms, torch1Tps));
    } finally {
      f.dispose();
    }
  }
  for (const m of measured) {
    if (m.cpuMs.length && m.torchMs.length) notes.push(`${m.threads} thread(s): 'cpu' tokens/s ÷ PyTorch tokens/s = ${(median(m.torchMs) / median(m.cpuMs)).toFixed(2)}.`);
  }
  notes.push(
    "BertModel with bert-base-uncased's shape (hidden 768, 12 layers, 12 heads, FFN 3072, vocab 30522; random weights), eval mode, noGrad / torch.no_grad(), all-ones attention mask; the pooler runs too.",
    `'cpu' and PyTorch: at each thread count, ${rounds} interleaved rounds of ${perRound} forward(s) after one warm-up each, median. ` +
      `'cpu-ref' (one thread, TypeScript; compared with PyTorch on one thread): batch ${refBatch}×${seq}, ${refReps} forward(s), no warm-up — tokens/s carries across batch sizes only roughly (attention is per sequence, the rest is linear in tokens).`,
    torch
      ? `PyTorch ${torch.info.torch}, transformers ${torch.info.transformers} BertModel (attention '${torch.info.attn_implementation}'), in a subprocess (tools/reference/bench_bert_forward.py).`
      : `PyTorch column ${torchSkip}.`,
    "Shared, loaded 2-core machine: absolute numbers are noisy; ratios come from interleaved rounds under the same load (with all cores asked for, PyTorch's OpenMP loses more to other processes than our pool; the 1-thread ratio is the steadier one).",
  );
  saveResults('bert-forward', `BERT-base forward throughput on CPU (batch ${batch}×${seq})`, rows, notes);
}
