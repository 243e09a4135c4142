"""Export mlp-wide (784-512-512-10 ReLU) as ONNX for the onnxruntime-node peer of `npm run bench`.

Run by `npm run bench:setup` with Debian's /usr/bin/python3 (python3-torch):
    /usr/bin/python3 bench/export_onnx.py bench/peers/mlp-wide.onnx
Opset 13, input 'x' of shape [batch, 784] with a dynamic batch axis, output 'logits'.
The weights are PyTorch's default initialisation: inference speed does not depend on them.
"""
import sys

import torch
import torch.nn as nn


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'bench/peers/mlp-wide.onnx'
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)).eval()
    torch.onnx.export(
        model,
        torch.zeros(1, 784),
        out,
        opset_version=13,
        input_names=['x'],
        output_names=['logits'],
        dynamic_axes={'x': {0: 'batch'}, 'logits': {0: 'batch'}},
    )
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
