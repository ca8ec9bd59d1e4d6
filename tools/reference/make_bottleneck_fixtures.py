#!/usr/bin/env python3
"""Parity fixtures for @adapterkit/method-bottleneck (bottleneck adapters,
invertible adapters, Compacter) from the Python `adapters` library.

Requirements (pip, into tools/reference/.venv-adapters):
    adapters==1.3.0 transformers==4.57.6 torch safetensors tokenizers
Made with: adapters 1.3.0, transformers 4.57.6, torch 2.15.0 (CPU), safetensors 0.8.0.

Run from the repository root:
    tools/reference/.venv-adapters/bin/python tools/reference/make_bottleneck_fixtures.py

Inputs (nothing is downloaded):
  models/all-MiniLM-L6-v2/                      the embedded MiniLM (F16 weights, upcast to F32)
  packages/core/test/fixtures/llama/tiny-tied/  the random tiny Llama (hidden 32, 2 layers)

Writes packages/method-bottleneck/test/fixtures/
  minilm/inputs.json            2 sentences: ids, attention mask, token type ids
  minilm/<case>/                adapter_config.json + adapter.safetensors (Python save_adapter,
                                use_safetensors=True), one folder per adapter
  minilm/expected.safetensors   base.last_hidden_state and <case>.last_hidden_state (F32)
  llama/inputs.json, llama/<case>/, llama/expected.safetensors    the same for the tiny Llama
  cases.json                    case name -> config string, adapters to load, active setup

Sizes. To keep the committed files small (< 1.5 MB in all), the MiniLM cases use
reduction_factor 128 (bottleneck 3 instead of 24) and inv_adapter_reduction_factor 16;
Compacter keeps its default rf 32 (bottleneck 12, divisible by phm_dim 4). The math
does not depend on the bottleneck width. The Llama cases use the preset defaults.

Every adapter parameter is overwritten after creation with seeded random values
(normal std 0.1; layer norm weights and learned scalings 1 + N(0, 0.1²); PHM
parameters std 0.3), so no zero-initialised part (par_bn's mam up-projection,
the PHM rule's 1e-4 init) makes a test trivial.

Notes on the Python library found while writing this (see the package README):
  - save_adapter(use_safetensors=True) fails for ln_before=True: the input LayerNorm is
    registered twice (adapter_norm_before and adapter_down.0), and safetensors refuses
    shared tensors. The 'variant_a' fixture is therefore written here from the state dict,
    with both names (cloned), as a converted pytorch_adapter.bin would hold them.
  - Saved from a bare BertModel (adapters.init), a Compacter's shared rule
    'shared_parameters.<name>.phm_rule' is not saved: the loader filter wants
    '.shared_parameters.<name>.' with a leading dot. The Compacter fixtures are saved
    from BertAdapterModel (keys 'bert.…'), which saves it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import adapters
import torch
from adapters import BertAdapterModel
from adapters.composition import Stack
from transformers import AutoTokenizer, BertConfig, BertModel

from common import (LLAMA_TIED, MINILM, PT_METADATA, ROOT, fixtures_dir, load_tiny_llama_with_adapters, minilm_weights,
                    save_adapter_safetensors, save_tensors, versions, write_json)

OUT = fixtures_dir("method-bottleneck")

SENTENCES = ["A great film.", "Adapters train fast!"]
LLAMA_IDS = [[1, 17, 42, 99, 5, 63, 28], [1, 76, 12, 45, 8, 9, 10]]

# case -> (config string per adapter, active setup, model kind). 'adapter' kind: saved from BertAdapterModel.
MINILM_CASES: dict[str, dict] = {
    "seq_bn": dict(adapters={"seq_bn": "seq_bn[reduction_factor=192]"}),
    "double_seq_bn": dict(adapters={"double_seq_bn": "double_seq_bn[reduction_factor=192]"}),
    "par_bn": dict(adapters={"par_bn": "par_bn[reduction_factor=192]"}),
    "scaled_par_bn": dict(adapters={"scaled_par_bn": "scaled_par_bn[reduction_factor=192]"}),
    "seq_bn_inv": dict(adapters={"seq_bn_inv": "seq_bn_inv[reduction_factor=192, inv_adapter_reduction_factor=16]"}),
    "double_seq_bn_inv": dict(adapters={"double_seq_bn_inv": "double_seq_bn_inv[reduction_factor=192, inv_adapter_reduction_factor=16]"}),
    "compacter": dict(adapters={"compacter": "compacter"}, model="adapter_model"),
    "compacter++": dict(adapters={"compacterpp": "compacter++"}, model="adapter_model"),
    # Placement options: LN before/after, gating, residual taken after the model LN, adapter residual before its LN.
    "variant_a": dict(adapters={"variant_a": "seq_bn[reduction_factor=192, ln_before=True, ln_after=True, use_gating=True, "
                                             "residual_before_ln=False, adapter_residual_before_ln=True]"}, manual_save=True),
    # 'post_add' residual, channel scaling, houlsby init, gelu_new, per-layer reduction factors, leave_out.
    "variant_b": dict(adapters={"variant_b": "double_seq_bn[reduction_factor={'0': 96, 'default': 192}, original_ln_before=True, "
                                             "residual_before_ln='post_add', scaling='channel', init_weights='houlsby', "
                                             "non_linearity='gelu_new', leave_out=[5]]"}),
    # Parallel adapter with a constant scaling, gating, its own output LN and tanh.
    "variant_c": dict(adapters={"variant_c": "par_bn[reduction_factor=192, scaling=0.5, use_gating=True, ln_after=True, non_linearity='tanh']"}),
    # Stack of two sequential adapters.
    "stack": dict(adapters={"stack_a": "seq_bn[reduction_factor=192]", "stack_b": "seq_bn[reduction_factor=192, non_linearity='swish']"},
                  setup=["stack_a", "stack_b"]),
}

LLAMA_CASES: dict[str, dict] = {
    "seq_bn": dict(adapters={"seq_bn": "seq_bn"}),
    "double_seq_bn": dict(adapters={"double_seq_bn": "double_seq_bn"}),
    "par_bn": dict(adapters={"par_bn": "par_bn"}),
}


@torch.no_grad()
def randomise_adapter(model: torch.nn.Module, name: str, seed: int) -> int:
    """Overwrites every parameter of adapter `name` with seeded random values; returns how many tensors."""
    gen = torch.Generator().manual_seed(seed)
    markers = [f".adapters.{name}.", f"_adapters.{name}.", f"shared_parameters.{name}."]
    seen: set[int] = set()
    count = 0
    for key, p in model.named_parameters(remove_duplicate=True):
        if not any(m in key for m in markers) or id(p) in seen:
            continue
        seen.add(id(p))
        noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
        leaf = key.rsplit(".", 1)[-1]
        if ("adapter_norm_before" in key or "adapter_norm_after" in key) and leaf == "weight":
            value = 1.0 + 0.1 * noise
        elif leaf == "scaling":
            value = 1.0 + 0.1 * noise
        elif leaf in ("W_left", "W_right", "W", "b", "phm_rule", "phm_rule_left", "phm_rule_right") or leaf.startswith("W_"):
            value = 0.3 * noise
        else:
            value = 0.1 * noise
        p.copy_(value)
        count += 1
    return count


def load_minilm(kind: str):
    config = BertConfig.from_pretrained(MINILM, attn_implementation="eager")
    weights = minilm_weights()
    if kind == "adapter_model":
        model = BertAdapterModel(config)
        missing, unexpected = model.bert.load_state_dict(weights, strict=False)
        base = model.bert
    else:
        model = BertModel(config)
        missing, unexpected = model.load_state_dict(weights, strict=False)
        adapters.init(model)
        base = model
    assert not [k for k in missing if "adapter" not in k and "prompt_tuning" not in k], missing
    assert not [k for k in unexpected if not k.endswith("position_ids")], unexpected
    model.eval()
    return model, base


def load_llama():
    """The tiny tied Llama as LlamaModel + adapters.init (check_bottleneck_roundtrip.py imports it)."""
    return load_tiny_llama_with_adapters(LLAMA_TIED)


def run_cases(label: str, cases: dict[str, dict], make_model, forward, out_dir: Path, seed0: int) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    expected: dict[str, torch.Tensor] = {}
    summary: dict[str, dict] = {}
    base_model, base = make_model("plain")
    with torch.no_grad():
        expected["base.last_hidden_state"] = forward(base).clone()
    for i, (case, spec) in enumerate(cases.items()):
        model, base = make_model(spec.get("model", "plain"))
        for j, (name, cfg) in enumerate(spec["adapters"].items()):
            model.add_adapter(name, config=cfg)
            n = randomise_adapter(model, name, seed0 + 100 * i + j)
            assert n > 0, f"{case}: no parameters for {name}"
        setup = Stack(*spec["setup"]) if "setup" in spec else next(iter(spec["adapters"]))
        model.set_active_adapters(setup)
        model.eval()
        with torch.no_grad():
            out = forward(base).clone()
        expected[f"{case}.last_hidden_state"] = out
        for name in spec["adapters"]:
            # manual_save: safetensors refuses the twice-registered ln_before LayerNorm; save the .bin and
            # convert it, keeping both names (cloned).
            save_adapter_safetensors(model, out_dir / name, name, via_bin=spec.get("manual_save", False), keep_aliases=True,
                                     metadata=PT_METADATA)
        delta = (out - expected["base.last_hidden_state"]).abs().max().item()
        summary[case] = dict(adapters=spec["adapters"], setup=spec.get("setup", [next(iter(spec["adapters"]))]),
                             saved_from=type(model).__name__)
        print(f"{label}/{case}: max |out - base| = {delta:.3e}")
        assert delta > 1e-2, f"{case}: the adapter barely changes the output"
    save_tensors(expected, out_dir / "expected.safetensors")
    return summary


def main() -> None:
    print(", ".join(f"{k} {v}" for k, v in versions("adapters", "transformers", "torch", "safetensors").items()))
    torch.manual_seed(0)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)

    tok = AutoTokenizer.from_pretrained(MINILM)
    enc = tok(SENTENCES, padding=True, return_tensors="pt")
    minilm_inputs = {k: enc[k].tolist() for k in ("input_ids", "attention_mask", "token_type_ids")}
    (OUT / "minilm").mkdir(parents=True)
    write_json(OUT / "minilm" / "inputs.json", dict(sentences=SENTENCES, **minilm_inputs), indent=2)

    def bert_forward(base):
        return base(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"]).last_hidden_state

    minilm = run_cases("minilm", MINILM_CASES, load_minilm, bert_forward, OUT / "minilm", 1000)

    ids = torch.tensor(LLAMA_IDS)
    (OUT / "llama").mkdir(parents=True, exist_ok=True)
    write_json(OUT / "llama" / "inputs.json", dict(input_ids=LLAMA_IDS), indent=2)

    def make_llama(_kind):
        m = load_llama()
        return m, m

    llama = run_cases("llama", LLAMA_CASES, make_llama, lambda base: base(input_ids=ids).last_hidden_state, OUT / "llama", 2000)

    write_json(OUT / "cases.json", dict(made_with=versions("adapters", "transformers", "torch"), minilm=minilm, llama=llama), indent=2)
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT.relative_to(ROOT)} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    sys.exit(main())
