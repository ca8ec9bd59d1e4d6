/**
 * Run settings from the page's query string, e.g.
 * `?steps=40&train=256&maxLen=32&batch=8&eval=64&seed=1` for a short check.
 * The defaults are the demo: about 2,000 SST-2 phrases, 300 steps of 16,
 * LoRA (r=8) on the attention queries and values plus a 2-layer head.
 */
export interface RunParams {
  /** Optimizer steps. */
  steps: number;
  /** Training examples: the first N rows of SST-2's train split, shuffled each epoch. */
  train: number;
  /** Examples per step. */
  batch: number;
  /** Longest tokenized input ([CLS] and [SEP] included); batches are padded to their longest row. */
  maxLen: number;
  /** Peak learning rate (linear warmup over `warmup` steps, then linear decay to 0). */
  lr: number;
  warmup: number;
  /** Dev examples to evaluate (the first N of GLUE's SST-2 dev set, 872 in all). */
  eval: number;
  /** Seeds adapter/head initialisation, dropout and the data order. */
  seed: number;
  /** Adapter config string, e.g. `lora`, `lora[r=16,alpha=32]`, `seq_bn`. */
  adapter: string;
}

export const DEFAULTS: RunParams = { steps: 300, train: 2000, batch: 16, maxLen: 64, lr: 2e-3, warmup: 18, eval: 872, seed: 42, adapter: 'lora' };

/** Reads the settings from `search` (location.search); unknown keys are errors so typos do not go unnoticed. */
export function parseParams(search: string): RunParams {
  const q = new URLSearchParams(search);
  const out: RunParams = { ...DEFAULTS };
  for (const [key, value] of q) {
    if (!(key in DEFAULTS)) throw new Error(`unknown query parameter '${key}'; known: ${Object.keys(DEFAULTS).join(', ')}`);
    const k = key as keyof RunParams;
    if (k === 'adapter') {
      out.adapter = value;
      continue;
    }
    const n = Number(value);
    const integer = k !== 'lr';
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)) || (k !== 'warmup' && k !== 'seed' && n === 0)) {
      throw new Error(`query parameter ${key}=${value}: expected a ${integer ? 'whole' : 'positive'} number`);
    }
    (out[k] as number) = n;
  }
  if (!q.has('warmup')) out.warmup = Math.round(out.steps * 0.06);
  return out;
}
