/**
 * A MAD-X style language adapter: a `seq_bn_inv` adapter (bottleneck after
 * each FFN + an invertible NICE adapter on the embeddings, run in reverse
 * before the vocabulary projection) trained with masked-LM on WikiText-2
 * under a BERT masked-LM head whose decoder is tied to the frozen input
 * embeddings. Reports the MLM loss and perplexity on a slice of the test
 * split before and after training, shows a fill-mask demo, and saves the
 * adapter (Python layout).
 *
 *   pnpm --filter @adapterkit/example-mlm-language-adapter start          # short run (a few minutes)
 *   pnpm --filter @adapterkit/example-mlm-language-adapter start --full   # all of valid.txt, 3 epochs, full test.txt
 *
 * Flags: --max_steps N (default 200; 0 = use --num_train_epochs)
 * --num_train_epochs E (with --full or --max_steps 0; default 3)
 * --max_seq_length L (64) --batch_size B (8) --learning_rate LR (3e-3:
 * the head starts untrained, and a high rate gets it past predicting only
 * frequent tokens within 200 steps) --eval_blocks N|all (96) --seed S
 * --backend auto|cpu|cpu-ref --output_dir DIR (out).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AutoAdapterModel, narrow, noGrad, tensor, type AdapterModel, type HfTokenizer } from '@adapterkit/core';
import '@adapterkit/method-bottleneck'; // registers seq_bn_inv and the invertible adapters
import { AdapterTrainer, mlmCollator, mlmFeatures, readLines, selectBackend, setupAdapterTraining } from '@adapterkit/trainer';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = process.env.ADAPTERKIT_DEFAULT_MODEL ?? join(REPO, 'models', 'all-MiniLM-L6-v2');
const DATA = process.env.ADAPTERKIT_DATA_DIR ?? join(REPO, '..', 'shared', 'data');
const NAME = 'wikitext'; // adapter and head share the name (Python's convention for flex heads)

const { values: flags } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    max_steps: { type: 'string' },
    num_train_epochs: { type: 'string', default: '3' },
    max_seq_length: { type: 'string', default: '64' },
    batch_size: { type: 'string', default: '8' },
    learning_rate: { type: 'string', default: '3e-3' },
    eval_blocks: { type: 'string' },
    seed: { type: 'string', default: '42' },
    backend: { type: 'string', default: 'auto' },
    output_dir: { type: 'string', default: 'out' },
  },
});

function num(name: keyof typeof flags, fallback: number): number {
  const v = flags[name];
  if (v === undefined || typeof v !== 'string') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number ≥ 0, got '${v}'`);
  return n;
}

/**
 * WikiText-2 here is the tokenized release: "<unk>" for rare words and
 * " @-@ ", " @,@ ", " @.@ " inside hyphenated words and numbers. Undo the
 * joiners and map <unk> to the tokenizer's [UNK] (a special token, so it
 * is never masked or predicted) instead of letting WordPiece split it into
 * "<", "unk", ">".
 */
function detokenize(line: string): string {
  return line.replace(/ @([-,.])@ /g, '$1').replace(/<unk>/g, '[UNK]');
}

/** Sentences whose [MASK] the demo fills, before and after training. */
const FILL_MASK = ['the river flows into the [MASK] sea .', 'he was born in london , [MASK] .', 'the album was released in [MASK] 2009 .'];

/** Top-5 predictions for the [MASK] position of each sentence. */
async function fillMask(model: AdapterModel, tokenizer: HfTokenizer): Promise<string[]> {
  const lines: string[] = [];
  for (const text of FILL_MASK) {
    const enc = tokenizer.encode(text);
    const at = enc.ids.indexOf(tokenizer.maskTokenId!);
    const row = noGrad(() => {
      const inputIds = tensor(Int32Array.from(enc.ids), [1, enc.ids.length], { dtype: 'i32' });
      const logits = model.forward({ inputIds }).logits!; // [1, seq, vocab]
      return narrow(logits, 1, at, 1); // the [MASK] position's scores over the vocabulary
    });
    const scores = await row.data();
    row.dispose();
    const ids = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!).slice(0, 5);
    lines.push(`  ${text.replace('[MASK]', `[${ids.map((i) => tokenizer.idToToken(i)).join(' | ')}]`)}`);
  }
  return lines;
}

