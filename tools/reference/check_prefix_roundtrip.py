#!/usr/bin/env python3
"""Round trip adapterkit -> Python for prefix and prompt tuning.

Requirements (pip, into tools/reference/.venv-adapters):
    adapters==1.3.0 transformers==4.57.6 torch safetensors
Needs node/pnpm (the workspace installed and packages/core built: `cd packages/core && npx tsup`).

Run from the repository root:
    tools/reference/.venv-adapters/bin/python tools/reference/check_prefix_roundtrip.py [--keep DIR]

1. Runs `npx tsx scripts/save-for-python.ts DIR` in packages/method-prefix: adapterkit
   adds prefix/prompt adapters to all-MiniLM-L6-v2 and the tiny Llama, randomises
   them (seeded), saves each with saveAdapter (the default Python layout, or the
   flat form for the '*_ejected' ones) and stores its own last_hidden_state.
2. Loads every folder here with load_adapter(..., use_safetensors=True) into a
   fresh model (eager attention, as the fixtures), checks that every weight of
   the adapter was loaded from the file (Python only logs missing weights), and
   compares last_hidden_state with adapterkit's. Fails above 1e-4.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import adapters
import torch
from adapters.methods.prefix_tuning import FlatPrefixTuning
from safetensors.torch import load_file
from transformers import BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import LLAMA_UNTIED as LLAMA, MINILM, ROUNDTRIP_TOL as TOL, fixtures_dir, minilm_weights, run_typescript  # noqa: E402


def minilm():
    model = BertModel(BertConfig.from_pretrained(MINILM, attn_implementation="eager"))
    model.load_state_dict(minilm_weights(), strict=False)
    adapters.init(model)
    return model.eval()


def llama():
    model = LlamaForCausalLM(LlamaConfig.from_pretrained(LLAMA, attn_implementation="eager"))
    model.load_state_dict(load_file(str(LLAMA / "model.safetensors")), strict=False)
    adapters.init(model)
    return model.eval()


def check_loaded(model, folder: Path, name: str) -> None:
    """Every adapter tensor of the model must equal the file's tensor of the same (canonical) name."""
    saved = load_file(str(folder / "adapter.safetensors"))
    state = model.state_dict()
    prefix = "model." if any(k.startswith("model.") for k in state) else ""
    markers = [f".prefix_tunings.{name}.", f".prefix_gates.{name}.", f".prompt_tunings.{name}."]
    checked = 0
    for key, value in state.items():
        if not any(m in "." + key for m in markers):
            continue
        canonical = key
        if ".prefix_tuning.pool.prefix_tunings." in key:  # the pool's aliases under every attention layer
            canonical = prefix + "prefix_tuning.prefix_tunings." + key.split(".prefix_tuning.pool.prefix_tunings.", 1)[1]
        file_key = canonical[len(prefix):] if canonical[len(prefix):] in saved else canonical
        if file_key not in saved:
            sys.exit(f"{folder}: Python weight {key} has no counterpart in the file ({sorted(saved)})")
        if not torch.equal(value, saved[file_key]):
            sys.exit(f"{folder}: {key} was not loaded from the file")
        checked += 1
    if checked == 0:
        sys.exit(f"{folder}: Python created no weights for adapter {name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", help="write the TS output here and keep it")
    args = parser.parse_args()
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="prefix-roundtrip-"))
    run_typescript("method-prefix", "scripts/save-for-python.ts", out)
    manifest = json.loads((out / "manifest.json").read_text())
    outputs = load_file(str(out / "outputs.safetensors"))
    results = {}
    failed = False

    enc = json.loads((fixtures_dir("method-prefix") / "minilm" / "inputs.json").read_text())
    bert_in = {k: torch.tensor(enc[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
    case = json.loads((fixtures_dir("method-prefix") / "llama" / "case.json").read_text())
    llama_in = {k: torch.tensor(case[k]) for k in ("input_ids", "attention_mask", "position_ids")}

    for tag, make, inputs in (("minilm", minilm, bert_in), ("llama", llama, llama_in)):
        for spec in manifest[tag]["adapters"]:
            name = spec["name"]
            folder = out / tag / name
            model = make()
            loaded = model.load_adapter(str(folder), use_safetensors=True, set_active=True)
            check_loaded(model, folder, loaded)
            base = model.model if tag == "llama" else model
            flat = any(isinstance(m, FlatPrefixTuning) for m in model.modules())
            with torch.no_grad():
                h = base(**inputs).last_hidden_state
            d = (h - outputs[f"{tag}/{name}"]).abs().max().item()
            results[f"{tag}/{name}"] = {"max_abs_delta": d, "python_module_flat": flat}
            failed |= not d <= TOL
            print(f"{tag}/{name}: max |delta| {d:.3g}{' (loaded as FlatPrefixTuning)' if flat else ''}")
    print(json.dumps(results, indent=2))
    if failed:
        sys.exit(f"round trip above {TOL}")


if __name__ == "__main__":
    main()
