#!/usr/bin/env python3
"""The PyTorch twin of bench/train-step.ts: one training step of a seq_bn
(Pfeiffer) bottleneck adapter on a bert-base-shaped BERT with a 2-class
classification head, batch 32 x 128 tokens, AdamW on the adapter and head,
bf16 autocast (master weights f32), on one CUDA GPU. Prints one JSON object
with the per-step times, the median, and peak memory (torch.cuda's allocated
and reserved peaks, like the TS bench's allocator peaks).

Requirements (pip): torch (CUDA build), transformers, adapters
  pip install torch transformers adapters
`adapters` pins a transformers 4.x; on the GPU machine, whose image has
transformers 5, carry matching wheels (see DEVELOPERS.md, "Running on the
GPU machine"). Without `adapters`, --impl manual inserts an equivalent
Pfeiffer bottleneck by hand (same parameter count and math), so the step can
still be timed.

Weights are random (seeded): timing and memory do not depend on them, and
nothing is downloaded.

  python3 bench/pytorch_step.py [--steps 10] [--warmup 3] [--batch 32] [--seq 128] [--fp32] [--impl adapters|manual]
"""
import argparse
import json
import statistics
import sys
import time


def build_model(impl: str, layers: int):
    import torch
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=30522, hidden_size=768, num_hidden_layers=layers, num_attention_heads=12,
        intermediate_size=3072, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12, pad_token_id=0,
    )
    if impl == "adapters":
        from adapters import BertAdapterModel

        model = BertAdapterModel(config)
        model.add_adapter("bench", config="seq_bn")
        model.add_classification_head("bench", num_labels=2)
        model.train_adapter("bench")
        return model, lambda ids, mask, labels: model(input_ids=ids, attention_mask=mask, labels=labels).loss

    # Manual Pfeiffer adapter: after the FFN output (original_ln_before/after, residual_before_ln,
    # reduction factor 16, ReLU), as adapters' seq_bn; classification head dense-tanh-dense.
    from transformers import BertModel

    class Bottleneck(torch.nn.Module):
        def __init__(self, h: int, r: int = 16):
            super().__init__()
            self.down = torch.nn.Linear(h, h // r)
            self.up = torch.nn.Linear(h // r, h)

        def forward(self, x):
            return self.up(torch.relu(self.down(x)))

    bert = BertModel(config, add_pooling_layer=False)
    for p in bert.parameters():
        p.requires_grad_(False)
    adapters_ = torch.nn.ModuleList()
    for layer in bert.encoder.layer:
        out = layer.output
        ad = Bottleneck(config.hidden_size)
        adapters_.append(ad)

        def fwd(hidden_states, input_tensor, out=out, ad=ad):
            h = out.dropout(out.dense(hidden_states))
            h = out.LayerNorm(h + input_tensor)  # original_ln_before
            h = ad(h) + h  # residual_before_ln: residual is the normed output
            return out.LayerNorm(h + input_tensor)  # original_ln_after

        out.forward = fwd
    head = torch.nn.Sequential(
        torch.nn.Dropout(0.1), torch.nn.Linear(768, 768), torch.nn.Tanh(), torch.nn.Dropout(0.1), torch.nn.Linear(768, 2),
    )
    model = torch.nn.ModuleDict({"bert": bert, "adapters": adapters_, "head": head})

    def loss_fn(ids, mask, labels):
        h = bert(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
        return torch.nn.functional.cross_entropy(head(h), labels)

    return model, loss_fn


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--fp32", action="store_true", help="no autocast")
    ap.add_argument("--impl", choices=["adapters", "manual"], default="adapters")
    args = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        print(json.dumps({"skipped": "torch.cuda.is_available() is False"}))
        return 0
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        model, loss_fn = build_model(args.impl, args.layers)
    except ImportError as e:
        print(json.dumps({"skipped": f"{e} (install `adapters`, or run with --impl manual)"}))
        return 0
    device = torch.device("cuda")
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    n = args.batch * args.seq
    ids = (1000 + (torch.arange(n) * 7919) % (30522 - 1000)).view(args.batch, args.seq).to(device)
    mask = torch.ones_like(ids)
    labels = (torch.arange(args.batch) % 2).to(device)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=not args.fp32):
            loss = loss_fn(ids, mask, labels)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    losses = []
    for _ in range(args.warmup):
        losses.append(step().item())
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        loss = step()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000)
        losses.append(loss.item())
    free, total = torch.cuda.mem_get_info()
    print(json.dumps({
        "backend": "pytorch",
        "impl": args.impl,
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "config": {"batch": args.batch, "seq": args.seq, "layers": args.layers, "steps": args.steps, "warmup": args.warmup,
                   "autocast": None if args.fp32 else "bf16"},
        "stepMs": times,
        "medianStepMs": statistics.median(times),
        "peakAllocatedBytes": torch.cuda.max_memory_allocated(),
        "peakReservedBytes": torch.cuda.max_memory_reserved(),
        "deviceUsedBytes": total - free,
        "trainableParameters": sum(p.numel() for p in params),
        "losses": losses,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
