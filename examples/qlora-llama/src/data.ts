import { readFileSync } from 'node:fs';
import { tensor, type Tensor } from '@adapterkit/core';

/** What the examples need from a tokenizer. */
export interface Tokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
}

/** Token ids of a text, without special tokens. */
export function tokenize(tok: Tokenizer, text: string): number[] {
  return tok.encode(text, { addSpecialTokens: false });
}

/** The BOS id the tokenizer adds. */
export function bosId(tok: Tokenizer): number {
  const ids = tok.encode('', { addSpecialTokens: true });
  if (ids.length !== 1) throw new Error(`expected the empty text to encode to [BOS], got [${ids.join(', ')}]`);
  return ids[0]!;
}

/** A text file's characters [start, end). */
export function readSlice(path: string, start: number, end: number): string {
  return readFileSync(path, 'utf8').slice(start, end);
}

/** Non-overlapping windows of `len` tokens, each starting with BOS (as every pre-training sequence did); the last partial one is dropped. */
export function windows(ids: number[], len: number, bos: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + len - 1 <= ids.length; i += len - 1) out.push([bos, ...ids.slice(i, i + len - 1)]);
  return out;
}

/** Seeded shuffle (mulberry32), so runs are reproducible. */
export function shuffled<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** A [batch, len] i32 tensor of windows. */
export function batchTensor(rows: number[][]): Tensor {
  return tensor(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'i32' });
}
