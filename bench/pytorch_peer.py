"""PyTorch side of `npm run bench`: the workloads of bench/workloads/neurite.mjs, timed the same way.

Run by bench/run.mjs with Debian's /usr/bin/python3 (python3-torch on OpenBLAS),
with `threads` intra-op threads and the same number in OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS (set by the runner, since OpenBLAS reads them when it
loads). Each step is a plain PyTorch training loop: zero_grad, forward, loss,
backward, step. Takes one JSON argument
{seconds, threads, mnistDir, workloads, sgemm: {id: [m, k, n, transA, transB]}} and prints
one JSON object as the last line of stdout; a workload that fails gets {"error": ...}.
"""
import gzip
import json
import os
import struct
import sys
import time

import torch
import torch.nn as nn

torch.manual_seed(0)

# CPU seconds (all threads) per wall second of each workload's timed section.
CPU_PER_WALL = {}
LAST_CPU = [None]


def read_idx(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    zero, dtype, rank = struct.unpack('>HBB', data[:4])
    dims = struct.unpack('>' + 'I' * rank, data[4:4 + 4 * rank])
    return torch.frombuffer(bytearray(data[4 + 4 * rank:]), dtype=torch.uint8).reshape(dims)


def find(d, name):
    for cand in (name, name + '.gz'):
        p = os.path.join(d, cand)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(os.path.join(d, name))


# Untimed seconds before each measurement on top of the warm-up steps, as in bench/common.mjs.
WARMUP_SECONDS = 1.0


def timed(step, seconds, warmup, per_step):
    warm_start = time.perf_counter()
    i = 0
    while i < warmup or time.perf_counter() - warm_start < WARMUP_SECONDS:
        step()
        i += 1
    n = 0
    cpu0 = time.process_time()
    start = time.perf_counter()
    while True:
        step()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            LAST_CPU[0] = (time.process_time() - cpu0) / elapsed
            return n * per_step / elapsed


def train_workload(model, opt, x_all, y_all, batch, seconds, warmup, loss_fn):
    n = x_all.shape[0]
    state = {'i': 0}

    def step():
        i = state['i']
        if i + batch > n:
            i = 0
        xb = x_all[i:i + batch]
        yb = y_all[i:i + batch]
        state['i'] = i + batch
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    return timed(step, seconds, warmup, batch)


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x.view(-1, 28, 28))
        return self.fc(out[:, -1])


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def mlp_wide():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def run_workload(w, args, seconds, flat, img4, labels, ce):
    torch.manual_seed(0)
    if w == 'mlp-small':
        m = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        return train_workload(m, torch.optim.SGD(m.parameters(), lr=0.1), flat, labels, 64, seconds, 20, ce)
    if w == 'mlp-wide':
        m = mlp_wide()
        return train_workload(m, torch.optim.Adam(m.parameters(), lr=1e-3), flat, labels, 128, seconds, 10, ce)
    if w == 'lenet5':
        m = lenet5()
        return train_workload(m, torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9), img4, labels, 64, seconds, 5, ce)
    if w == 'lstm':
        m = LSTMNet()
        return train_workload(m, torch.optim.Adam(m.parameters(), lr=1e-3), flat, labels, 64, seconds, 3, ce)
    if w == 'xor-tiny':
        m = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
        x = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
        y = torch.tensor([[0.], [1.], [1.], [0.]])
        opt = torch.optim.SGD(m.parameters(), lr=0.5)
        mse = nn.MSELoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = mse(m(x), y)
            loss.backward()
            opt.step()
            # The workload reads the loss back every step, in every library.
            return loss.item()
        return timed(step, seconds, 100, 1)
    if w.startswith('inference-'):
        batch = int(w.split('-')[1])
        m = mlp_wide().eval()
        xb = flat[:batch].clone()
        with torch.no_grad():
            return timed(lambda: m(xb), seconds, 20, batch)
    if w.startswith('sgemm-'):
        mm, kk, nn_, ta, tb = args['sgemm'][w]
        a = torch.rand(kk, mm) if ta else torch.rand(mm, kk)
        b = torch.rand(nn_, kk) if tb else torch.rand(kk, nn_)
        aa = a.t() if ta else a
        bb = b.t() if tb else b
        out = torch.empty(mm, nn_)
        flops = 2.0 * mm * nn_ * kk
        return timed(lambda: torch.mm(aa, bb, out=out), seconds, 3, flops) / 1e9
    raise ValueError(f"unknown workload '{w}'")


def main():
    global WARMUP_SECONDS
    args = json.loads(sys.argv[1])
    WARMUP_SECONDS = args.get('warmupSeconds', WARMUP_SECONDS)
    seconds = args.get('seconds', 2.0)
    workloads = args['workloads']
    torch.set_num_threads(int(args.get('threads', 1)))
    d = args['mnistDir']
    images = read_idx(find(d, 'train-images-idx3-ubyte')).float().div_(255.0)[:8192]
    labels = read_idx(find(d, 'train-labels-idx1-ubyte')).long()[:8192]
    flat = images.reshape(-1, 784).contiguous()
    img4 = images.reshape(-1, 1, 28, 28).contiguous()
    ce = nn.CrossEntropyLoss()
    results = {'version': torch.__version__, 'threads': torch.get_num_threads()}
    for w in workloads:
        try:
            LAST_CPU[0] = None
            results[w] = run_workload(w, args, seconds, flat, img4, labels, ce)
            if LAST_CPU[0] is not None:
                CPU_PER_WALL[w] = LAST_CPU[0]
        except Exception as e:  # reported in the table, not lost
            results[w] = {'error': f'{type(e).__name__}: {e}'.splitlines()[0][:300]}
    results['cpuPerWall'] = CPU_PER_WALL
    print()
    print(json.dumps(results))


if __name__ == '__main__':
    main()
