#!/usr/bin/env python3
"""Parity fixtures for the Llama family and the real tiny model stories260K.

Requirements (pip, into tools/reference/.venv):
    torch transformers safetensors numpy gguf
Made with: torch 2.15.0, transformers 5.23.0, safetensors 0.8.0, gguf 0.19.0.

Run from the repository root:
    tools/reference/.venv/bin/python tools/reference/make_llama_fixtures.py

Writes packages/core/test/fixtures/llama/
  tiny-untied/, tiny-tied/      a random tiny LlamaForCausalLM (hidden 32, 2 layers,
                                4 heads, 2 KV heads, intermediate 64, vocab 101), untied
                                and tied LM head
      config.json, model.safetensors   as save_pretrained writes them ('model.' prefix,
                                       lm_head.weight only when untied)
      case.json          inputs (padded batch: full, left-padded, right-padded rows),
                         position ids, labels, loss definition, greedy generations
      expected.safetensors
          last_hidden_state, hidden_states.{0..2}, logits        [3, 7, ...]
          grad.embed_tokens, grad.q_proj_1                        d loss / d param
  stories260k.json              prompt ids (HF tokenizer), greedy continuation (HF and an
                                independent numpy llama2.c-style forward, which must agree),
                                decoded text, prompt logits, tokenizer cases

The tiny models run in float32 with attn_implementation='eager'. Their weights
are drawn from a seeded generator with scales large enough that attention is
neither uniform nor one-hot and norm weights are not all ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from common import CORE_FIXTURES, SHARED_DATA, greedy_new_tokens, save_tensors, versions, write_json

OUT = CORE_FIXTURES / "llama"
STORIES_DIR = SHARED_DATA / "models" / "stories260K"
STORIES_FILE = "stories260K.gguf"

# A padded batch: row 0 full, row 1 left-padded by 2, row 2 right-padded by 3.
INPUT_IDS = [
    [1, 17, 42, 99, 5, 63, 28],
    [0, 0, 1, 88, 7, 31, 54],
    [1, 76, 12, 45, 0, 0, 0],
]
ATTENTION_MASK = [
    [1, 1, 1, 1, 1, 1, 1],
    [0, 0, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 0, 0, 0],
]
GEN_PROMPT = [1, 23, 57, 9, 80]
GEN_BATCH = [[1, 23, 57, 9, 80], [1, 64, 3]]
GEN_NEW = 10

STORIES_PROMPT = "Once upon a time"
STORIES_NEW = 40
TOKENIZER_CASES = [
    "Once upon a time",
    "Lily and Ben went to the park. They saw a big dog!",
    "  two  spaces,\ttab and\nnewline",
    " leading space",
    "trailing  ",
    "héllo wörld — 世界 🙂",
    "",
    "a",
    "The end.",
]


def tiny_config(tie: bool) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=101,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        initializer_range=0.02,
        tie_word_embeddings=tie,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        attn_implementation="eager",
    )


def randomize(model: LlamaForCausalLM, seed: int) -> None:
    """Replaces HF's tiny init with larger, seeded values (norm weights around 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                # 2/sqrt(fan_in): large enough that greedy decoding does not settle on one token at once.
                p.copy_(torch.randn(p.shape, generator=g) * 2 / (p.shape[1] ** 0.5))


def position_ids_from_mask(mask: torch.Tensor) -> torch.Tensor:
    pos = mask.long().cumsum(-1) - 1
    return pos.masked_fill(mask == 0, 1)


