"""Line protocol shared by the bench_*.py scripts (see bench/src/python.ts).

Not a script of its own. A benchmark script builds its model, then calls
`serve(handlers, ready_info)`: it prints one `@@{json}` line saying it is
ready, then answers each JSON request read from stdin with one `@@{json}`
line (`{"error": "..."}` when a handler raises). Lines without the `@@`
prefix (library warnings) are ignored by the TypeScript side, so the
protocol survives chatty imports.
"""
import json
import sys
import time
import traceback


def reply(obj):
    sys.stdout.write('@@' + json.dumps(obj) + '\n')
    sys.stdout.flush()


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
