/** The two sentiment tasks of the example, read from the shared data folder. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TextExample } from '@adapterkit/trainer';

/** Deterministic shuffle (mulberry32), so subsets are the same on every run. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** UCI "sentiment labelled sentences" (yelp, amazon, imdb): `sentence<TAB>label` per line, 3000 rows. */
export function readUci(dir: string): TextExample[] {
  const files = ['yelp_labelled.txt', 'amazon_cells_labelled.txt', 'imdb_labelled.txt'];
  return files.flatMap((f) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .map((line) => {
        const tab = line.lastIndexOf('\t');
        return { text: line.slice(0, tab).trim(), label: Number(line.slice(tab + 1)) };
      }),
  );
}

/** Sentence-level SST-2 (`label<TAB>sentence`): train 6920, test 1821 rows. */
export function readSst2(file: string): TextExample[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const tab = line.indexOf('\t');
      return { text: line.slice(tab + 1).trim(), label: Number(line.slice(0, tab)) };
    });
}
