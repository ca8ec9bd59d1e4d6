/**
 * QLoRA on a real (tiny) Llama: stories260K (karpathy/tinyllamas, trained on
 * TinyStories) is loaded from GGUF, its projections quantized to NF4 with
 * double quantization (bitsandbytes' format), and a LoRA adapter is trained
 * on Shakespeare. Reports held-out perplexity of the f32 model, of the
 * 4-bit model, and of the 4-bit model + LoRA; memory of the f32 and 4-bit
 * models; and the requantization error of merging the LoRA into the 4-bit
 * weights.
 *
 *   pnpm --filter @adapterkit/example-qlora-llama start [-- --steps 300 --backend cpu --checkpoint]
 */
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdamW, AutoAdapterModel, backward, manualSeed, noGrad, registeredBackends, setBackend, tidy,
  type LlamaModel, type PretrainedAdapterModel,
} from '@adapterkit/core';
import { registerFastCpuBackend } from '@adapterkit/backend-cpu';
import '@adapterkit/method-lora';
import { formatMemoryReport, loadQuantized, memoryReport, mergeQuantizedAdapter, quantizeModel, resetQuantizedAdapter, saveQuantized } from '@adapterkit/quant';
import { batchTensor, bosId, readSlice, shuffled, tokenize, windows } from './data.js';
import { checkpointDecoderLayers } from './checkpointing.js';

const MODEL = fileURLToPath(new URL('../../../../shared/data/models/stories260K/stories260K.gguf', import.meta.url));
const TEXT = fileURLToPath(new URL('../../../../shared/data/tinyshakespeare/input.txt', import.meta.url));

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] && !process.argv[i + 1]!.startsWith('--') ? process.argv[i + 1]! : fallback;
}

const config = {
  seed: 7,
  backend: arg('backend', 'auto'),
  steps: Number(arg('steps', '300')),
  batch: 8,
  seqLen: 64,
  lr: Number(arg('lr', '3e-3')),
  // The QLoRA notebook's LoRA (r=64 for 7B models; r=8 suits this 64-wide model).
  lora: { architecture: 'lora', r: 8, alpha: 16, dropout: 0.05, selfattn_lora: true, intermediate_lora: true, output_lora: true, attn_matrices: ['q', 'k', 'v'] },
  train: [0, 200_000] as const,
  heldOut: [1_000_000, 1_030_000] as const,
  checkpoint: process.argv.includes('--checkpoint'),
};

