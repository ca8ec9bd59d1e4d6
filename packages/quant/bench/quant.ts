import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AdamW, AdapterModel, LlamaModel, backendByName, backward, getBackend, manualSeed, parseLlamaConfig, registeredBackends, setBackend, tensor,
} from '@adapterkit/core';
import { memoryReport, quantizeModel, type QuantizeModelOptions } from '../src/index.js';

/** One measured row (the shape bench/src/results.ts uses). */
export interface BenchRow {
  name: string;
  [column: string]: string | number;
}

/** Signature of bench/src/results.ts `saveResults`. */
export type SaveResults = (id: string, title: string, rows: BenchRow[], notes?: string[]) => void;

/** Options of `benchQuant`. */
export interface QuantBenchOptions {
  /** Where results go (bench/src/results.ts saveResults under `pnpm bench`); default: print and write packages/quant/bench/results/. */
  save?: SaveResults;
  /** Backend to time on (default: 'cpu' when registered, else 'cpu-ref'). */
  backend?: string;
  /** Timed training steps per configuration (median reported; default 10, after 1 warm-up; configurations interleaved). */
  steps?: number;
  /** Llama shape (default hidden 256, intermediate 688, 2 layers, 8 heads / 4 KV heads, vocab 1000), sequence [2, 64]. */
  hidden?: number;
  intermediate?: number;
  layers?: number;
  seq?: number;
}

const LORA = { architecture: 'lora', r: 8, alpha: 16, dropout: 0, selfattn_lora: true, intermediate_lora: true, output_lora: true, attn_matrices: ['q', 'k', 'v'] };

function defaultSave(): SaveResults {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  return (id, title, rows, notes = []) => {
    mkdirSync(dir, { recursive: true });
    const meta = { id, title, date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, notes, rows };
    const tmp = join(dir, `${id}.json.${process.pid}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(meta, null, 2)}\n`);
    renameSync(tmp, join(dir, `${id}.json`));
    console.log(title);
    console.table(rows);
    for (const n of notes) console.log(`- ${n}`);
  };
}

/**
 * Memory and LoRA training-step time of a Llama-shaped model with an f32
 * base versus NF4 (double quant) and int8 bases: total bytes, base-weight
 * bytes per parameter, and the median time of one step (forward, loss,
 * backward, AdamW on the LoRA parameters) on one backend.
 */
export async function benchQuant(opts: QuantBenchOptions = {}): Promise<BenchRow[]> {
  const save = opts.save ?? defaultSave();
  const backend = opts.backend ?? (registeredBackends().includes('cpu') ? 'cpu' : 'cpu-ref');
  const previous = getBackend().name;
  setBackend(backend);
  const hidden = opts.hidden ?? 256;
  const layers = opts.layers ?? 2;
  const seq = opts.seq ?? 64;
  const steps = opts.steps ?? 10;
  const raw = {
    model_type: 'llama', hidden_size: hidden, intermediate_size: opts.intermediate ?? 688, num_hidden_layers: layers,
    num_attention_heads: 8, num_key_value_heads: 4, vocab_size: 1000, rms_norm_eps: 1e-6, max_position_embeddings: 512,
  };
  const configs: [string, QuantizeModelOptions | null][] = [
    ['f32 base', null],
    ['nf4 base (b64, double quant)', { bits: 4, quantType: 'nf4', blockSize: 64, doubleQuant: true }],
    ['int8 base', { bits: 8 }],
  ];
  // The LoRA method registers on import; it is a dev/peer dependency of this package.
  await import('@adapterkit/method-lora').catch((e: unknown) => {
    throw new Error(`benchQuant needs @adapterkit/method-lora (LoRA on the quantized base): ${(e as Error).message}`);
  });
  const rows: BenchRow[] = [];
  const runs: { name: string; row: BenchRow; step: () => void; times: number[]; dispose: () => void }[] = [];
  try {
    for (const [name, fmt] of configs) {
      manualSeed(0);
      const base = new LlamaModel(parseLlamaConfig(raw));
      const model = new AdapterModel(base, { basePrefix: 'model' });
      model.addCausalLMHead('lm');
      if (fmt) await quantizeModel(model, fmt);
      model.addAdapter('lora', LORA);
      model.trainAdapter('lora');
      // QLoRA trains the adapter only: freeze the LM head too.
      for (const p of model.heads.parameters()) p.requiresGrad = false;
      const mem = memoryReport(model);
      const projections = mem.tensors.filter((t) => /\.(q|k|v|o|gate|up|down)_proj\.weight$/.test(t.name));
      const baseBytes = fmt ? mem.totals.quantizedBytes : projections.reduce((s, t) => s + t.bytes, 0);
      const baseParams = fmt ? mem.totals.quantizedParams : projections.reduce((s, t) => s + t.params, 0);
      const opt = new AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-3 });
      const ids = Array.from({ length: 2 * seq }, (_, i) => (i * 37) % 1000);
      const step = () => {
        const inputIds = tensor(ids, [2, seq], { dtype: 'i32' });
        const out = model.forward({ inputIds, labels: inputIds });
        backward(out.loss!);
        opt.step();
        model.zeroGrad();
        for (const t of [out.loss, out.logits, out.lastHiddenState, inputIds]) t?.dispose();
      };
      step();
      runs.push({
        name,
        step,
        times: [],
        dispose: () => model.dispose(),
        row: {
          name,
          backend,
          'model MiB': mem.totals.bytes / 2 ** 20,
          'projection weights MiB': baseBytes / 2 ** 20,
          'projection B/param': baseBytes / baseParams,
          'trainable (LoRA) params': mem.totals.trainableParams,
        },
      });
    }
    // Interleaved rounds, so every configuration sees the same machine load.
    for (let i = 0; i < steps; i++) {
      for (const r of runs) {
        const t0 = performance.now();
        r.step();
        await backendByName(backend).sync?.();
        r.times.push(performance.now() - t0);
      }
    }
    for (const r of runs) {
      const sorted = [...r.times].sort((a, b) => a - b);
      rows.push({ ...r.row, 'step ms (median)': sorted[Math.floor(sorted.length / 2)]! });
    }
  } finally {
    for (const r of runs) r.dispose();
    setBackend(previous);
  }
  save('quant-llama', `Quantized base vs f32: memory and LoRA step time (Llama-shaped, hidden ${hidden}, ${layers} layers, batch 2×${seq})`, rows, [
    'Projection weights = the 7 projections of every layer (what quantizeModel replaces); B/param includes scales and code tables.',
    'Step = forward + causal-LM loss + backward + AdamW on the LoRA parameters (r=8 on q, k, v, up, down).',
    `The 4-bit/int8 matmuls use @adapterkit/quant's fused TS kernels on CPU backends (no native kernel yet), so on 'cpu' they are compared with native f32 GEMM.`,
  ]);
  return rows;
}