/** CPU time of this process (user + system, all threads): less noisy than wall time on a shared machine. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function main(): Promise<void> {
  const backend = await selectBackend(flags.backend!); // the native 'cpu' backend when it builds, else 'cpu-ref'
  console.log(`backend: ${backend.name}${backend.note ? ` (${backend.note})` : ''}; model ${MODEL}`);
  const maxLen = num('max_seq_length', 64);
  const maxSteps = flags.full ? 0 : num('max_steps', 200);
  const evalBlocks = flags.full || flags.eval_blocks === 'all' ? Infinity : num('eval_blocks', 96);
  const outputDir = flags.output_dir!;
  await rm(join(outputDir, 'trainer'), { recursive: true, force: true });

  const model = await AutoAdapterModel.fromPretrained(MODEL, { backend: backend.name, onWarning: () => {} });
  const tokenizer = model.tokenizer as HfTokenizer;

  // all-MiniLM-L6-v2 is a sentence-embedding model: its checkpoint has no MLM head, so the head's transform
  // (Linear + gelu + LayerNorm) and decoder bias start fresh; the decoder *weight* is the frozen word embedding.
  model.addMaskedLMHead(NAME);
  // Add the language adapter, freeze the base model, activate the adapter (Python setup_adapter_training).
  await setupAdapterTraining(model, { trainAdapter: true, adapterConfig: 'seq_bn_inv' }, NAME);
  console.log(model.adapterSummary());
  const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad);
  const count = (pred: (n: string) => boolean): number => trainable.filter(([n]) => pred(n)).reduce((s, [, p]) => s + p.size, 0);
  console.log(`trainable: adapter ${count((n) => !n.startsWith('heads.')).toLocaleString()} + head ${count((n) => n.startsWith('heads.')).toLocaleString()} parameters (the tied decoder weight stays frozen)`);

  // run_mlm.py's default: tokenize every line, concatenate, cut into blocks of maxLen tokens.
  const corpus = async (file: string): Promise<string[]> => (await readLines(join(DATA, 'wikitext-2', file))).map(detokenize);
  const train = mlmFeatures(tokenizer, await corpus('valid.txt'), { maxSeqLength: maxLen });
  const evalAll = mlmFeatures(tokenizer, await corpus('test.txt'), { maxSeqLength: maxLen });
  const evalSet = evalAll.slice(0, Number.isFinite(evalBlocks) ? evalBlocks : undefined);
  console.log(`wikitext-2: ${train.length} training blocks of ${maxLen} tokens (valid.txt), ${evalSet.length} of ${evalAll.length} test blocks for evaluation`);

  const trainer = new AdapterTrainer({
    model,
    args: {
      outputDir: join(outputDir, 'trainer'),
      learningRate: num('learning_rate', 3e-3),
      maxSteps: maxSteps > 0 ? maxSteps : -1,
      numTrainEpochs: num('num_train_epochs', 3),
      perDeviceTrainBatchSize: num('batch_size', 8),
      perDeviceEvalBatchSize: 8,
      warmupRatio: 0.06,
      seed: num('seed', 42),
      saveStrategy: 'no',
      loggingSteps: 20,
    },
    trainDataset: train,
    evalDataset: evalSet,
    // 15% of the non-special tokens are predicted: 80% → [MASK], 10% → random token, 10% unchanged.
    // Evaluation batches are masked with a fixed seed, so "before" and "after" score the same positions.
    dataCollator: mlmCollator({ maskTokenId: tokenizer.maskTokenId!, vocabSize: model.config.vocabSize, padTokenId: tokenizer.padTokenId }),
  });

  const before = await trainer.evaluate();
  console.log(`before: MLM loss ${before.eval_loss!.toFixed(3)}, perplexity ${Math.exp(before.eval_loss!).toFixed(1)}`);
  console.log('fill-mask before training (random head transform):');
  for (const l of await fillMask(model, tokenizer)) console.log(l);

  const t0 = performance.now();
  const c0 = cpuSeconds();
  const result = await trainer.train();
  const trainSeconds = (performance.now() - t0) / 1000;
  const trainCpu = cpuSeconds() - c0;
  const after = await trainer.evaluate();
  console.log(`after ${result.globalStep} steps (${trainSeconds.toFixed(0)} s wall, ${trainCpu.toFixed(0)} s CPU): MLM loss ${after.eval_loss!.toFixed(3)}, perplexity ${Math.exp(after.eval_loss!).toFixed(1)}`);
  console.log('fill-mask after training:');
  for (const l of await fillMask(model, tokenizer)) console.log(l);

  // How much is the adapter's doing? The same trained head with the adapter switched off (base model only).
  model.setActiveAdapters(null);
  const headOnly = await trainer.evaluate(undefined, 'adapter_off');
  model.setActiveAdapters(NAME);
  console.log(`same head, adapter off: MLM loss ${headOnly.adapter_off_loss!.toFixed(3)}, perplexity ${Math.exp(headOnly.adapter_off_loss!).toFixed(1)}`);

  // The language adapter alone (adapter_config.json + adapter.safetensors), ready to stack under a task adapter
  // (setupAdapterTraining({ loadLangAdapter: 'out/adapter' }) or Python's load_adapter); the head goes next to it.
  await model.saveAdapter(join(outputDir, 'adapter'), NAME, { withHead: false });
  await model.saveHead(join(outputDir, 'mlm_head'), NAME);

  const summary = {
    date: new Date().toISOString(),
    backend: backend.name,
    train_blocks: train.length,
    eval_blocks: evalSet.length,
    max_seq_length: maxLen,
    steps: result.globalStep,
    train_seconds: Number(trainSeconds.toFixed(1)),
    train_cpu_seconds: Number(trainCpu.toFixed(1)),
    total_seconds: Number(process.uptime().toFixed(1)),
    total_cpu_seconds: Number(cpuSeconds().toFixed(1)),
    train_loss: Number(result.trainingLoss.toFixed(4)),
    eval_loss_before: Number(before.eval_loss!.toFixed(4)),
    perplexity_before: Number(Math.exp(before.eval_loss!).toFixed(2)),
    eval_loss_after: Number(after.eval_loss!.toFixed(4)),
    perplexity_after: Number(Math.exp(after.eval_loss!).toFixed(2)),
    eval_loss_adapter_off: Number(headOnly.adapter_off_loss!.toFixed(4)),
    perplexity_adapter_off: Number(Math.exp(headOnly.adapter_off_loss!).toFixed(2)),
  };
  await mkdir(outputDir, { recursive: true });
  await writeFile(join(outputDir, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`saved the adapter to ${join(outputDir, 'adapter')}; results in ${join(outputDir, 'results.json')}`);
  trainer.dispose();
  model.dispose();
}

await main();
