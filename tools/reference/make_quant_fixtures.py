#!/usr/bin/env python3
"""Parity fixtures for @adapterkit/quant from bitsandbytes (CPU backend).

Requirements (pip, into tools/reference/.venv):
    torch safetensors numpy bitsandbytes
Made with: torch 2.15.0, safetensors 0.8.0, bitsandbytes 0.50.2 (its CPU backend:
quantize_4bit is the 'default' PyTorch implementation, the nested 8-bit absmax
quantization runs libbitsandbytes_cpu's quantize_blockwise, dequantize_4bit runs
the native CPU kernel or the default implementation for odd last dimensions).

Run from the repository root:
    tools/reference/.venv/bin/python tools/reference/make_quant_fixtures.py

Writes packages/quant/test/fixtures/bnb/
  codes.json            NF4 / FP4 code tables (get_4bit_type) and the 8-bit dynamic map
                        (create_dynamic_map) as float32 values, the FP4 bucketize order
  cases.json            per case: matrix name, shape, format, blocksize, double quant,
                        nested offset, the quant_state JSON bnb packs into
                        `weight.quant_state.bitsandbytes__<type>`
  cases.safetensors     the input matrices (f32) and, per case, bnb's packed codes (u8),
                        absmax (f32, or u8 + nested_absmax f32 with double quant), and the
                        dequantized matrix (f32); int8: codes (i8), SCB (f32), dequantized
  linear4bit.safetensors  the state_dict of a bnb.nn.Linear4bit (nf4, double quant) exactly as
                          bnb serialises it (keys weight, weight.absmax, weight.quant_map,
                          weight.nested_absmax, weight.nested_quant_map,
                          weight.quant_state.bitsandbytes__nf4, bias), plus x and y = layer(x)

Matrices (seeded): 'w' [100, 203] ~ N(0, 0.02²) with a few outliers (20300 values: 318
blocks of 64 with a partial last block, so two nested absmax blocks of 256); 'small'
[3, 7] (odd element count: the last byte is padded); 'edge' [4, 64]: an all-zero block,
values tiny relative to the block absmax (the FP4 ±0 codes) and exact code midpoints.
Total size ~0.8 MB.
"""

from __future__ import annotations

import numpy as np
import torch
import bitsandbytes as bnb
import bitsandbytes.functional as F
from safetensors.torch import save_file

from common import fixtures_dir, write_json

OUT = fixtures_dir("quant") / "bnb"


def matrices() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1234)
    w = torch.randn(100, 203, generator=g) * 0.02
    # A few outliers, as real weight matrices have.
    idx = torch.randint(0, w.numel(), (12,), generator=g)
    w.view(-1)[idx] = torch.randn(12, generator=g) * 0.3
    small = torch.randn(3, 7, generator=g)
    edge = torch.randn(4, 64, generator=g)
    edge[1] = 0.0  # a whole block of zeros (absmax 0)
    edge[2, :8] = torch.tensor([1e-6, -1e-6, 0.0, -0.0, 2e-3, -2e-3, 1.0, -0.5])  # tiny vs absmax 1
    edge[2, 8:] = edge[2, 8:].clamp(-0.9, 0.9)
    # Exact NF4 midpoints (between code 8 and 9, 11 and 12) in a block with absmax 1.
    nf4 = F.get_4bit_type("nf4", device="cpu")
    edge[3, 0] = 1.0
    edge[3, 1] = (nf4[8] + nf4[9]) / 2
    edge[3, 2] = (nf4[11] + nf4[12]) / 2
    edge[3, 3] = -(nf4[8] + nf4[9]) / 2
    return {"w": w.contiguous(), "small": small.contiguous(), "edge": edge.contiguous()}