def make_tiny(name: str, tie: bool, seed: int) -> None:
    torch.manual_seed(seed)
    config = tiny_config(tie)
    model = LlamaForCausalLM(config).eval()
    randomize(model, seed)
    out_dir = OUT / name
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    gen_cfg = out_dir / "generation_config.json"
    if gen_cfg.exists():
        gen_cfg.unlink()

    ids = torch.tensor(INPUT_IDS)
    mask = torch.tensor(ATTENTION_MASK)
    pos = position_ids_from_mask(mask)
    g = torch.Generator().manual_seed(seed + 1)
    labels = torch.randint(0, config.vocab_size, ids.shape, generator=g)
    labels = labels.masked_fill(mask == 0, -100)

    base = model.model(input_ids=ids, attention_mask=mask, position_ids=pos, output_hidden_states=True)
    assert torch.equal(base.hidden_states[-1], base.last_hidden_state), "HF hidden_states[-1] is not the normed output"
    logits = model.lm_head(base.last_hidden_state)
    loss = F.cross_entropy(logits.reshape(-1, config.vocab_size), labels.reshape(-1), ignore_index=-100)
    model.zero_grad()
    loss.backward()
    expected = {
        "last_hidden_state": base.last_hidden_state,
        "logits": logits,
        "grad.embed_tokens": model.model.embed_tokens.weight.grad,
        "grad.q_proj_1": model.model.layers[1].self_attn.q_proj.weight.grad,
    }
    for i, h in enumerate(base.hidden_states):
        expected[f"hidden_states.{i}"] = h
    save_tensors(expected, out_dir / "expected.safetensors", metadata=None)

    single = greedy_new_tokens(model, [GEN_PROMPT], GEN_NEW)[0]
    batch = greedy_new_tokens(model, GEN_BATCH, GEN_NEW)
    case = {
        "made_with": versions("torch", "transformers"),
        "input_ids": INPUT_IDS,
        "attention_mask": ATTENTION_MASK,
        "position_ids": pos.tolist(),
        "labels": labels.tolist(),
        "loss": "cross_entropy(logits.reshape(-1, vocab), labels.reshape(-1), ignore_index=-100), mean",
        "loss_value": loss.item(),
        "grads": {"grad.embed_tokens": "model.embed_tokens.weight", "grad.q_proj_1": "model.layers.1.self_attn.q_proj.weight"},
        "generate": {"prompt": GEN_PROMPT, "max_new_tokens": GEN_NEW, "eos_token_id": config.eos_token_id, "new_tokens": single},
        "generate_batch": {"prompts": GEN_BATCH, "max_new_tokens": GEN_NEW, "eos_token_id": config.eos_token_id, "new_tokens": batch},
    }
    write_json(out_dir / "case.json", case, indent=1)
    print(f"{name}: loss {loss.item():.6f}, greedy {single}, batch {batch}")


# ---------------------------------------------------------------- stories260K


