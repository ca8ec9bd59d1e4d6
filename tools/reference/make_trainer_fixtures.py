#!/usr/bin/env python3
"""Parity fixture for @adapterkit/trainer: what Python's AdapterTrainer puts
in each AdamW parameter group, and HF's learning-rate schedules.

Requirements (pip, into tools/reference/.venv-adapters):
    torch transformers adapters safetensors accelerate
Made with: torch 2.15.0, transformers 4.57.6, adapters 1.3.0.

Run from the repository root:
    tools/reference/.venv-adapters/bin/python tools/reference/make_trainer_fixtures.py

Writes packages/trainer/test/fixtures/hf_trainer_reference.json:
  param_groups: {decay: [...], no_decay: [...]} — trainable parameter names
      in the two groups of AdapterTrainer.create_optimizer(), for a
      BertAdapterModel (the tiny BERT config of packages/core/test/fixtures/bert/bert)
      with a seq_bn adapter 'sst2', a classification head 'sst2', after
      train_adapter('sst2'); weight_decay 0.01.
  schedules: {linear, cosine, constant, constant_with_warmup}: the lr of
      get_scheduler(name, warmup 2, total 10) at steps 0..10 (base lr 1).
Seeded (torch.manual_seed(0)); nothing random ends up in the file.
"""
import json
import tempfile

import torch
from transformers import BertConfig, TrainingArguments, get_scheduler

import adapters
from adapters import AdapterTrainer, BertAdapterModel

from common import TINY_BERT, fixtures_dir, write_json

CONFIG = TINY_BERT / "config.json"
OUT = fixtures_dir("trainer") / "hf_trainer_reference.json"


def param_groups():
    torch.manual_seed(0)
    with open(CONFIG) as f:
        config = BertConfig(**json.load(f))
    model = BertAdapterModel(config)
    model.add_adapter("sst2", config="seq_bn")
    model.add_classification_head("sst2", num_labels=2)
    model.train_adapter("sst2")
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, weight_decay=0.01, report_to=[], use_cpu=True)
        trainer = AdapterTrainer(model=model, args=args)
        opt = trainer.create_optimizer()
    names = {id(p): n for n, p in model.named_parameters()}
    groups = {}
    for g in opt.param_groups:
        key = "decay" if g["weight_decay"] > 0 else "no_decay"
        groups[key] = [names[id(p)] for p in g["params"]]
    return groups


def schedules():
    out = {}
    for name in ["linear", "cosine", "constant", "constant_with_warmup"]:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=1.0)
        sched = get_scheduler(name, opt, num_warmup_steps=2, num_training_steps=10)
        lrs = []
        for _ in range(11):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        out[name] = lrs
    return out


def main():
    data = {"adapters_version": adapters.__version__, "param_groups": param_groups(), "schedules": schedules()}
    write_json(OUT, data, indent=1)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
