#!/usr/bin/env python3
"""Parity fixtures for @adapterkit/method-lora (LoRA, IA3, DoRA; gating; Stack).

Requirements (pip, into tools/reference/.venv-adapters):
    adapters==1.3.0 transformers==4.57.6 torch safetensors
Made with: adapters 1.3.0, transformers 4.57.6, torch 2.15.0, safetensors 0.8.0.

Run from the repository root:
    tools/reference/.venv-adapters/bin/python tools/reference/make_lora_fixtures.py

Models
  * all-MiniLM-L6-v2 (models/all-MiniLM-L6-v2, F16 weights upcast to F32, as the
    TypeScript loader does), HF BertModel + adapters.init, eval mode.
  * the tiny random Llama of packages/core/test/fixtures/llama/tiny-untied
    (LlamaModel, the base of the saved LlamaForCausalLM), eager attention.

Every adapter is added with adapters' own code, then ALL its parameters are
overwritten from a seeded generator (N(0, 0.1^2); IA3 scales 1 + N(0, 0.1^2);
DoRA magnitudes row-norm * (1 + N(0, 0.1^2))) so that zero-initialised parts
(lora_B) do not make the comparison trivial. Each adapter is saved with
save_adapter(..., use_safetensors=True) and the base model's last_hidden_state
with only that adapter (or setup) active is stored in f32.

Sizes are kept small (package fixtures < 1.5 MB): 2 sentences; configs other
than the default `lora` use small ranks and/or leave_out (documented per case).

Writes packages/method-lora/test/fixtures/
  minilm/inputs.json             sentences, input ids, attention mask, token type ids
  minilm/<case>/                 adapter_config.json + adapter.safetensors (one per adapter)
  minilm/expected.safetensors    <case>.last_hidden_state for each case
  llama/inputs.json              input ids / attention mask (from the core Llama fixture)
  llama/<case>/ , llama/expected.safetensors
  cases.json                     what each case is (config, active setup, notes)
"""

from __future__ import annotations

import json
import shutil

import adapters
import torch
from adapters import DoRAConfig, IA3Config, LoRAConfig, Stack
from transformers import AutoTokenizer, BertConfig, BertModel, LlamaConfig, LlamaModel

from common import LLAMA_UNTIED, MINILM, fixtures_dir, llama_base_weights, lists_of, minilm_weights, save_tensors, versions, write_json

OUT = fixtures_dir("method-lora")
LLAMA = LLAMA_UNTIED

VERSIONS = versions("adapters", "transformers", "torch", "safetensors")
# inputs.json and cases.json: one line per innermost list, so id matrices stay readable.
JSON_LAYOUT = dict(expand=lists_of(list, dict), ensure_ascii=False)

SENTENCES = [
    "a gorgeous, witty movie.",
    "the plot is pure boilerplate.",
]

# (case, config, notes). Each adapter is named after its case.
MINILM_CASES = [
    ("lora", "lora", "default LoRAConfig (r 8, alpha 8, q and v)"),
    (
        "lora_full",
        LoRAConfig(r=2, alpha=5, attn_matrices=["q", "k", "v"], intermediate_lora=True, output_lora=True, leave_out=[1, 3, 4, 5]),
        "q,k,v + intermediate + output, alpha != r; r 2 and leave_out [1,3,4,5] keep the file small and test leave_out",
    ),
    ("lora_dropout", LoRAConfig(r=2, dropout=0.1), "dropout 0.1, compared in eval mode (dropout off); r 2 for size"),
    ("ia3", "ia3", "default IA3Config (k, v, intermediate)"),
    (
        "lora_gating",
        LoRAConfig(r=2, alpha=4, use_gating=True),
        "use_gating with alpha != r: Python multiplies by the gate INSTEAD of alpha/r (quirk Q10)",
    ),
    ("dora", DoRAConfig(r=4, alpha=4, leave_out=[2, 3, 4, 5]), "DoRA, alpha == r; Python scales the bias too (see README)"),
]

# Two LoRAs stacked (Python chains them, quirk Q11).
STACK = [("stack_a", LoRAConfig(r=2, alpha=4)), ("stack_b", LoRAConfig(r=2, alpha=2))]

LLAMA_CASES = [
    ("lora", "lora", "default LoRAConfig (q, v): selfattn only, where Python and adapterkit agree"),
    (
        "ia3",
        IA3Config(intermediate_lora=True, output_lora=True),
        "IA3 on k, v and BOTH MLP projections: Python's Llama mixin swaps intermediate/output (quirk Q9), so only the union of both agrees",
    ),
    ("dora", "dora", "default DoRAConfig (alpha == r, Llama has no biases): Python and adapterkit agree"),
]


@torch.no_grad()
def randomise_adapter(model: torch.nn.Module, name: str, gen: torch.Generator) -> None:
    marker = f".loras.{name}."
    params = [(k, p) for k, p in model.named_parameters() if marker in k]
    assert params, f"no parameters for adapter {name}"
    for key, p in params:
        noise = torch.randn(p.shape, generator=gen, dtype=torch.float32) * 0.1
        if key.endswith(".m.weight"):
            p.copy_(p * (1 + noise))  # DoRA magnitude: around the base row norms
        else:
            p.copy_(noise)