/** exp(mean token cross-entropy) over the windows, batched. */
function perplexity(model: PretrainedAdapterModel, rows: number[][]): number {
  model.eval();
  let total = 0;
  let count = 0;
  noGrad(() => {
    for (let i = 0; i < rows.length; i += 16) {
      const part = rows.slice(i, i + 16);
      const loss = tidy(() => {
        const ids = batchTensor(part);
        return model.forward({ inputIds: ids, labels: ids }).loss!.dataSync()[0]!;
      });
      const tokens = part.length * (part[0]!.length - 1);
      total += loss * tokens;
      count += tokens;
    }
  });
  return Math.exp(total / count);
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(3)} MiB`;

async function main(): Promise<void> {
  const t0 = performance.now();
  let backend = config.backend;
  if (backend === 'auto' || backend === 'cpu') {
    const fast = registerFastCpuBackend();
    if (fast.available) backend = 'cpu';
    else {
      console.warn(`fast CPU backend unavailable (${fast.reason}); using cpu-ref`);
      backend = 'cpu-ref';
    }
  }
  if (!registeredBackends().includes(backend)) throw new Error(`unknown backend '${backend}'; registered: ${registeredBackends().join(', ')}`);
  setBackend(backend);
  manualSeed(config.seed);

  const model = await AutoAdapterModel.fromPretrained(MODEL, { backend });
  const tok = model.tokenizer as Parameters<typeof tokenize>[0];
  const bos = bosId(tok);
  const train = windows(tokenize(tok, readSlice(TEXT, ...config.train)), config.seqLen, bos);
  const held = windows(tokenize(tok, readSlice(TEXT, ...config.heldOut)), config.seqLen, bos);
  console.log(`stories260K on '${backend}': ${train.length} training windows and ${held.length} held-out windows of ${config.seqLen} tokens (Shakespeare chars ${config.train.join('–')} / ${config.heldOut.join('–')})`);

  const memF32 = memoryReport(model);
  const pplF32 = perplexity(model, held);

  const q = await quantizeModel(model, { bits: 4, quantType: 'nf4', blockSize: 64, doubleQuant: true });
  const worst = Math.max(...q.layers.map((l) => l.maxAbsError ?? 0));
  console.log(`quantized ${q.layers.length} projections to NF4 (double quant): ${mib(q.bytesBefore)} → ${mib(q.bytesAfter)}, max |W − dequant(W)| ${worst.toExponential(2)}`);
  const memNf4 = memoryReport(model);
  const pplNf4 = perplexity(model, held);

  model.addAdapter('shakespeare', config.lora);
  model.trainAdapter('shakespeare');
  // QLoRA trains the adapter only; the LM head is tied to the (frozen) embeddings.
  for (const p of model.heads.parameters()) p.requiresGrad = false;
  if (config.checkpoint) checkpointDecoderLayers(model.base as LlamaModel);
  const params = model.parameters().filter((p) => p.requiresGrad);
  const opt = new AdamW(params, { lr: config.lr, weightDecay: 0 });
  const nTrain = params.reduce((s, p) => s + p.size, 0);
  console.log(`LoRA r=${config.lora.r} on q, k, v, up, down: ${nTrain} trainable parameters; ${config.steps} steps of ${config.batch}×${config.seqLen} tokens, AdamW lr ${config.lr}${config.checkpoint ? ', gradient checkpointing' : ''}`);

  const tTrain = performance.now();
  let order = shuffled(train, config.seed);
  let cursor = 0;
  let running = 0;
  for (let step = 1; step <= config.steps; step++) {
    model.train();
    if (cursor + config.batch > order.length) {
      order = shuffled(train, config.seed + step);
      cursor = 0;
    }
    const rows = order.slice(cursor, (cursor += config.batch));
    const ids = batchTensor(rows);
    const loss = model.forward({ inputIds: ids, labels: ids }).loss!;
    const value = loss.dataSync()[0]!;
    backward(loss);
    loss.dispose();
    ids.dispose();
    opt.step();
    model.zeroGrad();
    running = step === 1 ? value : 0.95 * running + 0.05 * value;
    if (step % 50 === 0 || step === config.steps) console.log(`  step ${String(step).padStart(4)}  loss ${running.toFixed(3)}  (${((performance.now() - tTrain) / step).toFixed(0)} ms/step)`);
  }
  const msPerStep = (performance.now() - tTrain) / config.steps;
  const pplLora = perplexity(model, held);

  // Merge into the 4-bit weights (dequantize, merge, requantize), measure, then undo.
  const merge = await mergeQuantizedAdapter(model, 'shakespeare');
  const pplMerged = perplexity(model, held);
  resetQuantizedAdapter(model);

  // The 4-bit base round-trips through saveQuantized/loadQuantized; the adapter through saveAdapter/loadAdapter.
  const dir = await mkdtemp(join(tmpdir(), 'qlora-llama-'));
  try {
    await saveQuantized(model, join(dir, 'base'));
    await model.saveAdapter(join(dir, 'adapter'), 'shakespeare');
    const fresh = await AutoAdapterModel.fromPretrained(MODEL, { backend });
    await loadQuantized(fresh, join(dir, 'base'));
    await fresh.loadAdapter(join(dir, 'adapter'), { setActive: true });
    const pplReloaded = perplexity(fresh, held);
    fresh.dispose();
    console.log(`saved and reloaded (NF4 base + adapter): held-out perplexity ${pplReloaded.toFixed(3)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const memFinal = memoryReport(model);
  console.log('\nmemory of the 4-bit model with the adapter (largest tensors):');
  console.log(formatMemoryReport(memFinal, 8));
  console.log('\nresults');
  console.table([
    { model: 'f32 base', 'held-out perplexity': +pplF32.toFixed(3), 'model memory': mib(memF32.totals.bytes), 'projection weights': mib(memF32.tensors.filter((t) => /_proj\.weight$/.test(t.name)).reduce((s, t) => s + t.bytes, 0)) },
    { model: 'NF4 base', 'held-out perplexity': +pplNf4.toFixed(3), 'model memory': mib(memNf4.totals.bytes), 'projection weights': `${mib(memNf4.totals.quantizedBytes)} (${memNf4.totals.quantizedBytesPerParam.toFixed(3)} B/param)` },
    { model: 'NF4 base + LoRA (trained)', 'held-out perplexity': +pplLora.toFixed(3), 'model memory': mib(memFinal.totals.bytes), 'projection weights': mib(memFinal.totals.quantizedBytes) },
    { model: 'NF4 with LoRA merged (requantized)', 'held-out perplexity': +pplMerged.toFixed(3), 'model memory': mib(memNf4.totals.bytes), 'projection weights': `max requantization error ${merge.maxAbsError.toExponential(2)}` },
  ]);
  console.log(`training ${msPerStep.toFixed(0)} ms/step; total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  model.dispose();
}

await main();
