#!/usr/bin/env python3
"""Round trip TypeScript -> Python for @adapterkit/composition.

1. Runs packages/composition/scripts/save-for-python.ts (npx tsx): on the tiny BERT of core's
   fixtures it adds three seq_bn adapters and two fusions (dynamic 'a,b', static 'bc_static') with
   seeded random weights, saves them with saveAdapter / saveAdapterFusion / saveAdapterSetup, and
   records the TS last_hidden_state of Fuse, Stack(Fuse), Parallel, BatchSplit, Split and Average.
2. Loads them here with the Python library (load_adapter, load_adapter_fusion and load_adapter_setup,
   use_safetensors=True), activates the same setups, and compares.

Average: adapterkit's Average(w) is sum_i w_i h_i; Python's is (1/N) sum_i w_i h_i (quirk Q3), so Python
runs it with weights N*w and normalize_weights=False.

Requirements (pip, into tools/reference/.venv-adapters):
    adapters==1.3.0 transformers==4.57.6 torch safetensors
Also Node 20 with the workspace installed and core, method-bottleneck, method-lora, method-prefix built
(npx tsup in each).

Run from the repository root:
    tools/reference/.venv-adapters/bin/python tools/reference/check_composition_roundtrip.py
Exits non-zero when a case differs by more than 1e-4 (max |diff|) or a weight is not loaded.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from adapters.composition import AdapterCompositionBlock, Average
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROUNDTRIP_TOL as TOL, run_typescript  # noqa: E402
from make_composition_fixtures import load_tiny_bert  # noqa: E402


def python_setup(d: dict):
    setup = AdapterCompositionBlock.from_dict(d)
    if isinstance(setup, Average):
        n = len(setup.children)
        return Average(*setup.children, weights=[n * w for w in setup.weights], normalize_weights=False)
    return setup


def main() -> int:
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        run_typescript("composition", "scripts/save-for-python.ts", out)
        expected = load_file(out / "expected.safetensors")
        cases = json.loads((out / "cases.json").read_text())
        inputs = json.loads((out / "inputs.json").read_text())
        ids = torch.tensor(inputs["input_ids"])
        mask = torch.tensor(inputs["attention_mask"])

        model = load_tiny_bert()
        for name in ("a", "b", "c"):
            info: dict = {}
            model.load_adapter(str(out / name), use_safetensors=True, loading_info=info)
            if info.get("missing_keys") or info.get("unexpected_keys"):
                failures.append(f"adapter {name}: {info}")
        for fusion in ("a,b", "bc_static"):
            info = {}
            loaded = model.load_adapter_fusion(str(out / fusion), use_safetensors=True, loading_info=info)
            assert loaded == fusion, loaded
            missing = [k for k in info.get("missing_keys", []) if "adapter_fusion_layer" in k]
            if missing or info.get("unexpected_keys"):
                failures.append(f"fusion {fusion}: missing {missing}, unexpected {info.get('unexpected_keys')}")
        for case, d in cases.items():
            model.set_active_adapters(python_setup(d))
            with torch.no_grad():
                h = model(input_ids=ids, attention_mask=mask).last_hidden_state
            diff = (h - expected[f"{case}.last_hidden_state"]).abs().max().item()
            print(f"{case}: max |diff| (Python load of the TS-saved adapters/fusions vs TS) = {diff:.2e}")
            if not diff <= TOL:
                failures.append(f"{case}: {diff:.3e}")

        fresh = load_tiny_bert()
        setup, _head = fresh.load_adapter_setup(str(out / "setup"), set_active=True, use_safetensors=True)
        with torch.no_grad():
            h = fresh(input_ids=ids, attention_mask=mask).last_hidden_state
        diff = (h - expected["stack_fuse.last_hidden_state"]).abs().max().item()
        print(f"load_adapter_setup ({setup}): max |diff| = {diff:.2e}")
        if not diff <= TOL:
            failures.append(f"setup: {diff:.3e}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("all cases within", TOL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
