"""Loads the adapters + heads that `pnpm start` saved into the Python `adapters` library
and checks that Python gives the same predictions and the same dev-set metrics.

Requirements (the repository's reference environment has them):
    pip install adapters==1.3.0 transformers torch safetensors
Run from the repository root after the example:
    tools/reference/.venv-adapters/bin/python examples/glue-task-adapter/scripts/load_in_python.py [examples/glue-task-adapter/out]

all-MiniLM-L6-v2's model.safetensors is F16; it is upcast to F32 before loading, as
the TypeScript loader does. Deterministic (eval mode, no sampling); CPU only.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import torch
from adapters import BertAdapterModel
from safetensors.torch import load_file
from transformers import BertConfig, BertTokenizerFast

ROOT = Path(__file__).resolve().parents[3]
MODEL = ROOT / "models" / "all-MiniLM-L6-v2"
DATA = ROOT.parent / "shared" / "data"
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "glue-task-adapter" / "out"


def load_model() -> BertAdapterModel:
    config = BertConfig.from_pretrained(MODEL)
    model = BertAdapterModel(config)
    weights = {k: v.to(torch.float32) for k, v in load_file(MODEL / "model.safetensors").items()}
    missing, unexpected = model.bert.load_state_dict(weights, strict=False)
    assert not [k for k in missing if "adapter" not in k and "prompt_tuning" not in k], missing
    model.eval()
    return model


def dev_rows(task: str) -> tuple[list[tuple[str, str | None]], list[int]]:
    """The dev split as the TypeScript reader sees it (tab-separated, no quoting; malformed MRPC rows skipped)."""
    if task == "sst2":
        path, cols, label = DATA / "alps" / "SST-2" / "test.tsv", ("sentence", None), "label"
    else:
        path, cols, label = DATA / "glue" / "MRPC" / "msr_paraphrase_test.txt", ("#1 String", "#2 String"), "Quality"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].lstrip("\u00ef\u00bb\u00bf").split("\t")
    texts, labels = [], []
    for line in lines[1:]:
        fields = line.split("\t")
        if len(fields) != len(header) or line == "":
            continue
        row = dict(zip(header, fields))
        texts.append((row[cols[0]], row[cols[1]] if cols[1] else None))
        labels.append(int(row[label]))
    return texts, labels


@torch.no_grad()
def predict(model, tokenizer, inputs: list[tuple[str, str | None]], max_len: int) -> torch.Tensor:
    probs = []
    for i in range(0, len(inputs), 64):
        chunk = inputs[i : i + 64]
        a = [t for t, _ in chunk]
        b = [p for _, p in chunk] if chunk[0][1] is not None else None
        enc = tokenizer(a, b, truncation=True, max_length=max_len, padding=True, return_tensors="pt")
        probs.append(torch.softmax(model(**enc).logits, -1))
    return torch.cat(probs)


def main() -> None:
    torch.manual_seed(0)
    summary = json.loads((OUT / "results.json").read_text())
    tokenizer = BertTokenizerFast.from_pretrained(MODEL)
    for r in summary["results"]:
        task, adapter_dir = r["task"], Path(r["adapter_dir"])
        if not adapter_dir.is_absolute():
            adapter_dir = OUT.parent / adapter_dir
        model = load_model()
        model.load_adapter(str(adapter_dir), use_safetensors=True, set_active=True)  # loads the head saved beside it, too
        demo = [(d["text"], d.get("pair")) for d in r["demo"]]
        py = predict(model, tokenizer, demo, r["max_seq_length"])
        ts = torch.tensor([d["probabilities"] for d in r["demo"]])
        texts, labels = dev_rows(task)
        preds = predict(model, tokenizer, texts, r["max_seq_length"]).argmax(-1)
        y = torch.tensor(labels)
        acc = (preds == y).float().mean().item()
        tp = ((preds == 1) & (y == 1)).sum().item()
        f1 = 2 * tp / max(1, (preds == 1).sum().item() + (y == 1).sum().item())
        line = f"{task}: demo max |Δp| {float((py - ts).abs().max()):.2e}; dev accuracy Python {acc:.4f} vs TypeScript {r['eval_accuracy']:.4f}"
        if "eval_f1" in r:
            line += f", F1 {f1:.4f} vs {r['eval_f1']:.4f}"
        print(line + f" ({len(labels)} examples)")


if __name__ == "__main__":
    main()
