#!/usr/bin/env python3
"""PyTorch + `adapters` reference for the 'train-step-cpu' benchmark (bench/src/train-step-cpu.ts).

Requirements (pip, into tools/reference/.venv-adapters):
    adapters==1.3.0 transformers==4.57.6 torch safetensors
Measured with: adapters 1.3.0, transformers 4.57.6, torch 2.15.0 (CPU).

The step the TypeScript side times, on the same model: models/all-MiniLM-L6-v2
(F16 weights, upcast to F32) as an AutoAdapterModel with a 2-label
classification head 'sst2' (adapters' default: 2 layers, tanh) and a
`seq_bn` adapter 'sst2', `train_adapter('sst2')` (base frozen; adapter and
head train), train mode (dropout on). One step = forward with labels
(cross-entropy loss), backward, AdamW step (lr 1e-4, torch defaults
otherwise), zero_grad. Batch [16, 128] of random token ids, all-ones mask,
random labels; seeded (torch.manual_seed(0)); nothing is written.

Run from the repository root, on its own:
    tools/reference/.venv-adapters/bin/python tools/reference/bench_train_step.py --reps 3
or driven by `pnpm bench train-step-cpu` with --worker (line protocol of bench_worker.py).
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_worker import bench_arguments, middle, ready_info, serve, set_threads  # noqa: E402
from common import MINILM  # noqa: E402

GEMM_OPS = {'aten::mm', 'aten::addmm', 'aten::bmm', 'aten::baddbmm'}


def main():
    ap = bench_arguments(batch=16, seq=128)
    ap.add_argument('--model', default=str(MINILM))
    args = ap.parse_args()

    import torch
    from adapters import AutoAdapterModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = AutoAdapterModel.from_pretrained(os.path.abspath(args.model), dtype=torch.float32)
    model.add_classification_head('sst2', num_labels=2)
    model.add_adapter('sst2', config='seq_bn')
    model.train_adapter('sst2')
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-4)
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (args.batch, args.seq))
    mask = torch.ones(args.batch, args.seq, dtype=torch.long)
    labels = torch.randint(0, 2, (args.batch,))

    def step():
        """One training step; returns [forward+loss, backward, optimizer] in ms."""
        t0 = time.perf_counter()
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad()
        t3 = time.perf_counter()
        return [(t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000]

    def time_steps(req):
        for _ in range(int(req.get('warmup', 0))):
            step()
        phases = [step() for _ in range(int(req['reps']))]
        return {'ms': [sum(p) for p in phases], 'phases': phases}

    def profile_step(_req):
        """Self CPU time per op family of one step under torch.profiler (ms)."""
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        families = {'gemm': 0.0, 'attention (fused sdpa)': 0.0, 'other ops': 0.0}
        top = []
        for evt in prof.key_averages():
            ms = evt.self_cpu_time_total / 1000.0
            if evt.key in GEMM_OPS:
                families['gemm'] += ms
            elif 'scaled_dot_product' in evt.key or 'flash_attention' in evt.key:
                families['attention (fused sdpa)'] += ms
            else:
                families['other ops'] += ms
            top.append((ms, evt.key, evt.count))
        top.sort(reverse=True)
        return {'families': families, 'top': [{'op': k, 'ms': ms, 'calls': c} for ms, k, c in top[:10]]}

    info = ready_info(model, 'torch', 'transformers', 'adapters', trainable_params=sum(p.numel() for p in trainable))
    if args.worker:
        serve({'time': time_steps, 'profile': profile_step, 'threads': set_threads}, info)
        return
    res = time_steps({'reps': args.reps, 'warmup': args.warmup})
    ms = middle(res['ms'])
    print(f'{info}\nstep [{args.batch}, {args.seq}]: median {ms:.0f} ms (phases of each step: {res["phases"]})')
    print(profile_step({}))


if __name__ == '__main__':
    main()
