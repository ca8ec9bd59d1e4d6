import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  IGNORE_INDEX,
  batchesOf,
  epochOrder,
  inferLabels,
  inferTextColumns,
  loadGlueSplit,
  mlmCollator,
  mlmFeatures,
  paddingCollator,
  parseDelimited,
  parseTable,
  rowsToExamples,
  tokenizeExamples,
  disposeBatch,
} from '../src/index.js';
import { HfTokenizer, setBackend } from '@adapterkit/core';
import { TINY_BERT } from './helpers/tiny.js';

setBackend('cpu-ref');
const SHARED = '/work/shared/data';

describe('delimited and JSON readers', () => {
  it('CSV: quoted fields with delimiters, doubled quotes and newlines; CRLF; BOM', () => {
    const text = '\uFEFFa,b,label\r\n"x, y","say ""hi""",1\r\n"two\nlines",plain,0\r\n';
    expect(parseDelimited(text, { delimiter: ',' })).toEqual([['a', 'b', 'label'], ['x, y', 'say "hi"', '1'], ['two\nlines', 'plain', '0']]);
    expect(parseTable(text, { format: 'csv' })).toEqual([{ a: 'x, y', b: 'say "hi"', label: '1' }, { a: 'two\nlines', b: 'plain', label: '0' }]);
  });
  it('an unterminated quote names its line', () => {
    expect(() => parseDelimited('a\n"b\nc', { delimiter: ',' })).toThrow(/line 2 is never closed/);
  });
  it('TSV keeps quotes literally (GLUE QUOTE_NONE) and strips the BOM of the header', () => {
    const rows = parseTable('\uFEFFQuality\tsentence\n1\the said "no\n', { format: 'tsv' });
    expect(parseTable('\u00ef\u00bb\u00bfQuality\n1\n', { format: 'tsv' })).toEqual([{ Quality: '1' }]);
    expect(rows).toEqual([{ Quality: '1', sentence: 'he said "no' }]);
  });
  it('header-less files need column names; bad rows error or are skipped', () => {
    expect(parseTable('a b\t1\nc\t0\n', { format: 'tsv', header: false, columnNames: ['sentence', 'label'] })).toEqual([{ sentence: 'a b', label: '1' }, { sentence: 'c', label: '0' }]);
    expect(() => parseTable('x\ty\n1\n', { format: 'tsv' })).toThrow(/row 2 has 1 fields, expected 2/);
    expect(parseTable('x\ty\n1\n2\t3\n', { format: 'tsv', onBadRow: 'skip' })).toEqual([{ x: '2', y: '3' }]);
  });
  it('JSON Lines and JSON', () => {
    expect(parseTable('{"s":"a","label":1}\n\n{"s":"b","label":0}\n', { format: 'jsonl' })).toEqual([{ s: 'a', label: 1 }, { s: 'b', label: 0 }]);
    expect(() => parseTable('{"s":1}\n[1]\n', { format: 'jsonl', source: 'f.jsonl' })).toThrow(/f\.jsonl:2: each line must be a JSON object/);
    expect(parseTable('{"data":[{"s":"a"}]}', { format: 'json' })).toEqual([{ s: 'a' }]);
  });
  it('run_glue column and label inference for custom files', () => {
    expect(inferTextColumns(['sentence1', 'label', 'sentence2'])).toEqual(['sentence1', 'sentence2']);
    expect(inferTextColumns(['q', 'label', 'a', 'idx'])).toEqual(['q', 'a']);
    expect(inferTextColumns(['text', 'label'])).toEqual(['text', null]);
    expect(inferLabels([{ label: '1' }, { label: '0' }, { label: '1' }])).toEqual({ labels: ['0', '1'], isRegression: false });
    expect(inferLabels([{ label: '3.2' }, { label: '1' }])).toEqual({ labels: [], isRegression: true });
    const ex = rowsToExamples([{ t: 'x', label: 'neutral' }, { t: 'y', label: '2' }, { t: 'z', label: '-1' }], { textColumns: ['t', null], labels: ['entailment', 'neutral', 'contradiction'], isRegression: false });
    expect(ex.map((e) => e.label)).toEqual([1, 2, null]);
    expect(() => rowsToExamples([{ t: 'x', label: 'maybe' }], { textColumns: ['t', null], labels: ['a', 'b'], isRegression: false })).toThrow(/row 1: label 'maybe'/);
  });
});

