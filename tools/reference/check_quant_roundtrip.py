#!/usr/bin/env python3
"""Checks that bitsandbytes reads what @adapterkit/quant's saveQuantized writes.

Requirements (pip, into tools/reference/.venv):
    torch safetensors bitsandbytes
Checked with: torch 2.15.0, safetensors 0.8.0, bitsandbytes 0.50.2 (CPU backend).

Run from the repository root (it runs the TS side first, with npx tsx):
    tools/reference/.venv/bin/python tools/reference/check_quant_roundtrip.py

Steps:
 1. packages/quant/scripts/save-for-python.mts quantizes the tiny Llama of core's fixtures three
    ways (NF4 + double quant, FP4 block 128, int8) and saves each with saveQuantized, plus the
    dense weights the TS kernels dequantize and a probe output per layer.
 2. Here, every quantized layer is rebuilt from the saved tensors the way Hugging Face loads
    pre-quantized checkpoints: 4-bit with bnb.nn.Params4bit.from_prequantized (the
    `weight.quant_state.bitsandbytes__*` JSON + absmax/quant_map/nested tensors), 8-bit with
    Int8Params(weight) + SCB. The layer is dequantized by bitsandbytes (dequantize_4bit /
    int8_vectorwise_dequant) and run as bnb.nn.Linear4bit (fp32 compute) on the probe input.
Compares max |delta| with the TS values; exits non-zero above 1e-5.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
import bitsandbytes as bnb
import bitsandbytes.functional as F
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import run_typescript  # noqa: E402


def main() -> int:
    torch.manual_seed(0)
    worst = 0.0
    with tempfile.TemporaryDirectory() as out:
        run_typescript("quant", "scripts/save-for-python.mts", out)
        for variant in ("nf4-dq", "fp4-b128", "int8"):
            d = Path(out) / variant
            cfg = json.loads((d / "quant_config.json").read_text())
            sd = load_file(str(d / "model.safetensors"))
            exp = load_file(str(d / "expected.safetensors"))
            x = exp["probe.x"]
            dq_err = 0.0
            y_err = 0.0
            for layer, entry in cfg["layers"].items():
                if entry["bits"] == 4:
                    stats = {k[len(layer) + len(".weight."):]: v for k, v in sd.items() if k.startswith(f"{layer}.weight.")}
                    w = bnb.nn.Params4bit.from_prequantized(data=sd[f"{layer}.weight"], quantized_stats=stats, requires_grad=False, device="cpu")
                    dense = F.dequantize_4bit(w.data, w.quant_state)
                    lin = bnb.nn.Linear4bit(entry["shape"][1], entry["shape"][0], bias=f"{layer}.bias" in sd, compute_dtype=torch.float32)
                    lin.weight = w
                else:
                    dense = F.int8_vectorwise_dequant(sd[f"{layer}.weight"], sd[f"{layer}.SCB"])
                    lin = None
                dq_err = max(dq_err, (dense.float() - exp[f"{layer}.dense"]).abs().max().item())
                if f"{layer}.y" in exp:
                    with torch.no_grad():
                        y = lin(x) if lin is not None else torch.nn.functional.linear(x, dense.float())
                    y_err = max(y_err, (y.float() - exp[f"{layer}.y"]).abs().max().item())
            print(f"{variant:9s} {len(cfg['layers'])} layers: bitsandbytes dequantization vs TS max |delta| {dq_err:.3e}; layer outputs {y_err:.3e}")
            worst = max(worst, dq_err, y_err)
    print(f"bitsandbytes {bnb.__version__}: worst max |delta| {worst:.3e}")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
