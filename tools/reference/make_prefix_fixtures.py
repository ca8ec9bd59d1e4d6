#!/usr/bin/env python3
"""Parity fixtures for @adapterkit/method-prefix (prefix tuning, prompt tuning).

Requirements (pip, into tools/reference/.venv-adapters):
    adapters==1.3.0 transformers==4.57.6 torch safetensors
Made with: adapters 1.3.0, transformers 4.57.6, torch 2.15.0, safetensors 0.8.0.

Run from the repository root:
    tools/reference/.venv-adapters/bin/python tools/reference/make_prefix_fixtures.py

Models
  * all-MiniLM-L6-v2 (models/all-MiniLM-L6-v2, F16 weights upcast to F32, as the
    TypeScript loader does): HF BertModel + adapters.init, eval mode, EAGER
    attention. With transformers' default SDPA attention, Python's prompt tuning
    prepends "attend" rows along the query axis of the [B,1,L,L] mask too, so the
    prompt positions attend to padding keys; eager attention (and adapterkit)
    keep the key mask for every query. The two differ on padded rows only (the
    script prints the SDPA difference for the record).
  * the tiny random Llama of packages/core/test/fixtures/llama/tiny-untied
    (LlamaForCausalLM, GQA: 4 heads, 2 KV heads), EAGER attention: with SDPA,
    Python's prefix mask is inverted for boolean masks and the prefix is ignored.

Every adapter is added with adapters' own code, then ALL its parameters are
overwritten from a seeded generator (N(0, 0.5^2)) so keys/values and prompts are
of the size of the model's own. The base model's last_hidden_state with the
case's setup active is stored in f32.

Saving: adapters 1.3.0 `save_adapter(..., use_safetensors=True)` raises for
prefix tuning ("Some tensors share memory"): the prefix pool is also registered
under every attention layer (`...attention.self.prefix_tuning.pool.prefix_tunings...`),
so its state dict holds every prefix weight once per layer plus once at
`prefix_tuning.prefix_tunings...`. Prefix adapters are therefore saved with
use_safetensors=False and the .bin is converted here: the MiniLM cases keep one
copy (the keys REFERENCE 4.5 lists, what Python loads), the Llama case keeps all
aliases (cloned) to test that adapterkit loads such files too.

Sizes (package fixtures < 1.5 MB): 3 short sentences; prefix_length 3-5 and
bottleneck_size 8 instead of 30 / 512 (a default prefix on MiniLM is 20 MB).

Writes packages/method-prefix/test/fixtures/
  cases.json                  what each case is (config, setup, notes, max |adapter - base|)
  minilm/inputs.json          sentences, input ids, attention mask, token type ids
  minilm/<adapter>/           adapter_config.json + adapter.safetensors
  minilm/expected.safetensors base.last_hidden_state and <case>.last_hidden_state
  llama/<adapter>/, llama/expected.safetensors, llama/case.json (inputs, position ids, greedy generations)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import adapters
import torch
from adapters import PrefixTuningConfig, PromptTuningConfig, Stack
from safetensors.torch import load_file
from transformers import AutoTokenizer, BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

from common import (LLAMA_UNTIED, MINILM, fixtures_dir, greedy_new_tokens, minilm_weights, save_adapter_safetensors,
                    save_tensors, versions, write_json)

OUT = fixtures_dir("method-prefix")
LLAMA = LLAMA_UNTIED

VERSIONS = versions("adapters", "transformers", "torch", "safetensors")

SENTENCES = [
    "a gorgeous, witty movie.",
    "the plot is pure boilerplate and the acting is wooden.",
    "fine.",
]
STD = 0.5
PROMPT_INIT_TEXT = "a movie review"

# Adapters on MiniLM: (name, config, notes).
MINILM_ADAPTERS = [
    ("prefix", PrefixTuningConfig(prefix_length=5, bottleneck_size=8), "reparametrised (MLP); prefix_length 5, bottleneck_size 8 for size"),
    ("prefix_flat", PrefixTuningConfig(flat=True, prefix_length=5), "flat; prefix_length 5"),
    (
        "prefix_leave",
        PrefixTuningConfig(flat=True, prefix_length=4, leave_out=[0, 2, 5]),
        "flat with leave_out [0, 2, 5]: the pool serves layers 1, 3, 4 (n_layers 3)",
    ),
    (
        "prefix_gating",
        PrefixTuningConfig(flat=True, prefix_length=3, use_gating=True, shared_gating=False),
        "use_gating with separate key/value gates (Linear(384, 2)); flat, prefix_length 3",
    ),
    ("prompt", PromptTuningConfig(prompt_length=6), "combine 'prefix', prompt_length 6"),
    ("prompt_bos", PromptTuningConfig(prompt_length=6, combine="prefix_after_bos"), "combine 'prefix_after_bos', prompt_length 6"),
]
# Setups whose outputs are stored: (case, setup, notes).
MINILM_CASES = [
    ("prefix", "prefix", ""),
    ("prefix_flat", "prefix_flat", ""),
    ("prefix_leave", "prefix_leave", ""),
    ("prefix_gating", "prefix_gating", ""),
    ("prompt", "prompt", ""),
    ("prompt_bos", "prompt_bos", ""),
    ("stack_prefix", Stack("prefix", "prefix_flat"), "keys become [P_prefix_flat; P_prefix; K]"),
    ("stack_prompt_prefix", Stack("prompt", "prefix"), "prompt at the embeddings (first adapter), prefix in attention"),
]

GEN_NEW = 8


def randomize(model: torch.nn.Module, name: str, gen: torch.Generator) -> None:
    """Overwrites every parameter of adapter `name` (named_parameters lists shared ones once)."""
    markers = [f".prefix_tunings.{name}.", f".prefix_gates.{name}.", f".prompt_tunings.{name}."]
    with torch.no_grad():
        for key, p in model.named_parameters():
            if any(m in "." + key for m in markers):
                p.copy_(torch.randn(p.shape, generator=gen) * STD)


def save(model, folder: Path, name: str, keep_aliases: bool) -> list[str]:
    """save_adapter; prefix tuning via .bin (see the module docstring). Returns the saved keys."""
    save_adapter_safetensors(model, folder, name, keep_aliases=keep_aliases)
    # LlamaForCausalLM also writes its static LM head; these fixtures hold adapters only.
    for extra in ("head_config.json", "pytorch_model_head.bin", "model_head.safetensors"):
        (folder / extra).unlink(missing_ok=True)
    return sorted(load_file(str(folder / "adapter.safetensors")).keys())


def load_minilm(attn: str) -> BertModel:
    config = BertConfig.from_pretrained(MINILM, attn_implementation=attn)
    model = BertModel(config)
    model.load_state_dict(minilm_weights(), strict=False)
    model.eval()
    adapters.init(model)
    return model


def make_minilm(cases_out: dict) -> None:
    out = OUT / "minilm"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tok = AutoTokenizer.from_pretrained(MINILM)
    enc = tok(SENTENCES, padding=True, return_tensors="pt")
    write_json(out / "inputs.json", {
        "made_with": VERSIONS,
        "sentences": SENTENCES,
        "input_ids": enc["input_ids"].tolist(),
        "attention_mask": enc["attention_mask"].tolist(),
        "token_type_ids": enc["token_type_ids"].tolist(),
        "prompt_init_text": PROMPT_INIT_TEXT,
        "prompt_init_ids": tok(PROMPT_INIT_TEXT)["input_ids"],
    })
    models = {attn: load_minilm(attn) for attn in ("eager", "sdpa")}
    model = models["eager"]
    expected = {}
    with torch.no_grad():
        base = model(**enc).last_hidden_state
    expected["base.last_hidden_state"] = base

    torch.manual_seed(0)
    for i, (name, config, notes) in enumerate(MINILM_ADAPTERS):
        for m in models.values():
            m.add_adapter(name, config=config)
            randomize(m, name, torch.Generator().manual_seed(100 + i))
        keys = save(model, out / name, name, keep_aliases=False)
        cases_out["minilm_adapters"][name] = {"config": config.to_dict(), "notes": notes, "keys": keys}

    for case, setup, notes in MINILM_CASES:
        results = {}
        for attn, m in models.items():
            m.set_active_adapters(setup)
            with torch.no_grad():
                results[attn] = m(**enc).last_hidden_state
            m.set_active_adapters(None)
        h = results["eager"]
        expected[f"{case}.last_hidden_state"] = h
        # Token positions only (prompt positions have no base counterpart; 'prefix_after_bos' keeps token 0 first).
        p = h.shape[1] - base.shape[1]
        tokens = torch.cat([h[:, :1], h[:, 1 + p:]], 1) if "bos" in case else h[:, p:]
        delta = (tokens - base).abs().max().item()
        cases_out["minilm_cases"][case] = {
            "setup": str(setup),
            "notes": notes,
            "shape": list(h.shape),
            "max_abs_change_vs_base": delta,
            "max_abs_sdpa_vs_eager": (results["sdpa"] - h).abs().max().item(),
        }
        print(f"minilm {case}: {tuple(h.shape)}, change vs base {delta}, sdpa vs eager {(results['sdpa'] - h).abs().max().item():.3g}")

    # Python's eject gives the same outputs as the reparametrised prefix.
    model.set_active_adapters("prefix")
    model.eject_prefix_tuning("prefix")
    with torch.no_grad():
        ejected = model(**enc).last_hidden_state
    model.set_active_adapters(None)
    eject_delta = (ejected - expected["prefix.last_hidden_state"]).abs().max().item()
    cases_out["python_eject_max_abs_delta"] = eject_delta
    print(f"python eject: max |delta| {eject_delta:.3g}")

    # from_string init: the prompt rows equal the word embeddings of the tokenized text, repeated.
    model.config.tokenizer_name_or_path = str(MINILM)
    sconfig = PromptTuningConfig(prompt_length=10, prompt_init="from_string", prompt_init_text=PROMPT_INIT_TEXT)
    model.add_adapter("prompt_string", config=sconfig)
    keys = save(model, out / "prompt_string", "prompt_string", keep_aliases=False)
    cases_out["minilm_adapters"]["prompt_string"] = {
        "config": sconfig.to_dict(),
        "notes": f"prompt_init 'from_string' with '{PROMPT_INIT_TEXT}' (tokenizer: models/all-MiniLM-L6-v2), prompt_length 10; weights NOT randomised: they are the init",
        "keys": keys,
    }

    save_tensors(expected, out / "expected.safetensors", metadata=None)


def make_llama(cases_out: dict) -> None:
    out = OUT / "llama"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    core_case = json.loads((LLAMA / "case.json").read_text())
    config = LlamaConfig.from_pretrained(LLAMA, attn_implementation="eager")
    model = LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(load_file(str(LLAMA / "model.safetensors")), strict=False)
    assert not unexpected and all("rotary" in k for k in missing), (missing, unexpected)
    model.eval()
    adapters.init(model)

    # 'prefix' (gated) is compared on hidden states; 'prefix_gen' (no gate) on greedy generation.
    # The gate is the mean over the CURRENT forward call's positions, so with a KV cache a gated
    # prefix decodes differently from full re-runs (in Python as in adapterkit); without a gate both agree.
    specs = [
        ("prefix", PrefixTuningConfig(prefix_length=5, bottleneck_size=16, use_gating=True),
         "reparametrised, prefix_length 5, bottleneck_size 16, shared gate; n_heads = 2 KV heads (GQA). Saved WITH the pool aliases"),
        ("prefix_gen", PrefixTuningConfig(prefix_length=4, bottleneck_size=16),
         "reparametrised, prefix_length 4, bottleneck_size 16, no gate: used for greedy generation. Saved WITH the pool aliases"),
    ]
    torch.manual_seed(0)
    for i, (name, pconfig, notes) in enumerate(specs):
        model.add_adapter(name, config=pconfig)
        randomize(model, name, torch.Generator().manual_seed(7 + i))
        keys = save(model, out / name, name, keep_aliases=True)
        cases_out["llama_adapters"][name] = {"config": pconfig.to_dict(), "notes": notes, "keys": keys}

    ids = torch.tensor(core_case["input_ids"])
    mask = torch.tensor(core_case["attention_mask"])
    pos = torch.tensor(core_case["position_ids"])
    expected = {}
    with torch.no_grad():
        model.set_active_adapters(None)
        expected["base.last_hidden_state"] = model.model(input_ids=ids, attention_mask=mask, position_ids=pos).last_hidden_state
        for name, _, _ in specs:
            model.set_active_adapters(name)
            expected[f"{name}.last_hidden_state"] = model.model(input_ids=ids, attention_mask=mask, position_ids=pos).last_hidden_state
            delta = (expected[f"{name}.last_hidden_state"] - expected["base.last_hidden_state"]).abs().max().item()
            cases_out["llama_cases"][name] = {"setup": name, "max_abs_change_vs_base": delta}

    def greedy(prompts: list[list[int]]) -> list[list[int]]:
        # use_cache=False: with adapters 1.3.0 + transformers 4.57 the Llama KV cache is ignored
        # (the adapters' attention takes `past_key_value`, transformers passes `past_key_values`),
        # so cached HF generation is wrong even without an active adapter.
        return greedy_new_tokens(model, prompts, GEN_NEW, use_cache=False)

    gen_single = core_case["generate"]["prompt"]
    gen_batch = core_case["generate_batch"]["prompts"]
    model.set_active_adapters("prefix_gen")
    single = greedy([gen_single])[0]
    batch = greedy(gen_batch)
    model.set_active_adapters(None)
    base_single = greedy([gen_single])[0]
    print(f"llama: changes vs base {cases_out['llama_cases']}; greedy {single} (base {base_single}); batch {batch}")
    write_json(out / "case.json", {
        "made_with": VERSIONS,
        "input_ids": core_case["input_ids"],
        "attention_mask": core_case["attention_mask"],
        "position_ids": core_case["position_ids"],
        "generate": {"adapter": "prefix_gen", "prompt": gen_single, "max_new_tokens": GEN_NEW, "eos_token_id": config.eos_token_id,
                     "new_tokens": single, "base_new_tokens": base_single},
        "generate_batch": {"adapter": "prefix_gen", "prompts": gen_batch, "max_new_tokens": GEN_NEW, "eos_token_id": config.eos_token_id, "new_tokens": batch},
    })
    save_tensors(expected, out / "expected.safetensors", dtype=None, metadata=None)


def main() -> None:
    cases: dict = {"made_with": VERSIONS, "minilm_adapters": {}, "minilm_cases": {}, "llama_adapters": {}, "llama_cases": {}}
    make_minilm(cases)
    make_llama(cases)
    write_json(OUT / "cases.json", cases)
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