describe.skipIf(!existsSync(SHARED))('GLUE files in the shared data', () => {
  it('MRPC (BOM, renamed columns), SST-2, RTE, CoLA (no header)', async () => {
    const mrpc = await loadGlueSplit('mrpc', 'train', SHARED, 3);
    expect(mrpc[0]).toMatchObject({ label: 1 });
    expect(mrpc[0]!.text).toMatch(/^Amrozi accused his brother/);
    expect(mrpc[0]!.textPair).toMatch(/^Referring to him as only/);
    const sst2 = await loadGlueSplit('sst2', 'validation', SHARED, 2);
    expect(sst2[0]).toEqual({ text: "it 's a charming and often affecting journey . ", label: 1 });
    const rte = await loadGlueSplit('rte', 'test', SHARED, 2);
    expect(rte[0]!.label).toBeNull();
    const cola = await loadGlueSplit('cola', 'validation', SHARED, 1);
    expect(cola[0]).toEqual({ text: 'somebody just left guess who', label: 1 });
    await expect(loadGlueSplit('qnli', 'train', SHARED)).rejects.toThrow(/no files for GLUE task 'qnli'/);
  });
});

describe('tokenization and collators', async () => {
  const tok = await HfTokenizer.fromDirectory(TINY_BERT);
  it('tokenizes pairs with truncation to maxSeqLength', () => {
    const [f] = tokenizeExamples(tok, [{ text: 'the movie is a good film and the story', textPair: 'a bad movie , the worst', label: 1 }], { maxSeqLength: 10 });
    expect(f!.inputIds).toHaveLength(10);
    expect(f!.inputIds[0]).toBe(tok.tokenToId('[CLS]'));
    expect(f!.tokenTypeIds).toContain(1);
    expect(f!.label).toBe(1);
  });
  it('pads dynamically to the longest in the batch', () => {
    const b = paddingCollator({ padTokenId: 0 })([{ inputIds: [2, 7, 3], tokenTypeIds: [0, 0, 0], label: 1 }, { inputIds: [2, 3], tokenTypeIds: [0, 0], label: 0 }], { seed: 0 });
    expect(b.inputs.inputIds.shape).toEqual([2, 3]);
    expect(Array.from(b.inputs.inputIds.dataSync())).toEqual([2, 7, 3, 2, 3, 0]);
    expect(Array.from(b.inputs.attentionMask!.dataSync())).toEqual([1, 1, 1, 1, 1, 0]);
    expect(b.inputs.labels!.dtype).toBe('i32');
    expect(b.tokens).toBe(5);
    disposeBatch(b);
    const r = paddingCollator({ regression: true, padToMultipleOf: 4 })([{ inputIds: [2, 3], label: 3.5 }], { seed: 0 });
    expect(r.inputs.inputIds.shape).toEqual([1, 4]);
    expect(r.inputs.labels!.dtype).toBe('f32');
    expect(r.inputs.tokenTypeIds).toBeUndefined();
  });
});

describe('epoch order', () => {
  it('is a seeded permutation, different per epoch, reproducible', () => {
    const a = epochOrder(50, { seed: 3, epoch: 0 });
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(epochOrder(50, { seed: 3, epoch: 0 })).toEqual(a);
    expect(epochOrder(50, { seed: 3, epoch: 1 })).not.toEqual(a);
    expect(epochOrder(50, { seed: 4, epoch: 0 })).not.toEqual(a);
    expect(epochOrder(5, { seed: 3, epoch: 0, shuffle: false })).toEqual([0, 1, 2, 3, 4]);
  });
  it('length grouping sorts each shuffled chunk longest first', () => {
    const lengths = Array.from({ length: 40 }, (_, i) => (i * 7) % 23);
    const order = epochOrder(40, { seed: 1, epoch: 0, lengths, chunkSize: 10 });
    for (let c = 0; c < 40; c += 10) {
      const l = order.slice(c, c + 10).map((i) => lengths[i]!);
      expect(l).toEqual([...l].sort((x, y) => y - x));
    }
    expect(new Set(order.slice(0, 10))).toEqual(new Set(epochOrder(40, { seed: 1, epoch: 0 }).slice(0, 10)));
  });
  it('batches: last one short unless dropped', () => {
    expect(batchesOf([0, 1, 2, 3, 4], 2)).toEqual([[0, 1], [2, 3], [4]]);
    expect(batchesOf([0, 1, 2, 3, 4], 2, true)).toEqual([[0, 1], [2, 3]]);
  });
});

