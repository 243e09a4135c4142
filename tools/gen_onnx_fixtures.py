"""ONNX files exported by PyTorch, for neurite's ONNX import tests.

Writes test/fixtures/onnx/<case>.onnx and <case>.json (the input and
PyTorch's output for it). Run by hand with Debian's python3-torch:

    OMP_NUM_THREADS=1 /usr/bin/python3 tools/gen_onnx_fixtures.py

Each case is small and covers a different part of the import: Gemm, Conv with
batch norm folded in by PyTorch's exporter, pooling, a residual sum and a
concatenation, MatMul on sequences, the activations that export to single
ONNX operators. (AvgPool2d with ceil_mode exports as Pad + AveragePool, and
Pad is not imported, so the case avoids it.)
"""
import json
import os
import sys

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "onnx")


class Residual(nn.Module):
    """A sequence model with a shortcut and a concatenation: MatMul + Add, Add, Concat."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(6, 8)
        self.block = nn.Linear(8, 8)
        self.side = nn.Linear(8, 4)
        self.act = nn.LeakyReLU(0.1)
        self.out = nn.Linear(12, 3)

    def forward(self, x):
        h = torch.tanh(self.inp(x))
        h = self.act(self.block(h)) + h
        both = torch.cat([h, torch.sigmoid(self.side(h))], dim=2)
        return torch.softmax(self.out(both), dim=-1)


class ViewNet(nn.Module):
    """LeNet as PyTorch tutorials write it: x.view(x.size(0), -1) exports as Shape, Gather, Unsqueeze, Concat, Reshape."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.fc = nn.Linear(3 * 4 * 4, 4)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc(x)


def cases():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ELU(0.5), nn.Linear(16, 3))
    yield "mlp", mlp, torch.randn(2, 8), True

    torch.manual_seed(1)
    cnn = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(6),
        nn.Hardtanh(-0.5, 2.0),
        nn.AvgPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 5),
        nn.LogSoftmax(dim=1),
    )
    # Running statistics that are not the defaults.
    cnn.train()
    for _ in range(3):
        cnn(torch.randn(4, 1, 10, 10) * 2 + 0.5)
    # PyTorch's exporter folds eval-mode batch norm into the convolutions' weights
    # (with or without constant folding), so the file holds Conv nodes with
    # weights named onnx::Conv_N. BatchNormalization import is tested on
    # neurite's own exports, checked by onnxruntime.
    yield "cnn", cnn, torch.randn(2, 1, 10, 10), True

    torch.manual_seed(2)
    yield "residual_sequence", Residual(), torch.randn(2, 5, 6), True

    torch.manual_seed(3)
    yield "view_flatten", ViewNet(), torch.randn(2, 1, 10, 10), False


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for name, model, x, fold in cases():
        model.eval()
        path = os.path.join(OUT, f"{name}.onnx")
        torch.onnx.export(
            model,
            (x,),
            path,
            opset_version=17,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
            do_constant_folding=fold,
        )
        with torch.no_grad():
            y = model(x)
        doc = {
            "meta": {"torchVersion": torch.__version__, "case": name, "constantFolding": fold},
            "onnx": f"{name}.onnx",
            "inputShape": list(x.shape),
            "input": x.flatten().tolist(),
            "output": y.flatten().tolist(),
        }
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(doc, f)
        print(name, os.path.getsize(path), "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
