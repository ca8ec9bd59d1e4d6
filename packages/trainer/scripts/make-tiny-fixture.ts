/**
 * Builds test/fixtures/tiny-bert/: the tiny BERT of core's tests (hidden 32,
 * 2 layers, vocab 99: config.json + model.safetensors copied from
 * packages/core/test/fixtures/bert/bert) and a WordPiece tokenizer for it —
 * all-MiniLM-L6-v2's tokenizer.json with the vocabulary replaced by the 5
 * special tokens and the 94 most frequent words of the first 2000 SST-2
 * training sentences (ties broken alphabetically), so real text maps onto
 * the 99 ids. Deterministic; run with `npx tsx scripts/make-tiny-fixture.ts`.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const out = join(here, '..', 'test', 'fixtures', 'tiny-bert');
const coreFixture = join(root, 'packages', 'core', 'test', 'fixtures', 'bert', 'bert');
const minilm = join(root, 'models', 'all-MiniLM-L6-v2');
const sst2 = process.env.SST2_TRAIN ?? '/work/shared/data/alps/SST-2/train.tsv';

mkdirSync(out, { recursive: true });
copyFileSync(join(coreFixture, 'config.json'), join(out, 'config.json'));
copyFileSync(join(coreFixture, 'model.safetensors'), join(out, 'model.safetensors'));

const lines = readFileSync(sst2, 'utf8').split('\n').slice(1, 2001);
const counts = new Map<string, number>();
for (const l of lines) {
  const sentence = l.split('\t')[0] ?? '';
  for (const w of sentence.toLowerCase().split(/\s+/)) if (/^[a-z']+$/.test(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
}
const words = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 94).map(([w]) => w);
const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const vocab: Record<string, number> = {};
[...specials, ...words].forEach((t, i) => (vocab[t] = i));

const tok = JSON.parse(readFileSync(join(minilm, 'tokenizer.json'), 'utf8'));
tok.model.vocab = vocab;
tok.added_tokens = specials.map((content, id) => ({ id, special: true, content, single_word: false, lstrip: false, rstrip: false, normalized: false }));
tok.post_processor.special_tokens['[CLS]'].ids = [vocab['[CLS]']];
tok.post_processor.special_tokens['[SEP]'].ids = [vocab['[SEP]']];
tok.truncation = null;
tok.padding = null;
writeFileSync(join(out, 'tokenizer.json'), `${JSON.stringify(tok, null, 1)}\n`);
const cfg = JSON.parse(readFileSync(join(minilm, 'tokenizer_config.json'), 'utf8'));
cfg.model_max_length = 64;
cfg.name_or_path = 'adapterkit/tiny-bert-test';
writeFileSync(join(out, 'tokenizer_config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
console.log(`wrote ${out}: ${Object.keys(vocab).length} tokens`);
