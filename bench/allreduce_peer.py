"""PyTorch's gloo all-reduce, the peer of `npm run bench:allreduce`: one rank
of torch.distributed (backend gloo, TCP rendezvous on 127.0.0.1), timing
all_reduce of `count` float32 values after warm-up; rank 0 prints the
median and the spread as JSON. Usage: allreduce_peer.py RANK WORLD PORT COUNT REPEAT"""
import json
import statistics
import sys
import time

import torch
import torch.distributed as dist

rank, world, port, count, repeat = (int(a) for a in sys.argv[1:6])
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
x = torch.full((count,), float(rank + 1), dtype=torch.float32)
for _ in range(10):
    dist.all_reduce(x)
times = []
for _ in range(repeat):
    dist.barrier()
    start = time.perf_counter()
    dist.all_reduce(x)
    times.append((time.perf_counter() - start) * 1000)
if rank == 0:
    print(json.dumps({"median": statistics.median(times), "min": min(times), "max": max(times), "torch": torch.__version__}))
dist.destroy_process_group()
