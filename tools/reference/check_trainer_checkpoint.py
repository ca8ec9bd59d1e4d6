#!/usr/bin/env python3
"""Checks that a checkpoint written by @adapterkit/trainer loads in Python.

Requirements (pip, into tools/reference/.venv-adapters):
    torch transformers adapters safetensors
Made with: torch 2.15.0, transformers 4.57.6, adapters 1.3.0.

Run from the repository root after `pnpm build` (needs the built CLI):
    tools/reference/.venv-adapters/bin/python tools/reference/check_trainer_checkpoint.py

It (1) trains a seq_bn adapter + classification head on the tiny BERT test
fixture with `adapterkit train-glue` (4 steps, checkpoint every 2, seed 3),
(2) prints the TS logits of checkpoint-4/sst2 for three sentences
(packages/trainer/scripts/checkpoint-logits.ts), (3) builds BertAdapterModel
from the same fixture in Python, runs load_adapter(checkpoint-4/sst2,
use_safetensors=True) (adapter and head), and compares logits: max |Δ| must
be below 1e-5.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file
from transformers import BertConfig

from adapters import BertAdapterModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fixtures_dir, package_dir, run_typescript  # noqa: E402

PKG = package_dir("trainer")
TINY = fixtures_dir("trainer") / "tiny-bert"


def main():
    out = tempfile.mkdtemp(prefix="trainer-ckpt-")
    cli = [
        "node", os.path.join(PKG, "dist/cli.js"), "train-glue", "--model_name_or_path", TINY, "--task_name", "sst2",
        "--train_file", os.path.join(PKG, "test/fixtures/sst2-train-64.tsv"), "--do_train", "--train_adapter",
        "--adapter_config", "seq_bn", "--max_steps", "4", "--save_steps", "2", "--per_device_train_batch_size", "16",
        "--learning_rate", "5e-3", "--seed", "3", "--backend", "cpu-ref", "--disable_tqdm", "--output_dir", out,
    ]
    subprocess.run(cli, check=True, stdout=subprocess.DEVNULL)
    ckpt = os.path.join(out, "checkpoint-4", "sst2")
    print("checkpoint files:", sorted(os.listdir(os.path.join(out, "checkpoint-4"))), sorted(os.listdir(ckpt)))
    ts = json.loads(run_typescript("trainer", "scripts/checkpoint-logits.ts", TINY, ckpt, capture=True).strip().splitlines()[-1])

    with open(os.path.join(TINY, "config.json")) as f:
        config = BertConfig(**json.load(f))
    model = BertAdapterModel(config)
    base = load_file(os.path.join(TINY, "model.safetensors"))
    missing, unexpected = model.bert.load_state_dict(base, strict=False)
    assert not unexpected, unexpected
    name = model.load_adapter(ckpt, use_safetensors=True, set_active=True)
    model.eval()
    ids = ts["input_ids"]
    width = max(len(r) for r in ids)
    input_ids = torch.tensor([r + [0] * (width - len(r)) for r in ids])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in ids])
    with torch.no_grad():
        logits = model(input_ids=input_ids, attention_mask=mask, token_type_ids=torch.zeros_like(input_ids)).logits
    py = logits.flatten().tolist()
    diff = max(abs(a - b) for a, b in zip(py, ts["logits"]))
    print(f"loaded adapter '{name}', active head {model.active_head}; logits TS {ts['logits']}\n  Python {py}\n  max |Δ| = {diff:.3e}")
    if diff > 1e-5:
        sys.exit("MISMATCH")


if __name__ == "__main__":
    main()
