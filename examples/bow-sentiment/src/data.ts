import { readFileSync } from 'node:fs';
import { HostRandom } from '@adapterkit/core';

/** One labelled sentence. */
export interface Example {
  text: string;
  label: number;
}

/** Reads the tab-separated `sentence<TAB>label` files of the UCI sentiment set. */
export function readLabelled(path: string): Example[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line, i) => {
      const tab = line.lastIndexOf('\t');
      const label = Number(line.slice(tab + 1));
      if (tab < 0 || (label !== 0 && label !== 1)) throw new Error(`${path}:${i + 1}: expected "sentence<TAB>0|1"`);
      return { text: line.slice(0, tab), label };
    });
}

export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9']+/g) ?? [];
}

/** Splits examples into train and held-out parts after a seeded shuffle. */
export function split(examples: Example[], heldOut: number, seed: number): { train: Example[]; test: Example[] } {
  const shuffled = new HostRandom(seed).shuffle([...examples]);
  const cut = Math.round(shuffled.length * (1 - heldOut));
  return { train: shuffled.slice(0, cut), test: shuffled.slice(cut) };
}

/** Vocabulary of words seen at least `minCount` times in training data. */
export function buildVocab(examples: Example[], minCount: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of examples) for (const w of new Set(tokenize(e.text))) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab = new Map<string, number>();
  for (const [w, c] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) if (c >= minCount) vocab.set(w, vocab.size);
  return vocab;
}

/** Binary bag-of-words features, row-major [examples.length, vocab.size]. */
export function featurize(examples: Example[], vocab: Map<string, number>): Float32Array {
  const x = new Float32Array(examples.length * vocab.size);
  examples.forEach((e, row) => {
    for (const w of tokenize(e.text)) {
      const col = vocab.get(w);
      if (col !== undefined) x[row * vocab.size + col] = 1;
    }
  });
  return x;
}
