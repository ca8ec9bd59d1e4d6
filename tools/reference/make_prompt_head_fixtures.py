#!/usr/bin/env python3
"""Prompt tuning + prediction heads parity fixtures for @adapterkit/method-prefix.

Python's heads receive the prompt length through the forward context
(`prompt_tuning.py PromptTuningLayer.forward` sets `context.prompt_tokens_length`;
`heads/model_mixin.py forward_head` passes it as the `prompt_tokens_length` kwarg).
Token-level heads keep the prompt positions in their logits and prepend that many
ignore-index labels (TaggingHead also ones to the attention mask); sequence heads
and QA are unchanged (they read position 0 / all positions).

Base: core's heads fixture BertAdapterModel (packages/core/test/fixtures/heads/model,
from make_head_fixtures.py), loaded with eager attention (transformers' SDPA path
lets prompt rows attend to padding; see make_prefix_fixtures.py). Two prompt adapters
(prompt_length 3, combine 'prefix' and 'prefix_after_bos') with weights overwritten
by N(0, 0.5^2) from a seeded generator. For each adapter and head: logits and loss
with core's fixture labels, eval mode.

Writes packages/method-prefix/test/fixtures/prompt-heads/:
  <adapter>/adapter_config.json, adapter.safetensors   save_adapter(use_safetensors=True)
  expected.json                                         per adapter, per head: loss, logits shape, logits
Run: tools/reference/.venv-adapters/bin/python tools/reference/make_prompt_head_fixtures.py
"""
import json
import shutil

import torch
from adapters import BertAdapterModel, PromptTuningConfig

from common import CORE_FIXTURES, fixtures_dir, save_adapter_safetensors, versions

OUT = fixtures_dir("method-prefix") / "prompt-heads"
HEADS_DIR = CORE_FIXTURES / "heads"
PROMPT_LENGTH = 3
STD = 0.5
ADAPTERS = {
    "prompt": PromptTuningConfig(prompt_length=PROMPT_LENGTH),
    "prompt_bos": PromptTuningConfig(prompt_length=PROMPT_LENGTH, combine="prefix_after_bos"),
}
HEADS = ["cls", "pooled", "tag", "mlm", "clm", "qa"]


def tolist(t):
    return t.detach().to(torch.float32).cpu().tolist()


def main():
    core = json.loads((HEADS_DIR / "expected.json").read_text())
    model = BertAdapterModel.from_pretrained(str(HEADS_DIR / "model"), attn_implementation="eager")
    model.eval()
    gen = torch.Generator().manual_seed(1234)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    i = core["inputs"]
    feed = {k: torch.tensor(i[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
    expected = {"prompt_length": PROMPT_LENGTH, "adapters": {}}
    for name, config in ADAPTERS.items():
        model.add_adapter(name, config=config)
        with torch.no_grad():
            for key, p in model.named_parameters():
                if f".prompt_tunings.{name}." in key:
                    p.copy_(torch.randn(p.shape, generator=gen) * STD)
        save_adapter_safetensors(model, OUT / name, name)
        model.set_active_adapters(name)
        model.eval()
        per_head = {}
        with torch.no_grad():
            for head in HEADS:
                if head == "qa":
                    kw = {k: torch.tensor(v) for k, v in core["qa_positions"].items()}
                else:
                    kw = {"labels": torch.tensor(core["labels"][head])}
                out = model(**feed, head=head, **kw)
                entry = {"loss": float(out.loss)}
                if head == "qa":
                    entry["start_logits"] = tolist(out.start_logits)
                    entry["end_logits"] = tolist(out.end_logits)
                else:
                    entry["logits_shape"] = list(out.logits.shape)
                    entry["logits"] = tolist(out.logits)
                per_head[head] = entry
        expected["adapters"][name] = per_head
    expected["meta"] = {"generator": "tools/reference/make_prompt_head_fixtures.py", "base": "packages/core/test/fixtures/heads/model",
                        **versions("adapters", "transformers", "torch")}
    (OUT / "expected.json").write_text(json.dumps(expected))
    for name, per_head in expected["adapters"].items():
        print(name, {h: (e.get("logits_shape"), round(e["loss"], 6)) for h, e in per_head.items()})
    print("wrote", OUT)


if __name__ == "__main__":
    main()
