import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../src/index.js';
import { HfTokenizer } from '../src/tokenizers/hf-tokenizer.js';
import { truncatedLengths } from '../src/tokenizers/hf-truncation.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tokenizer');

interface Case {
  kind: 'single' | 'pair';
  source: string;
  text: string;
  pair?: string;
  ids: number[];
  token_type_ids: number[];
  decoded: string;
  decoded_skip_special: string;
}
interface Batch {
  pairs?: [string, string][];
  texts?: string[];
  truncation: 'longest_first' | 'only_first' | 'only_second';
  max_length: number;
  padding: 'longest' | 'max_length';
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
}
const fixture = JSON.parse(readFileSync(join(FIX, 'minilm-cases.json'), 'utf8')) as { cases: Case[]; batches: Batch[] };

let tok: HfTokenizer;
beforeAll(async () => {
  setBackend('cpu-ref');
  tok = await HfTokenizer.fromDirectory(FIX);
});

function rows(t: { shape: readonly number[]; dataSync(): ArrayLike<number> }): number[][] {
  const [n, l] = t.shape as [number, number];
  const d = Array.from(t.dataSync());
  return Array.from({ length: n }, (_, i) => d.slice(i * l, (i + 1) * l));
}

describe('HfTokenizer (all-MiniLM-L6-v2 WordPiece) vs HF transformers', () => {
  it('has the expected special ids', () => {
    expect(tok.padTokenId).toBe(0);
    expect(tok.unkTokenId).toBe(100);
    expect(tok.maskTokenId).toBe(103);
    expect(tok.vocabSize).toBe(30522);
  });

  it('encodes real sentences, tweets, pairs and edge cases with identical ids', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(70);
    const bad: string[] = [];
    for (const c of fixture.cases) {
      const e = tok.encode(c.text, c.pair);
      if (JSON.stringify(e.ids) !== JSON.stringify(c.ids)) bad.push(`${c.source}: ${JSON.stringify(c.text).slice(0, 60)}`);
      expect(e.tokenTypeIds).toEqual(c.token_type_ids);
      expect(e.attentionMask).toEqual(c.ids.map(() => 1));
    }
    expect(bad).toEqual([]);
  });

  it('decodes like transformers (with and without special tokens)', () => {
    for (const c of fixture.cases) {
      expect(tok.decode(c.ids)).toBe(c.decoded);
      expect(tok.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decoded_skip_special);
    }
    expect(tok.decode([])).toBe('');
    expect(tok.decode(tok.encode("don't").ids, { cleanUpTokenizationSpaces: true })).toBe("[CLS] don't [SEP]");
  });

  it('pads and truncates batches exactly as transformers (longest_first, only_first, only_second)', () => {
    for (const b of fixture.batches) {
      const inputs = b.pairs ?? b.texts!;
      const enc = tok.encodeBatch(inputs, { maxLength: b.max_length, truncation: b.truncation, padding: b.padding });
      expect(enc.inputIds.dtype).toBe('i32');
      expect(rows(enc.inputIds)).toEqual(b.input_ids);
      expect(rows(enc.attentionMask)).toEqual(b.attention_mask);
      expect(rows(enc.tokenTypeIds)).toEqual(b.token_type_ids);
      for (const t of [enc.inputIds, enc.attentionMask, enc.tokenTypeIds]) t.dispose();
    }
  });

  it('pads on the left on request and to a multiple', () => {
    const enc = tok.encodeBatch(['a b c d', 'a'], { paddingSide: 'left', padToMultipleOf: 8 });
    expect(enc.inputIds.shape).toEqual([2, 8]);
    const [r0, r1] = rows(enc.inputIds);
    expect(r1!.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(r1!.slice(5)).toEqual(tok.encode('a').ids);
    expect(r0!.slice(2)).toEqual(tok.encode('a b c d').ids);
    expect(rows(enc.attentionMask)[1]).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
  });

  it('reports unusable options clearly', () => {
    expect(() => tok.encodeBatch(['a', 'a b'], { padding: false })).toThrow(/different lengths/);
    expect(() => tok.encode('a b c', 'd e', { maxLength: 2 })).toThrow(/no room/);
    expect(() => truncatedLengths(10, 30, 20, 'only_first')).toThrow(/cannot fit/);
    expect(truncatedLengths(10, 30, 20, 'longest_first')).toEqual([10, 10]);
    expect(truncatedLengths(5, 30, 20, 'longest_first')).toEqual([5, 15]);
    expect(truncatedLengths(30, 30, 21, 'longest_first')).toEqual([10, 11]);
    return expect(HfTokenizer.fromFile('/nonexistent/tokenizer.json')).rejects.toThrow(/\/nonexistent\/tokenizer.json/);
  });
});
