import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoAdapterModel, manualSeed, setBackend, type AdapterModel, type HfTokenizer } from '@adapterkit/core';
import { parseTable, rowsToExamples, tokenizeExamples, type Feature } from '../../src/index.js';
import { registerMiniMethod } from './mini-method.js';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(here, '..', 'fixtures');
export const TINY_BERT = join(FIXTURES, 'tiny-bert');

let noDropoutDir: string | undefined;

/** A copy of the fixture whose config.json sets every dropout to 0 (made once per process). */
function noDropoutCopy(): string {
  if (noDropoutDir) return noDropoutDir;
  const dir = mkdtempSync(join(tmpdir(), 'tiny-bert-nodrop-'));
  for (const f of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(TINY_BERT, f), join(dir, f));
  const cfg = JSON.parse(readFileSync(join(TINY_BERT, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }));
  noDropoutDir = dir;
  return dir;
}

/** Removes the temporary no-dropout fixture copy (call from afterAll). */
export function cleanupTinyCopies(): void {
  if (noDropoutDir) rmSync(noDropoutDir, { recursive: true, force: true });
  noDropoutDir = undefined;
}

/** Options of `tinyModel`. */
export interface TinyModelOptions {
  /** Dropout off everywhere (for exact gradient comparisons). */
  noDropout?: boolean;
  seed?: number;
  /** Adapter (and head) name; null adds no adapter (the head is then called 'head'). */
  adapter?: string | null;
  head?: string;
  numLabels?: number;
}

/**
 * The tiny BERT fixture as an AdapterModel on cpu-ref with a test_bn
 * adapter and a classification head (both named 'sst2' by default), ready
 * for trainAdapter. Seeded, so two calls give identical models.
 */
export async function tinyModel(opts: TinyModelOptions = {}): Promise<AdapterModel & { tokenizer: HfTokenizer }> {
  setBackend('cpu-ref');
  registerMiniMethod();
  manualSeed(opts.seed ?? 1);
  const dir = opts.noDropout ? noDropoutCopy() : TINY_BERT;
  const model = (await AutoAdapterModel.fromPretrained(dir, { onWarning: () => {} })) as AdapterModel & { tokenizer: HfTokenizer };
  const name = opts.adapter === undefined ? 'sst2' : opts.adapter;
  if (name !== null) model.addAdapter(name, 'test_bn');
  model.addClassificationHead(opts.head ?? name ?? 'head', { numLabels: opts.numLabels ?? 2 });
  if (name !== null) model.trainAdapter(name);
  return model;
}

/** The first SST-2 rows committed as fixtures, tokenized with the tiny tokenizer. */
export function sst2Features(tokenizer: HfTokenizer, file: 'sst2-train-64.tsv' | 'sst2-dev-32.tsv', maxSeqLength = 32): Feature[] {
  const rows = parseTable(readFileSync(join(FIXTURES, file), 'utf8'), { format: 'tsv' });
  const ex = rowsToExamples(rows, { textColumns: ['sentence', null], labels: ['negative', 'positive'], isRegression: false });
  return tokenizeExamples(tokenizer, ex, { maxSeqLength });
}

/** Host copies of every trainable parameter by name. */
export function trainableSnapshot(model: AdapterModel): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [n, p] of model.namedParameters()) if (p.requiresGrad) out.set(n, Float32Array.from(p.dataSync() as Float32Array));
  return out;
}
