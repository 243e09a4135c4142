"""PyTorch side of `npm run bench:resnet` (bench/resnet.mjs): torchvision's
ResNet-18 at 224x224, float32, as a plain user would run it: inference in eval
mode under no_grad at batch 1 and 16, and one training step (SGD with
momentum, cross-entropy) at batch 16. With `--export FILE` it writes the same
network as ONNX (opset 13, dynamic batch) for onnxruntime-node instead.

Usage: /usr/bin/python3 bench/resnet_peer.py '{"threads": 1, "repeat": 5, "warmup": 2}'
Prints one JSON object: per workload the wall and CPU seconds of each timed run.
"""
import json
import sys
import time

import torch
import torchvision


def timed(step, repeat, warmup):
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"wall": wall, "cpu": cpu}


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--export":
        model = torchvision.models.resnet18(weights=None).eval()
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), sys.argv[2], opset_version=13, input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
        print(json.dumps({"wrote": sys.argv[2]}))
        return
    args = json.loads(sys.argv[1])
    torch.set_num_threads(int(args["threads"]))
    torch.manual_seed(0)
    repeat, warmup = int(args["repeat"]), int(args["warmup"])
    out = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads()}
    # Sanity figure: this PyTorch's sgemm at 1024^3.
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    t = timed(lambda: torch.mm(a, b), 5, 2)
    out["sgemm1024_gflops"] = 2 * 1024 ** 3 / sorted(t["wall"])[len(t["wall"]) // 2] / 1e9
    model = torchvision.models.resnet18(weights=None)
    model.eval()
    for batch in (1, 16):
        x = torch.randn(batch, 3, 224, 224)

        def infer():
            with torch.no_grad():
                model(x)

        out[f"infer-{batch}"] = timed(infer, repeat, warmup)
    model.train()
    x = torch.randn(16, 3, 224, 224)
    y = torch.randint(0, 1000, (16,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    out["train-16"] = timed(train_step, repeat, warmup)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