def numpy_llama2c(path: Path, prompt: list[int], steps: int) -> tuple[list[int], np.ndarray]:
    """An independent forward in the style of llama2.c's run.c (float32, adjacent-pair RoPE on
    the file's weights as stored, tied classifier), greedy; returns new ids and the prompt logits."""
    from gguf import GGUFReader

    r = GGUFReader(str(path))
    field = lambda k: r.fields[k].parts[r.fields[k].data[0]][0]  # noqa: E731
    dim = int(field("llama.embedding_length"))
    n_layers = int(field("llama.block_count"))
    n_heads = int(field("llama.attention.head_count"))
    n_kv = int(field("llama.attention.head_count_kv"))
    eps = float(field("llama.attention.layer_norm_rms_epsilon"))
    hd = dim // n_heads
    W = {t.name: np.array(t.data, dtype=np.float32).reshape([int(d) for d in reversed(t.shape)]) for t in r.tensors}
    emb = W["token_embd.weight"]
    out_w = W.get("output.weight", emb)

    def rms(x, w):
        return (x / np.sqrt(np.mean(x * x, dtype=np.float32) + np.float32(eps))).astype(np.float32) * w

    inv = (1.0 / (10000.0 ** (np.arange(0, hd, 2, dtype=np.float32) / hd))).astype(np.float32)
    kc = [[] for _ in range(n_layers)]
    vc = [[] for _ in range(n_layers)]

    def step(tok, pos):
        x = emb[tok].copy()
        ang = (pos * inv).astype(np.float32)
        c, s = np.cos(ang), np.sin(ang)

        def rope(v, heads):
            v = v.reshape(heads, hd // 2, 2)
            a, b = v[..., 0], v[..., 1]
            return np.stack([a * c - b * s, a * s + b * c], -1).reshape(heads, hd)

        for l in range(n_layers):
            p = f"blk.{l}."
            h = rms(x, W[p + "attn_norm.weight"])
            q = rope(W[p + "attn_q.weight"] @ h, n_heads)
            k = rope(W[p + "attn_k.weight"] @ h, n_kv)
            v = (W[p + "attn_v.weight"] @ h).reshape(n_kv, hd)
            kc[l].append(k)
            vc[l].append(v)
            K = np.stack(kc[l], 1)  # [kv, T, hd]
            V = np.stack(vc[l], 1)
            att = np.empty((n_heads, hd), dtype=np.float32)
            for hh in range(n_heads):
                g = hh // (n_heads // n_kv)
                sc = (K[g] @ q[hh]) / np.float32(np.sqrt(hd))
                w = np.exp(sc - sc.max())
                w /= w.sum()
                att[hh] = w @ V[g]
            x = x + W[p + "attn_output.weight"] @ att.reshape(dim)
            h = rms(x, W[p + "ffn_norm.weight"])
            gate = W[p + "ffn_gate.weight"] @ h
            x = x + W[p + "ffn_down.weight"] @ ((gate / (1 + np.exp(-gate))) * (W[p + "ffn_up.weight"] @ h))
        return out_w @ rms(x, W["output_norm.weight"])

    prompt_logits = np.stack([step(t, i) for i, t in enumerate(prompt)])
    new = []
    logits = prompt_logits[-1]
    for i in range(steps):
        tok = int(np.argmax(logits))
        new.append(tok)
        if tok == 2:
            break
        logits = step(tok, len(prompt) + i)
    return new, prompt_logits


def drop_absent_token_ids() -> None:
    """stories260K stores 'no token' as u32 0xFFFFFFFF (llama.cpp's LLAMA_TOKEN_NULL) for the padding and
    separator ids; transformers 5.23's GGUF tokenizer indexes the vocabulary with it and fails. Drop such
    ids from the metadata it reads, as llama.cpp treats them: absent."""
    import transformers.integrations.gguf as gguf_pkg
    from transformers.integrations.gguf import reader
    from transformers.quantizers import quantizer_gguf

    original = reader.read_gguf_metadata

    def patched(*args, **kwargs):
        metadata, rest = original(*args, **kwargs)
        for key in [k for k, v in metadata.items() if k.startswith("tokenizer.ggml.") and k.endswith("_token_id") and v == 0xFFFFFFFF]:
            del metadata[key]
        return metadata, rest

    for module in (reader, gguf_pkg, quantizer_gguf):
        if hasattr(module, "read_gguf_metadata"):
            module.read_gguf_metadata = patched


def spm_encode(text: str, tokens: list[str], scores: list[float], bos: int) -> list[int]:
    """SentencePiece BPE as llama2.c's bpe_encode does it (independent of HF): BOS, then '▁' + text with
    spaces as '▁', one symbol per character (UTF-8 byte pieces when a character has none), then
    repeatedly merge the adjacent pair whose merged piece scores highest (leftmost on ties)."""
    vocab: dict[str, int] = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    ids = [bos]
    if not text:
        return ids
    syms: list[int] = []
    for ch in "\u2581" + text.replace(" ", "\u2581"):
        if ch in vocab:
            syms.append(vocab[ch])
        else:
            syms.extend(vocab[f"<0x{b:02X}>"] for b in ch.encode("utf-8"))
    while True:
        best, at = None, -1
        for i in range(len(syms) - 1):
            merged = vocab.get(tokens[syms[i]] + tokens[syms[i + 1]])
            if merged is not None and (best is None or scores[merged] > scores[best]):
                best, at = merged, i
        if best is None:
            return ids + syms
        syms[at : at + 2] = [best]


def make_stories() -> None:
    path = STORIES_DIR / STORIES_FILE
    drop_absent_token_ids()
    tok = AutoTokenizer.from_pretrained(STORIES_DIR, gguf_file=STORIES_FILE)
    config = AutoConfig.from_pretrained(STORIES_DIR, gguf_file=STORIES_FILE)
    if config.pad_token_id is not None and not 0 <= config.pad_token_id < config.vocab_size:
        config.pad_token_id = None  # the file's 'no token' marker (see drop_absent_token_ids)
    model = AutoModelForCausalLM.from_pretrained(STORIES_DIR, gguf_file=STORIES_FILE, config=config, dtype=torch.float32).eval()
    prompt_ids = tok(STORIES_PROMPT).input_ids
    with torch.no_grad():
        prompt_logits = model(torch.tensor([prompt_ids])).logits[0]
        out = model.generate(torch.tensor([prompt_ids]), max_new_tokens=STORIES_NEW, do_sample=False, use_cache=True, eos_token_id=2, pad_token_id=2)
    hf_new = out[0, len(prompt_ids):].tolist()
    np_new, np_logits = numpy_llama2c(path, prompt_ids, STORIES_NEW)
    agree = hf_new[: len(np_new)] == np_new
    max_diff = float(np.abs(np_logits - prompt_logits.numpy()).max())
    print(f"stories260K: HF vs numpy llama2.c-style forward: ids agree {agree}, prompt logits max |diff| {max_diff:.2e}")
    if not agree:
        sys.exit(f"HF and numpy references disagree:\n{hf_new}\n{np_new}")
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    f = reader.fields
    tokens = [bytes(f["tokenizer.ggml.tokens"].parts[i]).decode("utf-8") for i in f["tokenizer.ggml.tokens"].data]
    scores = [float(f["tokenizer.ggml.scores"].parts[i][0]) for i in f["tokenizer.ggml.scores"].data]
    cases = []
    for t in TOKENIZER_CASES:
        ids = tok(t).input_ids
        spm = spm_encode(t, tokens, scores, tok.bos_token_id)
        if ids != spm and not t.startswith(" "):
            sys.exit(f"HF and llama2.c-style tokenization disagree on {t!r}:\n{ids}\n{spm}")
        decoded = tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        cases.append({"text": t, "ids": ids, "ids_spm": spm, "decoded": decoded})
    if spm_encode(STORIES_PROMPT, tokens, scores, tok.bos_token_id) != prompt_ids:
        sys.exit("HF and llama2.c-style tokenization disagree on the prompt")
    all_ids = prompt_ids + hf_new
    text = tok.decode(all_ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    fixture = {
        "made_with": {**versions("torch", "transformers"), "gguf": getattr(__import__("gguf"), "__version__", "0.19.0")},
        "model": f"shared/data/models/stories260K/{STORIES_FILE}",
        "reference": "HF transformers GGUF loading (AutoModelForCausalLM/AutoTokenizer with gguf_file), "
        "greedy generate with use_cache; cross-checked by an independent numpy llama2.c-style forward on the raw "
        "GGUF weights (adjacent-pair RoPE), which produced the same ids",
        "numpy_vs_hf_prompt_logits_max_abs_diff": max_diff,
        "prompt": STORIES_PROMPT,
        "prompt_ids": prompt_ids,
        "max_new_tokens": STORIES_NEW,
        "new_tokens": hf_new,
        "text": text,
        "text_cleaned_up": tok.decode(all_ids, skip_special_tokens=True),
        "prompt_logits": [[round(float(v), 6) for v in row] for row in prompt_logits.tolist()],
        "tokenizer_note": "ids: HF's GGUF tokenizer (Metaspace prepend_scheme 'first': no '▁' is prefixed when "
        "the text already starts with a space); ids_spm: llama2.c-style SentencePiece BPE (always prefixes '▁', as "
        "sentencepiece's add_dummy_prefix and llama.cpp do). They differ only for text starting with a space.",
        "tokenizer_cases": cases,
    }
    write_json(OUT / "stories260k.json", fixture, indent=1, ensure_ascii=False)
    print(f"stories260K: prompt {prompt_ids}\n  new {hf_new}\n  text {text!r}")


def main() -> None:
    torch.use_deterministic_algorithms(True)
    OUT.mkdir(parents=True, exist_ok=True)
    make_tiny("tiny-untied", tie=False, seed=1234)
    make_tiny("tiny-tied", tie=True, seed=4321)
    make_stories()


if __name__ == "__main__":
    main()
