#!/usr/bin/env python3
"""Prediction-head parity fixtures from the Python `adapters` library (flex heads).

Builds a tiny random BertAdapterModel, adds one head of every type the TS port
implements, perturbs every head parameter (so zero biases / unit LayerNorms do not
hide mistakes), and writes to packages/core/test/fixtures/heads/:

  model/config.json, model/model.safetensors   model.save_pretrained(...): base weights
                                               under 'bert.', heads under 'heads.<name>.',
                                               head configs in config.json "prediction_heads"
  head-<name>/head_config.json, model_head.safetensors
                                               model.save_head(dir, name, use_safetensors=True)
  expected.json                                inputs, the base model's last hidden state and
                                               pooled output, and per head: logits (and start/end
                                               logits for QA) and the loss with labels, eval mode

Requirements (a separate venv, because `adapters` pins transformers 4.x):
  python3 -m venv tools/reference/.venv-adapters
  tools/reference/.venv-adapters/bin/pip install torch==2.15.0 transformers==4.57.6 adapters==1.3.0 safetensors
Run: tools/reference/.venv-adapters/bin/python tools/reference/make_head_fixtures.py
Deterministic: torch.manual_seed(0); fixed inputs.
"""
import json
import os
import shutil

import torch

import adapters
import transformers
from adapters import BertAdapterModel
from transformers import BertConfig

from common import CORE_FIXTURES

OUT = os.path.join(CORE_FIXTURES, 'heads')


def tolist(t):
    return t.detach().to(torch.float32).cpu().tolist()


def main():
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=64, type_vocab_size=2, hidden_act='gelu', hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12, initializer_range=0.02, pad_token_id=0,
    )
    model = BertAdapterModel(config)
    model.add_classification_head('cls', num_labels=3, id2label={0: 'neg', 1: 'neu', 2: 'pos'})
    model.add_classification_head('reg', num_labels=1, layers=1, activation_function=None)
    model.add_classification_head('multi', num_labels=4, multilabel=True)
    model.add_classification_head('pooled', num_labels=2, use_pooler=True, activation_function='relu')
    model.add_tagging_head('tag', num_labels=5)
    model.add_multiple_choice_head('mc', num_choices=2)
    model.add_qa_head('qa')
    model.add_masked_lm_head('mlm')
    model.add_causal_lm_head('clm')
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith('heads.') and p is not model.bert.embeddings.word_embeddings.weight:
                p.add_(torch.randn_like(p) * 0.1)
    model.eval()

    input_ids = torch.tensor([[2, 17, 33, 5, 61, 9, 3], [2, 40, 12, 3, 0, 0, 0]])
    attention_mask = (input_ids != 0).long()
    token_type_ids = torch.tensor([[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0]])
    mc_ids = torch.tensor([[[2, 17, 33, 3, 5, 61, 3], [2, 17, 33, 3, 40, 12, 3]], [[2, 9, 9, 3, 7, 8, 3], [2, 9, 9, 3, 0, 0, 0]]])
    mc_mask = (mc_ids != 0).long()
    labels = {
        'cls': torch.tensor([2, 0]),
        'reg': torch.tensor([0.5, -1.25]),
        'multi': torch.tensor([[1, 0, 1, 0], [0, 0, 0, 1]]),
        'pooled': torch.tensor([1, 0]),
        'tag': torch.tensor([[-100, 1, 4, 0, 2, 3, -100], [-100, 2, 2, -100, 1, 1, 1]]),
        'mc': torch.tensor([1, 0]),
        'mlm': torch.tensor([[-100, 17, -100, -100, 61, -100, -100], [-100, -100, 12, -100, -100, -100, -100]]),
        'clm': torch.tensor([[2, 17, 33, 5, 61, 9, 3], [2, 40, 12, 3, -100, -100, -100]]),
    }
    qa_pos = {'start_positions': torch.tensor([1, 9]), 'end_positions': torch.tensor([3, 2])}

    expected = {'inputs': {'input_ids': input_ids.tolist(), 'attention_mask': attention_mask.tolist(),
                           'token_type_ids': token_type_ids.tolist(), 'mc_input_ids': mc_ids.tolist(),
                           'mc_attention_mask': mc_mask.tolist()},
                'labels': {k: v.tolist() for k, v in labels.items()},
                'qa_positions': {k: v.tolist() for k, v in qa_pos.items()}, 'heads': {}}
    with torch.no_grad():
        base = model.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        expected['last_hidden_state'] = tolist(base.last_hidden_state)
        expected['pooled_output'] = tolist(base.pooler_output)
        for head in ['cls', 'reg', 'multi', 'pooled', 'tag', 'mlm', 'clm', 'qa']:
            kw = dict(qa_pos) if head == 'qa' else {'labels': labels[head]}
            out = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, head=head, **kw)
            entry = {'loss': float(out.loss)}
            if head == 'qa':
                entry['start_logits'] = tolist(out.start_logits)
                entry['end_logits'] = tolist(out.end_logits)
            else:
                entry['logits'] = tolist(out.logits)
            expected['heads'][head] = entry
        out = model(input_ids=mc_ids, attention_mask=mc_mask, head='mc', labels=labels['mc'])
        expected['heads']['mc'] = {'loss': float(out.loss), 'logits': tolist(out.logits)}

    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    model.save_pretrained(os.path.join(OUT, 'model'), safe_serialization=True)
    for head in expected['heads']:
        model.save_head(os.path.join(OUT, f'head-{head}'), head, use_safetensors=True)
    expected['meta'] = {'generator': 'tools/reference/make_head_fixtures.py', 'adapters': adapters.__version__,
                        'transformers': transformers.__version__, 'torch': torch.__version__}
    with open(os.path.join(OUT, 'expected.json'), 'w', encoding='utf-8') as f:
        json.dump(expected, f, indent=1)
    static_fixtures()
    print('wrote', OUT)