@torch.no_grad()
def randomise_ia3(model: torch.nn.Module, name: str, gen: torch.Generator) -> None:
    for key, p in model.named_parameters():
        if f".loras.{name}." in key:
            p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen, dtype=torch.float32))


def is_scale(config) -> bool:
    if isinstance(config, str):
        return config == "ia3"
    return config.composition_mode == "scale"


def add_random(model, name: str, config, seed: int) -> None:
    model.add_adapter(name, config=config)
    gen = torch.Generator().manual_seed(seed)
    if is_scale(config):
        randomise_ia3(model, name, gen)
    else:
        randomise_adapter(model, name, gen)


def config_dict(config) -> dict:
    return adapters.AdapterConfig.load(config).to_dict()


def minilm_model() -> BertModel:
    config = BertConfig.from_pretrained(MINILM, attn_implementation="eager")
    model = BertModel(config, add_pooling_layer=False)
    model.load_state_dict({k: v for k, v in minilm_weights().items() if not k.startswith("pooler.")}, strict=True)
    adapters.init(model)
    return model.eval()


def make_minilm(cases_out: dict) -> None:
    out = OUT / "minilm"
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(MINILM)
    enc = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    inputs = dict(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"])
    write_json(
        out / "inputs.json",
        {
            "model": "all-MiniLM-L6-v2 (models/all-MiniLM-L6-v2, F16 weights upcast to F32), HF BertModel without pooler + adapters.init, eval mode",
            "versions": VERSIONS,
            "sentences": SENTENCES,
            "input_ids": enc["input_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "token_type_ids": enc["token_type_ids"].tolist(),
        },
        **JSON_LAYOUT,
    )
    expected: dict[str, torch.Tensor] = {}
    model = minilm_model()
    with torch.no_grad():
        expected["base.last_hidden_state"] = model(**inputs).last_hidden_state
    for i, (case, config, notes) in enumerate(MINILM_CASES):
        model = minilm_model()
        add_random(model, case, config, 2000 + i)
        model.set_active_adapters(case)
        with torch.no_grad():
            expected[f"{case}.last_hidden_state"] = model(**inputs).last_hidden_state
        shutil.rmtree(out / case, ignore_errors=True)
        model.save_adapter(str(out / case), case, use_safetensors=True)
        cases_out[f"minilm/{case}"] = {"config": config_dict(config), "active": case, "notes": notes}
        print(f"minilm/{case}: {sum(p.numel() for k, p in model.named_parameters() if f'.loras.{case}.' in k)} adapter params")

    model = minilm_model()
    for i, (name, config) in enumerate(STACK):
        add_random(model, name, config, 3000 + i)
        shutil.rmtree(out / name, ignore_errors=True)
        model.save_adapter(str(out / name), name, use_safetensors=True)
    model.set_active_adapters(Stack("stack_a", "stack_b"))
    with torch.no_grad():
        expected["stack.last_hidden_state"] = model(**inputs).last_hidden_state
    cases_out["minilm/stack"] = {
        "config": {n: config_dict(c) for n, c in STACK},
        "active": "Stack('stack_a', 'stack_b')",
        "notes": "Python chains stacked LoRAs: y = y0 + s_b B_b A_b (s_a B_a A_a x) (quirk Q11)",
    }
    save_tensors(expected, out / "expected.safetensors")


def llama_model() -> LlamaModel:
    config = LlamaConfig.from_pretrained(LLAMA, attn_implementation="eager")
    model = LlamaModel(config)
    model.load_state_dict(llama_base_weights(LLAMA), strict=True)
    adapters.init(model)
    return model.eval()


def make_llama(cases_out: dict) -> None:
    out = OUT / "llama"
    out.mkdir(parents=True, exist_ok=True)
    case_json = json.loads((LLAMA / "case.json").read_text())
    ids = torch.tensor(case_json["input_ids"])
    mask = torch.tensor(case_json["attention_mask"])
    pos = torch.tensor(case_json["position_ids"])
    write_json(
        out / "inputs.json",
        {
            "model": "packages/core/test/fixtures/llama/tiny-untied as HF LlamaModel + adapters.init (eager, eval)",
            "versions": VERSIONS,
            "input_ids": case_json["input_ids"],
            "attention_mask": case_json["attention_mask"],
            "position_ids": case_json["position_ids"],
        },
        **JSON_LAYOUT,
    )
    expected: dict[str, torch.Tensor] = {}
    for i, (case, config, notes) in enumerate(LLAMA_CASES):
        model = llama_model()
        add_random(model, case, config, 4000 + i)
        model.set_active_adapters(case)
        with torch.no_grad():
            expected[f"{case}.last_hidden_state"] = model(input_ids=ids, attention_mask=mask, position_ids=pos).last_hidden_state
        shutil.rmtree(out / case, ignore_errors=True)
        model.save_adapter(str(out / case), case, use_safetensors=True)
        cases_out[f"llama/{case}"] = {"config": config_dict(config), "active": case, "notes": notes}
    save_tensors(expected, out / "expected.safetensors")


def main() -> None:
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    cases: dict = {}
    make_minilm(cases)
    make_llama(cases)
    write_json(OUT / "cases.json", {"versions": VERSIONS, "cases": cases}, **JSON_LAYOUT)
    # save_adapter writes files readable by the owner only on some setups; make them readable.
    for p in OUT.rglob("*"):
        if p.is_file():
            p.chmod(0o644)


if __name__ == "__main__":
    main()
