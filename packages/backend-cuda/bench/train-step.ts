/**
 * One training step of a seq_bn (Pfeiffer) bottleneck adapter on a
 * bert-base-shaped model (12 layers, hidden 768, 12 heads, FFN 3072, vocab
 * 30522) with a 2-class classification head, batch 32 × 128 tokens, on the
 * 'cuda' backend: forward, cross-entropy loss, backward, AdamW on the adapter
 * and head parameters. Measures the step time (median over timed steps, each
 * ended by `await backend.sync()`) and peak device memory. The weights are
 * random (the timing and memory do not depend on their values).
 *
 * bench/pytorch_step.py measures the same step with PyTorch + `adapters`.
 */
import {
  AdamW, AdapterModel, BertModel, backendByName, backward, manualSeed, parseBertConfig, setBackend, tensor, tidy,
  type Tensor,
} from '@adapterkit/core';
import { autocast, type AutocastDType } from '../src/autocast.js';
import type { CudaBackend } from '../src/backend.js';
import { registerCudaBackend } from '../src/register.js';

export interface TrainStepOptions {
  batch?: number;
  seq?: number;
  /** Timed steps (default 10) after `warmup` untimed ones (default 3: kernels compile on first use). */
  steps?: number;
  warmup?: number;
  /** Matmuls in bf16/f16 with f32 master weights (default 'bf16'; null for plain f32). */
  autocast?: AutocastDType | null;
  /** Model size (defaults: bert-base). */
  layers?: number;
  hidden?: number;
  heads?: number;
  intermediate?: number;
  vocab?: number;
  /** Let f32 matmuls use TF32 (default false). */
  tf32?: boolean;
}

export interface TrainStepResult {
  /** Set when the bench could not run (e.g. no GPU), with the reason. */
  skipped?: string;
  backend: 'cuda';
  device?: string;
  config: Required<Omit<TrainStepOptions, 'autocast'>> & { autocast: AutocastDType | null };
  /** Per-step wall times in milliseconds (timed steps). */
  stepMs?: number[];
  medianStepMs?: number;
  /** Peak bytes in tensors / held by the caching allocator during the timed steps. */
  peakAllocatedBytes?: number;
  peakReservedBytes?: number;
  /** Device memory in use (cudaMemGetInfo total − free) after the steps: context, cuBLAS workspace and the allocator. */
  deviceUsedBytes?: number;
  trainableParameters?: number;
  losses?: number[];
  /** Kernel variants compiled (or loaded from the NVRTC cache) by the run. */
  kernelModules?: number;
}

const BERT_BASE = { layers: 12, hidden: 768, heads: 12, intermediate: 3072, vocab: 30522 };

/** Runs the bench; resolves with `skipped` set (never throws) when CUDA is unavailable. */
export async function benchTrainStep(opts: TrainStepOptions = {}): Promise<TrainStepResult> {
  const config = {
    batch: opts.batch ?? 32, seq: opts.seq ?? 128, steps: opts.steps ?? 10, warmup: opts.warmup ?? 3,
    autocast: opts.autocast === undefined ? ('bf16' as const) : opts.autocast,
    layers: opts.layers ?? BERT_BASE.layers, hidden: opts.hidden ?? BERT_BASE.hidden, heads: opts.heads ?? BERT_BASE.heads,
    intermediate: opts.intermediate ?? BERT_BASE.intermediate, vocab: opts.vocab ?? BERT_BASE.vocab, tf32: opts.tf32 ?? false,
  };
  const reg = registerCudaBackend({ tf32: config.tf32 });
  if (!reg.available) return { skipped: `CUDA unavailable: ${reg.reason}`, backend: 'cuda', config };
  // seq_bn registers itself with the adapter host on import.
  await import('@adapterkit/method-bottleneck');
  setBackend('cuda');
  const backend = backendByName('cuda') as CudaBackend;
  manualSeed(0);

  const bert = new BertModel(
    parseBertConfig({
      model_type: 'bert', vocab_size: config.vocab, hidden_size: config.hidden, num_hidden_layers: config.layers,
      num_attention_heads: config.heads, intermediate_size: config.intermediate, hidden_act: 'gelu', max_position_embeddings: 512,
      type_vocab_size: 2, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, layer_norm_eps: 1e-12, pad_token_id: 0,
    }),
  );
  const model = new AdapterModel(bert, { basePrefix: 'bert' });
  model.addAdapter('bench', 'seq_bn');
  model.addClassificationHead('bench', { numLabels: 2 });
  model.trainAdapter('bench');
  model.train();
  const params = model.parameters().filter((p) => p.requiresGrad);
  const opt = new AdamW(params, { lr: 1e-4 });

  const n = config.batch * config.seq;
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = 1000 + ((i * 7919) % (config.vocab - 1000));
  const inputIds = tensor(ids, [config.batch, config.seq], { dtype: 'i32' });
  const attentionMask = tensor(new Int32Array(n).fill(1), [config.batch, config.seq], { dtype: 'i32' });
  const labels = tensor(Int32Array.from({ length: config.batch }, (_, i) => i % 2), [config.batch], { dtype: 'i32' });

  const step = (): Tensor => {
    const run = (): Tensor => {
      const loss = tidy(() => model.forward({ inputIds, attentionMask, labels }).loss!);
      backward(loss);
      return loss;
    };
    const loss = config.autocast ? autocast(config.autocast, run) : run();
    opt.step();
    opt.zeroGrad();
    return loss;
  };

  const losses: number[] = [];
  for (let i = 0; i < config.warmup; i++) {
    const loss = step();
    losses.push((await loss.data())[0]!);
    loss.dispose();
  }
  await backend.sync();
  backend.resetPeakMemory();
  const stepMs: number[] = [];
  for (let i = 0; i < config.steps; i++) {
    const t0 = performance.now();
    const loss = step();
    await backend.sync();
    stepMs.push(performance.now() - t0);
    losses.push((await loss.data())[0]!);
    loss.dispose();
  }
  const stats = backend.memoryStats();
  const result: TrainStepResult = {
    backend: 'cuda',
    device: backend.info.name,
    config,
    stepMs,
    medianStepMs: median(stepMs),
    peakAllocatedBytes: stats.peakAllocatedBytes,
    peakReservedBytes: stats.peakReservedBytes,
    deviceUsedBytes: stats.deviceTotal - stats.deviceFree,
    trainableParameters: params.reduce((s, p) => s + p.size, 0),
    losses,
    kernelModules: backend.moduleCount,
  };
  for (const t of [inputIds, attentionMask, labels]) t.dispose();
  model.dispose();
  return result;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
