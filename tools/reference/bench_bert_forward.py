#!/usr/bin/env python3
"""PyTorch CPU reference for the 'bert-forward' benchmark (bench/src/bert-forward.ts).

Requirements (pip, into tools/reference/.venv): torch transformers
Measured with: torch 2.15.0 (CPU), transformers 5.23.0.

A BERT-base-shaped encoder (hidden 768, 12 layers, 12 heads, FFN 3072,
vocab 30522; random weights: speed does not depend on them) in eval mode
under torch.no_grad(), on a [batch, seq] batch of random token ids with an
all-ones attention mask. Seeded (torch.manual_seed(0)); nothing is written.

Run from the repository root, on its own:
    tools/reference/.venv/bin/python tools/reference/bench_bert_forward.py --batch 8 --seq 128 --reps 3
or driven by `pnpm bench bert-forward` with --worker (line protocol of bench_worker.py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_worker import bench_arguments, middle, ready_info, serve, set_threads, time_ms  # noqa: E402


def main():
    args = bench_arguments(batch=8, seq=128).parse_args()

    import torch
    from transformers import BertConfig, BertModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)
    model = BertModel(config).eval()
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq))
    mask = torch.ones(args.batch, args.seq, dtype=torch.long)

    def forward():
        with torch.no_grad():
            model(input_ids=ids, attention_mask=mask)

    info = ready_info(model, 'torch', 'transformers')
    if args.worker:
        serve({'time': lambda req: {'ms': time_ms(forward, int(req['reps']), int(req.get('warmup', 0)))}, 'threads': set_threads}, info)
        return
    ms = middle(time_ms(forward, args.reps, args.warmup))
    print(f'{info}\nforward [{args.batch}, {args.seq}]: median {ms:.1f} ms, {args.batch * args.seq / ms * 1000:.0f} tokens/s')


if __name__ == '__main__':
    main()
