# PyTorch side of `npm run bench:ops`: the eager ops of bench/ops.mjs on the
# same shapes, one thread, float32, no autograd, each timed as bench/ops.mjs
# times neurite's (warm-up: at least 20 calls and 0.1 s; then calls for about 0.1 s; wall and CPU
# time per call). Prints one JSON object.
import json
import time

import torch

torch.set_num_threads(1)
g = torch.Generator().manual_seed(1)
A = torch.rand(512, 512, generator=g) - 0.5
B = torch.rand(512, 512, generator=g) - 0.5
v = torch.rand(512, generator=g)
col = torch.rand(512, 1, generator=g)
X4 = torch.rand(32, 16, 32, 32, generator=g)
idx = torch.tensor([(i * 7) % 512 for i in range(512)])

OPS = {
    'transpose': lambda: A.t().contiguous(),
    'permute NCHW->NHWC': lambda: X4.permute(0, 2, 3, 1).contiguous(),
    'add': lambda: A + B,
    'add row (bias)': lambda: A + v,
    'add column': lambda: A + col,
    'mul scalar': lambda: A * 2,
    'maximum scalar': lambda: torch.maximum(A, torch.tensor(0.1)),
    'clamp': lambda: A.clamp(-0.1, 0.1),
    'pow 2': lambda: A.pow(2),
    'gt scalar': lambda: A > 0,
    'sum axis 1': lambda: A.sum(1),
    'max axis 1': lambda: A.amax(1),
    'softmax axis 1': lambda: torch.softmax(A, 1),
    'softmax axis 0': lambda: torch.softmax(A, 0),
    'exp': lambda: A.exp(),
    'tanh': lambda: A.tanh(),
    'cat axis 1': lambda: torch.cat([A, B], 1),
    'index_select': lambda: A.index_select(0, idx),
    'argmax axis 1': lambda: A.argmax(1),
    'where': lambda: torch.where(A > 0, A, B),
    'matmul 512': lambda: A @ B,
}


def timed(f):
    warm, i = time.perf_counter(), 0
    while i < 20 or time.perf_counter() - warm < 0.1:
        f()
        i += 1
    n = 0
    w0, c0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - w0 < 0.1:
        f()
        n += 1
    return {'us': (time.perf_counter() - w0) * 1e6 / n, 'cpuUs': (time.process_time() - c0) * 1e6 / n}


with torch.no_grad():
    out = {name: timed(f) for name, f in OPS.items()}
print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads(), 'ops': out}))
