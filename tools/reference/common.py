"""Pieces shared by the scripts in tools/reference (not a script of its own).

Repository paths, package versions for the fixtures' records, the JSON and
safetensors writers behind the committed fixtures, the MiniLM / tiny Llama
loaders, greedy generation, saving `adapters` adapters as safetensors, and
running the TypeScript side of a round trip.

Both venvs import it (.venv: transformers 5.x; .venv-adapters: adapters 1.3.0,
transformers 4.57), so at import time it needs only torch and safetensors;
`adapters` and `transformers` are imported inside the functions that use them.
The scripts import it as `from common import ...` (Python puts a script's own
folder on sys.path).
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file, save_file

# ---------------------------------------------------------------- paths

ROOT = Path(__file__).resolve().parents[2]  # the repository root
SHARED_DATA = ROOT.parent / "shared" / "data"  # data sets and models beside the checkout
MINILM = ROOT / "models" / "all-MiniLM-L6-v2"  # the embedded model (F16 weights)
CORE_FIXTURES = ROOT / "packages" / "core" / "test" / "fixtures"
TINY_BERT = CORE_FIXTURES / "bert" / "bert"  # random tiny BertModel (hidden 32, 2 layers)
LLAMA_UNTIED = CORE_FIXTURES / "llama" / "tiny-untied"  # random tiny LlamaForCausalLM, own LM head
LLAMA_TIED = CORE_FIXTURES / "llama" / "tiny-tied"  # the same with the LM head tied to the embeddings


def package_dir(package: str) -> Path:
    """packages/<package> of the workspace."""
    return ROOT / "packages" / package


def fixtures_dir(package: str) -> Path:
    """packages/<package>/test/fixtures, where a package's committed fixtures live."""
    return package_dir(package) / "test" / "fixtures"


# ---------------------------------------------------------------- versions


def versions(*packages: str) -> dict[str, str]:
    """{package: installed version}, in the order given, for the fixtures' "versions" / "made_with"
    records: versions("torch", "transformers"). Reads the module's __version__ ('-' -> '_' in the name)."""
    return {p: importlib.import_module(p.replace("-", "_")).__version__ for p in packages}


# ---------------------------------------------------------------- JSON


def lists_of(*types: type) -> Callable[[list], bool]:
    """A format_json `expand` rule: one item a line for the lists whose items are all of `types`."""
    return lambda items: all(isinstance(v, types) for v in items)


def not_all_numbers(items: list) -> bool:
    """The default format_json `expand` rule: lists of numbers stay on one line, other lists get one item a line."""
    return not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items)


