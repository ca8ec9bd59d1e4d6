#!/usr/bin/env python3
"""Round trip TypeScript → Python for @adapterkit/method-bottleneck.

1. Runs packages/method-bottleneck/scripts/save-for-python.ts (npx tsx), which adds every
   case of packages/method-bottleneck/test/fixtures/cases.json with seeded random weights,
   saves the adapters with the TS saveAdapter and records the TS last_hidden_state.
2. Loads each saved adapter here with the Python library (load_adapter(use_safetensors=True))
   into all-MiniLM-L6-v2 / the tiny Llama, activates the same setup, and compares.

Requirements (pip, into tools/reference/.venv-adapters):
    adapters==1.3.0 transformers==4.57.6 torch safetensors tokenizers
Also Node 20 with the workspace installed and @adapterkit/core built
(cd packages/core && npx tsup).

Run from the repository root:
    tools/reference/.venv-adapters/bin/python tools/reference/check_bottleneck_roundtrip.py
Exits non-zero when a case differs by more than 1e-4 (max |Δ|) or a weight is not loaded.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from adapters.composition import Stack
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROUNDTRIP_TOL as TOL, fixtures_dir, run_typescript  # noqa: E402
from make_bottleneck_fixtures import load_llama, load_minilm  # noqa: E402


def check(label: str, cases: dict, make_model, forward, out: Path) -> list[str]:
    expected = load_file(out / label / "expected.safetensors")
    failures: list[str] = []
    for case, spec in cases.items():
        model, base = make_model(spec.get("saved_from") == "BertAdapterModel" and "adapter_model" or "plain")
        for name in spec["adapters"]:
            info: dict = {}
            model.load_adapter(str(out / label / name), use_safetensors=True, loading_info=info)
            # Every weight of the Python adapter must come from the file.
            missing = [k for k in info.get("missing_keys", []) if f".{name}." in k or f"_{name}." in k]
            # ln_before: Python also lists the twice-registered LayerNorm as adapter_down.0 (same tensor, loaded).
            missing = [k for k in missing if not (k.endswith(("adapter_down.0.weight", "adapter_down.0.bias")) and "ln_before=True" in spec["adapters"][name])]
            if missing or info.get("unexpected_keys"):
                failures.append(f"{label}/{case}: {name}: missing {missing}, unexpected {info.get('unexpected_keys')}")
        setup = Stack(*spec["setup"]) if len(spec["setup"]) > 1 else spec["setup"][0]
        model.set_active_adapters(setup)
        model.eval()
        with torch.no_grad():
            out_py = forward(base)
        d = (out_py - expected[f"{case}.last_hidden_state"]).abs().max().item()
        print(f"{label}/{case}: max |Δ| (Python load of the TS-saved adapter vs TS) = {d:.2e}")
        if not d <= TOL:
            failures.append(f"{label}/{case}: max |Δ| {d:.2e} > {TOL}")
    return failures


def main() -> int:
    cases = json.loads((fixtures_dir("method-bottleneck") / "cases.json").read_text())
    with tempfile.TemporaryDirectory(prefix="adapterkit-bn-roundtrip-") as tmp:
        out = Path(tmp)
        run_typescript("method-bottleneck", "scripts/save-for-python.ts", out)

        bert_inputs = json.loads((out / "minilm" / "inputs.json").read_text())
        enc = {k: torch.tensor(bert_inputs[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
        failures = check("minilm", cases["minilm"], load_minilm, lambda base: base(**enc).last_hidden_state, out)

        llama_ids = torch.tensor(json.loads((out / "llama" / "inputs.json").read_text())["input_ids"])

        def make_llama(_kind):
            m = load_llama()
            return m, m

        failures += check("llama", cases["llama"], make_llama, lambda base: base(input_ids=llama_ids).last_hidden_state, out)
    for f in failures:
        print("FAIL", f)
    print("all cases match" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
