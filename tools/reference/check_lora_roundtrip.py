#!/usr/bin/env python3
"""Round trip TypeScript -> Python for @adapterkit/method-lora.

Requirements (pip, into tools/reference/.venv-adapters):
    adapters==1.3.0 transformers==4.57.6 torch safetensors
plus Node 20 and the workspace installed (pnpm install; core built with tsup).

Run from the repository root:
    tools/reference/.venv-adapters/bin/python tools/reference/check_lora_roundtrip.py

1. Runs `npx tsx scripts/save-for-python.ts <tmp>` in packages/method-lora: it
   adds LoRA / IA3 / DoRA / gated / stacked adapters to all-MiniLM-L6-v2 and
   the tiny Llama in TypeScript, randomises their weights (seeded), saves them
   with saveAdapter and writes the TypeScript last_hidden_state of each case.
2. Loads every saved adapter in Python with load_adapter(use_safetensors=True)
   into a fresh HF model + adapters.init, activates the same setup and compares
   last_hidden_state (Llama: real tokens only). Prints max |diff| per case and
   exits 1 if any exceeds 1e-4.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from adapters import Stack
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROUNDTRIP_TOL as TOL, run_typescript  # noqa: E402
from make_lora_fixtures import llama_model, minilm_model  # noqa: E402


def main() -> int:
    torch.set_num_threads(1)
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="lora-roundtrip-") as tmp:
        run_typescript("method-lora", "scripts/save-for-python.ts", tmp)
        spec = json.loads((Path(tmp) / "cases.json").read_text())
        for kind, make in (("minilm", minilm_model), ("llama", llama_model)):
            inputs = spec[kind]["inputs"]
            kwargs = {k: torch.tensor(v) for k, v in inputs.items() if k in ("input_ids", "attention_mask", "token_type_ids", "position_ids")}
            mask = torch.tensor(inputs["attention_mask"]).bool()
            expected = load_file(Path(tmp) / kind / "expected.safetensors")
            for case, c in spec[kind]["cases"].items():
                model = make()
                for a in c["adapters"]:
                    name = model.load_adapter(str(Path(tmp) / kind / a["name"]), use_safetensors=True)
                    assert name == a["name"], (name, a["name"])
                model.set_active_adapters(Stack(*c["active"]))
                with torch.no_grad():
                    got = model(**kwargs).last_hidden_state
                want = expected[f"{case}.last_hidden_state"]
                diff = (got - want).abs()
                if kind == "llama":
                    diff = diff[mask]  # padded query rows are not compared (as the Llama parity tests)
                d = diff.max().item()
                worst = max(worst, d)
                note = f"  ({c['notes']})" if c.get("notes") else ""
                print(f"{kind}/{case} [{c['semantics']} semantics]: max |diff| {d:.2e}{note}")
    print(f"worst: {worst:.2e} (tolerance {TOL:.0e})")
    return 0 if worst <= TOL else 1


if __name__ == "__main__":
    sys.exit(main())