def format_json(value: Any, *, expand: Callable[[list], bool] = not_all_numbers, ensure_ascii: bool = True, indent: int = 0) -> str:
    """JSON with two-space indents, readable and small in diffs: a non-empty dict gets one key a line, a
    non-empty list one item a line when expand(list) is true; anything else is json.dumps on one line
    (so `expand` decides which lists, such as id matrices' rows, stay on one line)."""
    pad = "  " * indent
    inner = dict(expand=expand, ensure_ascii=ensure_ascii, indent=indent + 1)
    if isinstance(value, dict) and value:
        items = [f"{pad}  {json.dumps(k)}: {format_json(v, **inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and expand(value):
        items = [f"{pad}  {format_json(v, **inner)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=ensure_ascii)


def write_json(
    path: Path | str,
    value: Any,
    *,
    indent: int | None = None,
    ensure_ascii: bool = True,
    expand: Callable[[list], bool] = not_all_numbers,
) -> None:
    """Writes `value` and a newline to `path` (UTF-8), creating its folder: laid out by format_json(value,
    expand=..., ensure_ascii=...), or, when `indent` is given, by json.dumps(value, indent=indent, ensure_ascii=...)."""
    if indent is None:
        text = format_json(value, expand=expand, ensure_ascii=ensure_ascii)
    else:
        text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


# ---------------------------------------------------------------- tensors

PT_METADATA = {"format": "pt"}  # the header metadata transformers' save_pretrained writes


def save_tensors(
    tensors: dict[str, torch.Tensor],
    path: Path | str,
    *,
    dtype: torch.dtype | None = torch.float32,
    metadata: dict[str, str] | None = PT_METADATA,
) -> None:
    """Saves `tensors` as a .safetensors file: detached, cast to `dtype` (None: each keeps its own) and copied
    contiguous (so tensors that share memory, such as last_hidden_state and hidden_states[-1], save too),
    with `metadata` in the header (None: no metadata), readable by everyone."""
    out = {}
    for k, v in tensors.items():
        v = v.detach() if dtype is None else v.detach().to(dtype)
        out[k] = v.clone(memory_format=torch.contiguous_format)
    save_file(out, str(path), metadata=metadata)
    Path(path).chmod(0o644)  # save_file may create files readable by the owner only


# ---------------------------------------------------------------- models


def minilm_weights() -> dict[str, torch.Tensor]:
    """The state dict of models/all-MiniLM-L6-v2 (HF BertModel names): its F16 weights upcast to F32, as
    the TypeScript loader does."""
    return {k: v.to(torch.float32) for k, v in load_file(MINILM / "model.safetensors").items()}


def llama_base_weights(folder: Path) -> dict[str, torch.Tensor]:
    """The LlamaModel part of a saved LlamaForCausalLM (folder/model.safetensors): the 'model.' keys
    without that prefix, in F32."""
    weights = load_file(folder / "model.safetensors")
    return {k[len("model."):]: v.to(torch.float32) for k, v in weights.items() if k.startswith("model.")}


def load_tiny_llama_with_adapters(folder: Path):
    """A tiny Llama of core's fixtures as HF LlamaModel + adapters.init, eager attention, eval mode, for
    transformers 4.x: the config is rebuilt from config.json without the keys transformers 5 wrote there
    (rope_parameters, dtype, transformers_version), rope_theta taken from rope_parameters."""
    import adapters
    from transformers import LlamaConfig, LlamaModel

    raw = json.loads((folder / "config.json").read_text())
    config = LlamaConfig(**{k: v for k, v in raw.items() if k not in ("rope_parameters", "dtype", "transformers_version")},
                         rope_theta=raw["rope_parameters"]["rope_theta"], attn_implementation="eager")
    model = LlamaModel(config)
    model.load_state_dict(llama_base_weights(folder), strict=True)
    adapters.init(model)
    return model.eval()


def greedy_new_tokens(model, prompts: list[list[int]], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
    """HF greedy generate on the prompts, left-padded with the model's pad token into one batch; returns
    each row's new tokens, up to and including its first EOS (the model config's eos_token_id)."""
    pad, eos = model.config.pad_token_id, model.config.eos_token_id
    width = max(len(p) for p in prompts)
    input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    with torch.no_grad():
        out = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                             use_cache=use_cache, eos_token_id=eos, pad_token_id=pad)
    rows = []
    for r in out[:, width:].tolist():
        row = []
        for t in r:
            row.append(t)
            if t == eos:
                break
        rows.append(row)
    return rows


# ---------------------------------------------------------------- adapters


def save_adapter_safetensors(
    model,
    folder: Path,
    name: str,
    *,
    via_bin: bool = False,
    keep_aliases: bool = False,
    metadata: dict[str, str] | None = None,
) -> None:
    """model.save_adapter(folder, name, use_safetensors=True) into an emptied `folder`.

    adapters 1.3.0 cannot save tensors registered under two names that way (safetensors refuses tensors
    that "share memory": a prefix-tuning pool is also registered under every attention layer, a bottleneck's
    ln_before LayerNorm is also adapter_down.0). Then - or always, with `via_bin` - the adapter is saved as
    pytorch_adapter.bin and converted to adapter.safetensors (with `metadata` in the header):
    `keep_aliases` keeps every key (tensors cloned), otherwise the prefix pool's per-layer aliases
    ('.prefix_tuning.pool.' keys) are dropped, so one copy of each tensor stays."""
    if folder.exists():
        shutil.rmtree(folder)
    if not via_bin:
        try:
            model.save_adapter(str(folder), name, use_safetensors=True)
            return
        except RuntimeError as e:
            if "share memory" not in str(e):
                raise
            shutil.rmtree(folder, ignore_errors=True)
    model.save_adapter(str(folder), name, use_safetensors=False)
    state = torch.load(folder / "pytorch_adapter.bin", map_location="cpu", weights_only=True)
    if keep_aliases:
        state = {k: v.clone().contiguous() for k, v in state.items()}
    else:
        state = {k: v.contiguous() for k, v in state.items() if ".prefix_tuning.pool." not in k}
    save_file(state, str(folder / "adapter.safetensors"), metadata=metadata)
    (folder / "pytorch_adapter.bin").unlink()


# ---------------------------------------------------------------- round trips

ROUNDTRIP_TOL = 1e-4  # max |delta| allowed between Python and TypeScript in the check_*_roundtrip.py scripts


def run_typescript(package: str, script: str, *args: Any, capture: bool = False) -> str:
    """Runs `npx tsx <script> <args...>` in packages/<package> (the TypeScript side of a round trip; needs
    Node and the workspace installed). Returns its stdout when `capture`, else ''. Raises when it fails."""
    done = subprocess.run(["npx", "tsx", script, *map(str, args)], cwd=package_dir(package), check=True,
                          capture_output=capture, text=capture)
    return done.stdout if capture else ""