describe('MLM collator', async () => {
  const tok = await HfTokenizer.fromDirectory(TINY_BERT);
  const mask = tok.maskTokenId!;
  it('masks ~15% of real tokens (80% [MASK], 10% random, 10% kept), never special tokens or padding; labels -100 elsewhere; seeded', () => {
    const feats = Array.from({ length: 200 }, (_, i) => {
      const len = 20 + (i % 30);
      const ids = [2, ...Array.from({ length: len - 2 }, (_, j) => 5 + ((i * 31 + j * 17) % 94)), 3];
      return { inputIds: ids, specialTokensMask: ids.map((_, j) => (j === 0 || j === len - 1 ? 1 : 0)) };
    });
    const collate = mlmCollator({ maskTokenId: mask, vocabSize: 99, padTokenId: 0 });
    const b = collate(feats, { seed: 123 });
    const [n, len] = b.inputs.inputIds.shape as [number, number];
    const ids = b.inputs.inputIds.dataSync();
    const labels = b.inputs.labels!.dataSync();
    let real = 0;
    let selected = 0;
    let masked = 0;
    let kept = 0;
    for (let r = 0; r < n; r++) {
      const f = feats[r]!;
      for (let j = 0; j < len; j++) {
        const k = r * len + j;
        if (j >= f.inputIds.length || f.specialTokensMask[j] === 1) {
          expect(labels[k]).toBe(IGNORE_INDEX);
          expect(ids[k]).toBe(j >= f.inputIds.length ? 0 : f.inputIds[j]);
          continue;
        }
        real++;
        if (labels[k] === IGNORE_INDEX) {
          expect(ids[k]).toBe(f.inputIds[j]);
          continue;
        }
        selected++;
        expect(labels[k]).toBe(f.inputIds[j]);
        if (ids[k] === mask) masked++;
        else if (ids[k] === f.inputIds[j]) kept++;
      }
    }
    const rate = selected / real;
    expect(rate).toBeGreaterThan(0.13);
    expect(rate).toBeLessThan(0.17);
    expect(masked / selected).toBeGreaterThan(0.75);
    expect(masked / selected).toBeLessThan(0.85);
    // Kept = the 10% "unchanged" plus random draws that hit the same id.
    expect(kept / selected).toBeGreaterThan(0.06);
    expect(kept / selected).toBeLessThan(0.15);
    const again = collate(feats, { seed: 123 });
    expect(Array.from(again.inputs.inputIds.dataSync())).toEqual(Array.from(ids));
    const other = collate(feats, { seed: 124 });
    expect(Array.from(other.inputs.labels!.dataSync())).not.toEqual(Array.from(labels));
    for (const x of [b, again, other]) disposeBatch(x);
  });
  it('mlmFeatures: grouped blocks or line by line, with special-token masks', () => {
    const lines = ['the movie is good', '', 'a bad film and the story is the worst', 'it is funny'];
    const grouped = mlmFeatures(tok, lines, { maxSeqLength: 8 });
    expect(grouped.every((f) => f.inputIds.length === 8)).toBe(true);
    expect(grouped[0]!.specialTokensMask![0]).toBe(1);
    const byLine = mlmFeatures(tok, lines, { maxSeqLength: 6, lineByLine: true });
    expect(byLine).toHaveLength(3);
    expect(byLine[1]!.inputIds).toHaveLength(6);
    expect(byLine[1]!.specialTokensMask).toEqual([1, 0, 0, 0, 0, 1]);
  });
});
