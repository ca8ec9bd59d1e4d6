"""Line protocol and options shared by the bench_*.py scripts (see bench/src/python.ts).

Not a script of its own. A benchmark script parses `bench_arguments(...)`,
builds its model, then calls `serve(handlers, ready_info)`: it prints one
`@@{json}` line saying it is ready, then answers each JSON request read from
stdin with one `@@{json}` line (`{"error": "..."}` when a handler raises).
Lines without the `@@` prefix (library warnings) are ignored by the
TypeScript side, so the protocol survives chatty imports. torch is imported
only by the helpers that use it, after the arguments are parsed.
"""
import argparse
import json
import sys
import time
import traceback


def reply(obj):
    sys.stdout.write('@@' + json.dumps(obj) + '\n')
    sys.stdout.flush()


def bench_arguments(batch, seq):
    """The options every bench script takes; add its own, then parse_args(). --batch and --seq default to
    `batch` and `seq`; --threads 2, --reps 3, --warmup 1; --worker serves the line protocol on stdin."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=batch)
    ap.add_argument('--seq', type=int, default=seq)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--worker', action='store_true', help='serve timing requests on stdin (bench/src/python.ts)')
    return ap


def set_threads(req):
    """The 'threads' handler: torch.set_num_threads(req['n']); answers the thread count now in use."""
    import torch

    torch.set_num_threads(int(req['n']))
    return {'threads': torch.get_num_threads()}


def ready_info(model, *packages, **extra):
    """The ready line's facts: the versions of `packages`, torch's thread count, the model's attention
    implementation, then `extra`."""
    import torch

    from common import versions

    return {
        **versions(*packages),
        'threads': torch.get_num_threads(),
        'attn_implementation': getattr(model.config, '_attn_implementation', 'unknown'),
        **extra,
    }


def middle(values):
    """The median of the timings (the upper one of the middle two for an even count)."""
    return sorted(values)[len(values) // 2]


def time_ms(fn, reps, warmup):
    """Wall times in ms of `reps` calls of fn after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def serve(handlers, ready_info):
    """Answers {"cmd": name, ...} requests with handlers[name](request) until 'quit' or EOF."""
    reply({'ready': True, **ready_info})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req.get('cmd')
            if cmd == 'quit':
                reply({'bye': True})
                return
            if cmd not in handlers:
                raise ValueError(f'unknown command {cmd!r}; known: {sorted(handlers)}')
            reply(handlers[cmd](req))
        except Exception as e:  # report, keep serving
            reply({'error': f'{type(e).__name__}: {e}', 'trace': traceback.format_exc()[-2000:]})
