/** Fetching the model and SST-2 from the dev/preview server (see repo-files.ts), and batching. */
import { tensor, type HfTokenizer, type Tensor } from '@adapterkit/core';

/** Fetches a served file as bytes; a failed request names the URL and the server's reason. */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${res.statusText} — ${(await res.text()).slice(0, 300)}`);
  return new Uint8Array(await res.arrayBuffer());
}

export interface Example {
  text: string;
  label: number;
}

/** Reads a GLUE-style TSV with a header (`sentence<TAB>label`): the first `limit` rows. */
export function parseSst2(tsv: string, limit: number, source: string): Example[] {
  const lines = tsv.split(/\r?\n/);
  const header = lines[0]!.split('\t');
  const ti = header.indexOf('sentence');
  const li = header.indexOf('label');
  if (ti < 0 || li < 0) throw new Error(`${source}: expected the columns 'sentence' and 'label', got ${header.join(', ')}`);
  const out: Example[] = [];
  for (let i = 1; i < lines.length && out.length < limit; i++) {
    if (!lines[i]) continue;
    const cols = lines[i]!.split('\t');
    const label = Number(cols[li]);
    if (label !== 0 && label !== 1) throw new Error(`${source}:${i + 1}: label '${cols[li]}' is not 0 or 1`);
    out.push({ text: cols[ti]!.trim(), label });
  }
  return out;
}

/** A deterministic PRNG (mulberry32) for the data order. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Batches of example indices for `steps` steps: a fresh seeded shuffle per pass over the data. */
export function batchOrder(n: number, batch: number, steps: number, seed: number): number[][] {
  const rand = rng(seed);
  const out: number[][] = [];
  let order: number[] = [];
  while (out.length < steps) {
    if (order.length < batch) {
      const perm = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      order = order.concat(perm);
    }
    out.push(order.splice(0, batch));
  }
  return out;
}

/** Model inputs for a batch: padded to its longest row (at most `maxLen` tokens). */
export interface Batch {
  inputIds: Tensor;
  attentionMask: Tensor;
  tokenTypeIds: Tensor;
  labels?: Tensor;
}

export function encodeBatch(tokenizer: HfTokenizer, examples: readonly Example[], maxLen: number, withLabels: boolean): Batch {
  const enc = tokenizer.encodeBatch(examples.map((e) => e.text), { maxLength: maxLen, padding: 'longest' });
  const batch: Batch = { inputIds: enc.inputIds, attentionMask: enc.attentionMask, tokenTypeIds: enc.tokenTypeIds };
  if (withLabels) batch.labels = tensor(Int32Array.from(examples, (e) => e.label), [examples.length], { dtype: 'i32' });
  return batch;
}
