#!/usr/bin/env python3
"""Parity fixtures for @adapterkit/composition (Parallel, BatchSplit, Split, Average,
Fuse / AdapterFusion, nested setups, multi-head outputs) from the Python `adapters` library.

Requirements (pip, into tools/reference/.venv-adapters):
    adapters==1.3.0 transformers==4.57.6 torch safetensors tokenizers
Made with: adapters 1.3.0, transformers 4.57.6, torch 2.15.0 (CPU), safetensors 0.8.0.

Run from the repository root:
    tools/reference/.venv-adapters/bin/python tools/reference/make_composition_fixtures.py

Inputs (nothing is downloaded):
  models/all-MiniLM-L6-v2/                      MiniLM (F16 weights, upcast to F32), eager attention
  packages/core/test/fixtures/bert/bert/        the random tiny BERT (hidden 32, 2 layers)
  packages/core/test/fixtures/llama/tiny-tied/  the random tiny Llama (hidden 32, 2 layers)

Writes packages/composition/test/fixtures/
  cases.json                      per model: adapters (config strings), cases (setup as adapter_setup.json
                                  dicts, notes), made_with
  minilm/inputs.json              2 sentences: ids, attention mask, token type ids
  minilm/<adapter>/               adapter_config.json + adapter.safetensors (Python save_adapter)
  minilm/fusion_factors.safetensors  low-rank factors of the MiniLM fusion weights (see "Fusion weights")
  minilm/expected.safetensors     base and <case> last_hidden_state (F32)
  tiny_bert/...                   the same on the tiny BERT, plus Python-saved fusions
                                  (<fusion>/adapter_fusion_config.json + model_adapter_fusion.safetensors),
                                  a Python-saved setup (setup/adapter_setup.json ...) and two classification
                                  heads (saved with their adapters) for a Parallel multi-head case
  llama/...                       Parallel on the tiny Llama (bottleneck and LoRA)

Every adapter parameter is overwritten after creation with seeded random values (normal std 0.1;
(IA)^3 scales 1 + N(0, 0.1^2); prefixes std 0.5), so no zero-initialised part makes a test trivial.
Sizes: bottleneck reduction_factor 192 on MiniLM (bottleneck 2), LoRA r 2, flat prefixes of length 5.

Average: Python computes mean(stack(h_i) * w) = (1/N) sum_i w_i h_i (quirk Q3); adapterkit computes the true
weighted average sum_i w_i h_i. The Python reference is run with weights N * w and normalize_weights=False, so
its output is the adapterkit value for weights w; cases.json stores w.

Fusion weights: a MiniLM fusion layer holds 3 matrices of 384 x 384 per layer (10 MB for 6 layers), too large to
commit. The MiniLM fusion weights are therefore set to W = U V (+ I for the value matrix), U [384, 2] and
V [2, 384] seeded N(0, 0.2^2), biases N(0, 0.1^2); the factors and biases are stored and the test rebuilds the
weights. The tiny BERT's fusions (hidden 32) are saved with Python's save_adapter_fusion and loaded as they are.

Prefix tuning: save_adapter(use_safetensors=True) refuses prefix adapters (the pool is registered under every
layer too); they are saved as .bin and converted, keeping one copy of each tensor.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import adapters
import torch
from adapters import BertAdapterModel
from adapters.composition import Average, BatchSplit, Fuse, Parallel, Split, Stack
from safetensors.torch import load_file
from transformers import AutoTokenizer, BertConfig, BertModel

from common import (LLAMA_TIED, MINILM, ROOT, TINY_BERT, fixtures_dir, load_tiny_llama_with_adapters, minilm_weights,
                    save_adapter_safetensors, save_tensors, versions, write_json)

OUT = fixtures_dir("composition")

SENTENCES = ["A great film.", "Adapters train fast!"]
TINY_IDS = [[2, 17, 45, 9, 3, 0], [2, 8, 71, 33, 12, 3]]
TINY_MASK = [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]
LLAMA_IDS = [[1, 17, 42, 99, 5, 63], [1, 76, 12, 45, 8, 9]]
# All ones: HF Llama takes position ids 0..L-1 even for padding, adapterkit counts real tokens, so padded
# positions would differ for reasons unrelated to composition (the mask is still passed and replicated).
LLAMA_MASK = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]]
FUSION_RANK = 2

MINILM_ADAPTERS = {
    "a": "seq_bn[reduction_factor=192]",
    "b": "seq_bn[reduction_factor=192, non_linearity='swish']",
    "c": "seq_bn[reduction_factor=192, non_linearity='tanh']",
    "la": "lora[r=2]",
    "lc": "lora[r=2, alpha=4]",
    "ia": "ia3",
    "ib": "ia3",
    "pa": "prefix_tuning[flat=True, prefix_length=5]",
    "pb": "prefix_tuning[flat=True, prefix_length=5]",
}

AVG_W = [0.3, 0.7]


def minilm_cases():
    """(case, python setup, adapterkit setup when it differs, fusions to add, note)."""
    n = len(AVG_W)
    return [
        ("parallel_bn", Parallel("a", "b"), None, "hidden states of both replicas: rows [0,2) = a, [2,4) = b"),
        ("batchsplit_bn", BatchSplit("a", "b", batch_sizes=[1, 1]), None, ""),
        ("split_bn", Split("a", "b", splits=[3, 4]), None, "sequence positions [0,3) with a, [3,7) with b"),
        ("average_bn", Average("a", "b", weights=[n * w for w in AVG_W], normalize_weights=False),
         Average("a", "b", weights=AVG_W), "Python run with weights N*w (see the header)"),
        ("stack_parallel_bn", Stack("c", Parallel("a", "b")), None, ""),
        ("fuse_dynamic", Fuse("a", "b"), None, "dynamic fusion 'a,b' (weights from fusion_factors)"),
        ("fuse_static", Fuse("a", "b", name="ab_static"), None, "static fusion named 'ab_static'"),
        ("stack_fuse", Stack(Fuse("a", "b"), "c"), None, "fusion 'a,b' then c"),
        ("stack_c_fuse", Stack("c", Fuse("a", "b")), None, "c then fusion 'a,b'"),
        ("fuse_of_stack", Fuse(Stack("c", "a"), "b"), None,
         "fusion 'a,b' over Stack(c, a) and b (Python pre-processes c's input twice there; reproduced)"),
        # Python's LoRA blocks need every child at every adapted projection (else pad_and_concat / mean fail).
        # No Parallel of LoRAs on BERT: adapters 1.3.0's BertSelfAttention reshapes the replicated query with
        # the unreplicated batch size (view(batch_size, -1, heads, d)) and fails; the Llama fixture has one.
        ("batchsplit_lora", BatchSplit("ia", "ib", batch_sizes=[1, 1]), None, "two (IA)^3 adapters"),
        ("average_lora", Average("la", "lc", weights=[n * w for w in AVG_W], normalize_weights=False),
         Average("la", "lc", weights=AVG_W), "Python run with weights N*w; average of the LoRA deltas"),
        ("parallel_prefix", Parallel("pa", "pb"), None, "equal prefix lengths (Python pads shorter ones differently)"),
        ("batchsplit_prefix", BatchSplit("pb", "pa", batch_sizes=[1, 1]), None, ""),
    ]


def setup_dict(setup) -> dict:
    """setup.to_dict(), keeping custom Fuse names (Python drops them, quirk Q14; its from_dict accepts them)."""
    d = setup.to_dict()

    def fix(block, node):
        if isinstance(block, Fuse) and block._name:
            node["kwargs"] = {"name": block._name}
        for child, sub in zip(getattr(block, "children", []), node.get("children", [])):
            if not isinstance(child, str):
                fix(child, sub)

    fix(setup, d)
    return d


@torch.no_grad()
def randomise_adapter(model: torch.nn.Module, name: str, seed: int) -> int:
    """Overwrites every parameter of adapter `name` with seeded random values; returns how many tensors."""
    gen = torch.Generator().manual_seed(seed)
    markers = [f".adapters.{name}.", f"_adapters.{name}.", f".loras.{name}.", f".prefix_tunings.{name}.", f".prefix_gates.{name}."]
    count = 0
    for key, p in model.named_parameters(remove_duplicate=True):
        if not any(m in "." + key for m in markers):
            continue
        noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
        if ".prefix_tunings." in key:
            value = 0.5 * noise
        elif ".loras." in key and key.endswith("lora_B") and p.shape[-1] == 1:
            value = 1.0 + 0.1 * noise  # (IA)^3 scale vector
        else:
            value = 0.1 * noise
        p.copy_(value)
        count += 1
    return count


@torch.no_grad()
def randomise_fusion_lowrank(model: torch.nn.Module, fusion: str, seed: int) -> dict[str, torch.Tensor]:
    """Sets every fusion weight of `fusion` to U V (+ I for values), biases N(0, 0.1^2); returns the factors."""
    gen = torch.Generator().manual_seed(seed)
    factors: dict[str, torch.Tensor] = {}
    marker = f"adapter_fusion_layer.{fusion}."
    for key, p in model.named_parameters():
        if marker not in key:
            continue
        layer = key.split("encoder.layer.")[1].split(".")[0]
        part = key.split(marker)[1]  # query.weight / query.bias / key.* / value.weight
        tag = f"{fusion}.{layer}.{part}"
        if part.endswith("weight"):
            u = 0.2 * torch.randn(p.shape[0], FUSION_RANK, generator=gen)
            v = 0.2 * torch.randn(FUSION_RANK, p.shape[1], generator=gen)
            w = u @ v
            if part.startswith("value"):
                w = w + torch.eye(p.shape[0])
            p.copy_(w)
            factors[f"{tag}.U"] = u
            factors[f"{tag}.V"] = v
        else:
            b = 0.1 * torch.randn(p.shape, generator=gen)
            p.copy_(b)
            factors[tag] = b
    assert factors, f"no fusion weights for {fusion}"
    return factors


@torch.no_grad()
def randomise_fusion(model: torch.nn.Module, fusion: str, seed: int) -> None:
    """Full random fusion weights (tiny BERT): N(0, 0.3^2), + I for values."""
    gen = torch.Generator().manual_seed(seed)
    marker = f"adapter_fusion_layer.{fusion}."
    for key, p in model.named_parameters():
        if marker in key:
            value = 0.3 * torch.randn(p.shape, generator=gen)
            if ".value." in key:
                value = value + torch.eye(p.shape[0])
            p.copy_(value)


def load_minilm() -> BertModel:
    config = BertConfig.from_pretrained(MINILM, attn_implementation="eager")
    model = BertModel(config)
    missing, unexpected = model.load_state_dict(minilm_weights(), strict=False)
    assert not missing and not [k for k in unexpected if not k.endswith("position_ids")], (missing, unexpected)
    adapters.init(model)
    return model.eval()


def tiny_bert_config() -> BertConfig:
    raw = json.loads((TINY_BERT / "config.json").read_text())
    return BertConfig(**{k: v for k, v in raw.items() if k not in ("transformers_version",)}, attn_implementation="eager")


def load_tiny_bert(with_heads: bool = False):
    weights = load_file(TINY_BERT / "model.safetensors")
    if with_heads:
        model = BertAdapterModel(tiny_bert_config())
        missing, unexpected = model.bert.load_state_dict(weights, strict=False)
    else:
        model = BertModel(tiny_bert_config())
        missing, unexpected = model.load_state_dict(weights, strict=False)
        adapters.init(model)
    assert not [k for k in missing if "adapter" not in k and "prompt_tuning" not in k], missing
    assert not unexpected, unexpected
    return model.eval()


def add_adapters(model, specs: dict[str, str], seed0: int) -> None:
    for i, (name, cfg) in enumerate(specs.items()):
        model.add_adapter(name, config=cfg)
        assert randomise_adapter(model, name, seed0 + i) > 0, name


def run(model, setup, forward) -> torch.Tensor:
    model.set_active_adapters(setup)
    with torch.no_grad():
        return forward().clone()


def make_minilm(out: Path) -> dict:
    out.mkdir(parents=True)
    tok = AutoTokenizer.from_pretrained(MINILM)
    enc = tok(SENTENCES, padding=True, return_tensors="pt")
    write_json(out / "inputs.json", dict(sentences=SENTENCES, **{k: enc[k].tolist() for k in ("input_ids", "attention_mask", "token_type_ids")}), indent=2)
    model = load_minilm()
    forward = lambda: model(**{k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids")}).last_hidden_state
    expected = {"base.last_hidden_state": run(model, None, forward)}
    add_adapters(model, MINILM_ADAPTERS, 3000)
    model.add_adapter_fusion(Fuse("a", "b"), "dynamic")
    model.add_adapter_fusion(Fuse("a", "b", name="ab_static"), "static")
    factors = {**randomise_fusion_lowrank(model, "a,b", 3100), **randomise_fusion_lowrank(model, "ab_static", 3101)}
    save_tensors(factors, out / "fusion_factors.safetensors")
    cases = {}
    for case, setup, ours, note in minilm_cases():
        h = run(model, setup, forward)
        expected[f"{case}.last_hidden_state"] = h
        base = expected["base.last_hidden_state"]
        delta = (h[: base.shape[0]] - base).abs().max().item()
        print(f"minilm/{case}: {tuple(h.shape)}, max |out - base| (first rows) = {delta:.3e}")
        assert delta > 1e-2, f"{case}: barely changes the output"
        cases[case] = dict(setup=setup_dict(ours or setup), note=note, fusions={"a,b": "dynamic", "ab_static": "static"} if "fuse" in case else {})
    for name in MINILM_ADAPTERS:
        save_adapter_safetensors(model, out / name, name)
    save_tensors(expected, out / "expected.safetensors")
    return dict(adapters=MINILM_ADAPTERS, cases=cases)


def make_tiny_bert(out: Path) -> dict:
    """Python-saved fusions and a saved setup, loaded by adapterkit as they are; Parallel with two heads."""
    out.mkdir(parents=True)
    write_json(out / "inputs.json", dict(input_ids=TINY_IDS, attention_mask=TINY_MASK), indent=2)
    ids = torch.tensor(TINY_IDS)
    mask = torch.tensor(TINY_MASK)
    specs = {"a": "seq_bn[reduction_factor=4]", "b": "seq_bn[reduction_factor=8]", "c": "seq_bn[reduction_factor=4, non_linearity='tanh']"}
    model = load_tiny_bert()
    forward = lambda: model(input_ids=ids, attention_mask=mask).last_hidden_state
    expected = {"base.last_hidden_state": run(model, None, forward)}
    add_adapters(model, specs, 4000)
    model.add_adapter_fusion(Fuse("a", "b", "c"), "dynamic")
    model.add_adapter_fusion(Fuse("b", "c", name="bc_static"), "static")
    cfg_custom = dict(key=True, query=True, value=True, query_before_ln=True, regularization=True, residual_before=True,
                      temperature=False, value_before_softmax=False, value_initialized=True, dropout_prob=0.0)
    model.add_adapter_fusion(Fuse("a", "c", name="ac_custom"), cfg_custom)
    for i, f in enumerate(("a,b,c", "bc_static", "ac_custom")):
        randomise_fusion(model, f, 4100 + i)
    cases = {}
    tiny_cases = [
        ("fuse_dynamic", Fuse("a", "b", "c"), "3-way dynamic fusion"),
        ("fuse_static", Fuse("b", "c", name="bc_static"), "static, custom name"),
        ("fuse_custom", Fuse("a", "c", name="ac_custom"), "query_before_ln, residual_before, value after the softmax"),
        ("stack_fuse", Stack(Fuse("a", "b", "c"), "b"), "saved as a setup (setup/)"),
    ]
    for case, setup, note in tiny_cases:
        h = run(model, setup, forward)
        expected[f"{case}.last_hidden_state"] = h
        delta = (h - expected["base.last_hidden_state"]).abs().max().item()
        print(f"tiny_bert/{case}: max |out - base| = {delta:.3e}")
        assert delta > 1e-2, case
        cases[case] = dict(setup=setup_dict(setup), note=note)
    for name in specs:
        save_adapter_safetensors(model, out / name, name)
    for f in ("a,b,c", "bc_static", "ac_custom"):
        model.save_adapter_fusion(str(out / f), f, use_safetensors=True)
    model.save_adapter_setup(str(out / "setup"), Stack(Fuse("a", "b", "c"), "b"), use_safetensors=True)

    # Parallel inference with two heads (BertAdapterModel): one output per head.
    hm = load_tiny_bert(with_heads=True)
    hm.add_adapter("ha", config="seq_bn[reduction_factor=4]")
    hm.add_adapter("hb", config="seq_bn[reduction_factor=8, non_linearity='swish']")  # Python cannot mix methods across Parallel channels
    randomise_adapter(hm, "ha", 4200)
    randomise_adapter(hm, "hb", 4201)
    hm.add_classification_head("ha", num_labels=2)
    hm.add_classification_head("hb", num_labels=3)
    with torch.no_grad():
        for n, p in hm.heads.named_parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(4300 + len(n))))
    hm.eval()
    hm.set_active_adapters(Parallel("ha", "hb"))
    assert hm.active_head == ["ha", "hb"], hm.active_head
    labels = torch.tensor([1, 0])
    with torch.no_grad():
        out_heads = hm(input_ids=ids, attention_mask=mask, labels=labels)
    for i, head_out in enumerate(out_heads.head_outputs):
        expected[f"parallel_heads.{i}.logits"] = head_out.logits.clone()
    expected["parallel_heads.loss"] = out_heads.loss.detach().reshape(1).clone()
    for name in ("ha", "hb"):
        save_adapter_safetensors(hm, out / name, name)  # with its head (head_config.json + model_head.safetensors)
    cases["parallel_heads"] = dict(setup=Parallel("ha", "hb").to_dict(), note="BertAdapterModel, heads ha (2 labels), hb (3 labels), labels [1, 0]")
    save_tensors(expected, out / "expected.safetensors")
    return dict(adapters={**specs, "ha": "seq_bn[reduction_factor=4] + head", "hb": "seq_bn[reduction_factor=8, non_linearity='swish'] + head"}, cases=cases)


def make_llama(out: Path) -> dict:
    out.mkdir(parents=True)
    write_json(out / "inputs.json", dict(input_ids=LLAMA_IDS, attention_mask=LLAMA_MASK), indent=2)
    ids = torch.tensor(LLAMA_IDS)
    mask = torch.tensor(LLAMA_MASK)
    # (IA)^3 without intermediate_lora: Python's Llama puts "intermediate" on down_proj (quirk Q9), adapterkit on up_proj.
    specs = {"a": "seq_bn", "b": "seq_bn[non_linearity='swish']", "la": "lora[r=4]", "lc": "lora[r=2]",
             "ia": "ia3[intermediate_lora=False]", "ib": "ia3[intermediate_lora=False]"}
    model = load_tiny_llama_with_adapters(LLAMA_TIED)
    forward = lambda: model(input_ids=ids, attention_mask=mask).last_hidden_state
    expected = {"base.last_hidden_state": run(model, None, forward)}
    add_adapters(model, specs, 5000)
    cases = {}
    for case, setup in [("parallel_bn", Parallel("a", "b")), ("parallel_lora", Parallel("la", "lc")),
                        ("batchsplit_ia3", BatchSplit("ia", "ib", batch_sizes=[1, 1]))]:
        h = run(model, setup, forward)
        expected[f"{case}.last_hidden_state"] = h
        print(f"llama/{case}: {tuple(h.shape)}")
        cases[case] = dict(setup=setup_dict(setup), note="")
    for name in specs:
        save_adapter_safetensors(model, out / name, name)
    save_tensors(expected, out / "expected.safetensors")
    return dict(adapters=specs, cases=cases)


def main() -> None:
    print(", ".join(f"{k} {v}" for k, v in versions("adapters", "transformers", "torch", "safetensors").items()))
    torch.manual_seed(0)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    summary = dict(
        made_with=versions("adapters", "transformers", "torch"),
        average_weights=AVG_W,
        minilm=make_minilm(OUT / "minilm"),
        tiny_bert=make_tiny_bert(OUT / "tiny_bert"),
        llama=make_llama(OUT / "llama"),
    )
    write_json(OUT / "cases.json", summary, indent=2)
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT.relative_to(ROOT)} ({total / 1e6:.2f} MB)")
    assert total < 1.5e6, "fixtures too large"


if __name__ == "__main__":
    sys.exit(main())