def static_fixtures():
    """HF static-head checkpoints (save_pretrained of XxxForYyy) and their logits: the TS loader must turn
    them into flex head 'default' with identical outputs. Python adapters' own conversion
    (AutoAdapterModel.from_pretrained) is recorded too, to see where it differs."""
    from adapters import AutoAdapterModel
    from transformers import (BertForMaskedLM, BertForQuestionAnswering, BertForSequenceClassification, LlamaConfig,
                              LlamaForCausalLM, RobertaConfig, RobertaForSequenceClassification)

    bert = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                max_position_embeddings=64, type_vocab_size=2, pad_token_id=0)
    cases = [
        ('BertForSequenceClassification', BertForSequenceClassification,
         BertConfig(**bert, num_labels=3, id2label={0: 'a', 1: 'b', 2: 'c'}, label2id={'a': 0, 'b': 1, 'c': 2})),
        ('BertForMaskedLM', BertForMaskedLM, BertConfig(**bert)),
        ('BertForQuestionAnswering', BertForQuestionAnswering, BertConfig(**bert)),
        ('RobertaForSequenceClassification', RobertaForSequenceClassification,
         RobertaConfig(**{**bert, 'pad_token_id': 1, 'max_position_embeddings': 66, 'type_vocab_size': 1}, num_labels=2)),
        ('LlamaForCausalLM', LlamaForCausalLM,
         LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                     num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=False)),
    ]
    input_ids = torch.tensor([[3, 17, 33, 5, 61, 9, 4], [3, 40, 12, 4, 2, 2, 2]])
    attention_mask = torch.tensor([[1] * 7, [1, 1, 1, 1, 0, 0, 0]])
    expected = {'input_ids': input_ids.tolist(), 'attention_mask': attention_mask.tolist(), 'models': {}}
    for arch, cls, cfg in cases:
        torch.manual_seed(1)
        m = cls(cfg)
        with torch.no_grad():
            for p in m.parameters():
                p.add_(torch.randn_like(p) * 0.02)  # non-zero biases, non-unit norms
        m.eval()
        d = os.path.join(OUT, 'static', arch)
        m.save_pretrained(d, safe_serialization=True)
        with torch.no_grad():
            out = m(input_ids=input_ids, attention_mask=attention_mask)
            entry = {}
            if arch.endswith('QuestionAnswering'):
                entry['start_logits'] = tolist(out.start_logits)
                entry['end_logits'] = tolist(out.end_logits)
            else:
                entry['logits'] = tolist(out.logits)
            flex = AutoAdapterModel.from_pretrained(d)
            flex.eval()
            fo = flex(input_ids=input_ids, attention_mask=attention_mask)
            key = 'start_logits' if 'start_logits' in entry else 'logits'
            entry['python_flex_max_abs_diff'] = float((getattr(fo, key) - getattr(out, key)).abs().max())
            entry['python_flex_head_config'] = flex.heads['default'].config
        expected['models'][arch] = entry
    with open(os.path.join(OUT, 'static', 'expected.json'), 'w', encoding='utf-8') as f:
        json.dump(expected, f, indent=1)


if __name__ == '__main__':
    main()