def main() -> None:
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    mats = matrices()
    tensors: dict[str, torch.Tensor] = {f"input.{k}": v for k, v in mats.items()}
    cases = []

    for mat in mats:
        A = mats[mat]
        for qt in ("nf4", "fp4"):
            for bs in (64, 128):
                for dq in (False, True):
                    if bs == 128 and (mat != "w" or qt != "nf4"):
                        continue
                    name = f"{mat}.{qt}.b{bs}.{'dq' if dq else 'plain'}"
                    q, st = F.quantize_4bit(A, blocksize=bs, quant_type=qt, compress_statistics=dq)
                    deq = F.dequantize_4bit(q, st)
                    tensors[f"{name}.packed"] = q.reshape(-1).contiguous()
                    tensors[f"{name}.dequant"] = deq.float().contiguous()
                    if dq:
                        tensors[f"{name}.absmax"] = st.absmax.contiguous()  # u8 codes
                        tensors[f"{name}.nested_absmax"] = st.state2.absmax.float().contiguous()
                        tensors[f"{name}.nested_quant_map"] = st.state2.code.float().contiguous()
                        # The float absmax bnb dequantizes from the nested state.
                        am = F.dequantize_blockwise(st.absmax, st.state2) + st.offset
                        tensors[f"{name}.absmax_dequant"] = am.float().contiguous()
                    else:
                        tensors[f"{name}.absmax"] = st.absmax.float().contiguous()
                    packed = st.as_dict(packed=True)
                    qs_json = bytes(packed[f"quant_state.bitsandbytes__{qt}"].tolist()).decode("utf-8")
                    cases.append({
                        "name": name, "matrix": mat, "shape": list(A.shape), "format": qt, "blocksize": bs,
                        "double_quant": dq, "offset": float(st.offset) if dq else None,
                        "quant_state_json": qs_json,
                    })
        # LLM.int8-style row-wise absmax, no outlier decomposition (threshold 0).
        cb, scb, _ = F.int8_vectorwise_quant(A.clone())
        name = f"{mat}.int8"
        tensors[f"{name}.codes"] = cb.contiguous()
        tensors[f"{name}.scb"] = scb.float().contiguous()
        tensors[f"{name}.dequant"] = F.int8_vectorwise_dequant(cb, scb).float().contiguous()
        cases.append({"name": name, "matrix": mat, "shape": list(A.shape), "format": "int8"})

    save_file(tensors, str(OUT / "cases.safetensors"), metadata={"bitsandbytes": bnb.__version__})

    from bitsandbytes.backends.default.ops import _get_4bit_quantize_bounds

    codes = {
        "bitsandbytes": bnb.__version__,
        "nf4": [float(v) for v in F.get_4bit_type("nf4", device="cpu").tolist()],
        "fp4": [float(v) for v in F.get_4bit_type("fp4", device="cpu").tolist()],
        "fp4_sort_order": _get_4bit_quantize_bounds("fp4", torch.device("cpu"))[1].tolist(),
        "dynamic": [float(v) for v in F.create_dynamic_map().tolist()],
    }
    write_json(OUT / "codes.json", codes, indent=1)
    write_json(OUT / "cases.json", {"bitsandbytes": bnb.__version__, "cases": cases}, indent=1)

    # A bnb Linear4bit, serialised as bnb does (the layout saveQuantized writes).
    g = torch.Generator().manual_seed(99)
    dense = torch.nn.Linear(96, 40)
    with torch.no_grad():
        dense.weight.copy_(torch.randn(40, 96, generator=g) * 0.05)
        dense.bias.copy_(torch.randn(40, generator=g) * 0.1)
    lin = bnb.nn.Linear4bit(96, 40, bias=True, compute_dtype=torch.float32, compress_statistics=True, quant_type="nf4")
    lin.load_state_dict(dense.state_dict())
    lin = lin.to("cpu")  # quantizes (Params4bit._quantize)
    x = torch.randn(5, 96, generator=g)
    with torch.no_grad():
        y = lin(x)
    sd = {k: v.contiguous() for k, v in lin.state_dict().items()}
    sd["x"] = x
    sd["y"] = y.float().contiguous()
    save_file(sd, str(OUT / "linear4bit.safetensors"), metadata={"bitsandbytes": bnb.__version__})
    print("keys:", sorted(sd))
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(cases)} cases to {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
