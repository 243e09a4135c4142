"""The canonical networks of issue 18 as torchvision builds them, for
test/models: every builder's state-dict names, shapes and parameter count, and
for a few of them the output on a fixed input with weights filled in by a
formula (so no weights need committing; neurite fills its model the same way).

Run by hand with Debian's python3-torch and python3-torchvision:
    /usr/bin/python3 tools/gen_model_fixtures.py
It writes test/fixtures/models.json.
"""
import json
import math
import os

import torch
import torchvision

torch.set_grad_enabled(False)


def name_key(name):
    # The same tiny hash on both sides: the sum of the name's character codes.
    return (sum(ord(c) for c in name) % 1000) / 100.0


def fill(model):
    """Every tensor of the state dict from a formula of its name and index (see test/models/fill.ts)."""
    sd = model.state_dict()
    for name, t in sd.items():
        if name.endswith("num_batches_tracked"):
            t.zero_()
            continue
        n = t.numel()
        i = torch.arange(n, dtype=torch.float64)
        s = torch.sin(0.7 * i + name_key(name))
        if name.endswith("running_var"):
            v = 1.0 + 0.25 * (1.0 + s)
        elif name.endswith("running_mean"):
            v = 0.1 * s
        elif name.endswith("bias"):
            v = 0.05 * s
        elif t.dim() == 1:  # a norm layer's weight
            v = 1.0 + 0.1 * s
        else:
            fan_in = n // t.shape[0]
            v = s * math.sqrt(2.0 / fan_in)
        t.copy_(v.reshape(t.shape).to(t.dtype))


def fixed_input(shape):
    n = 1
    for d in shape:
        n *= d
    return torch.sin(0.3 * torch.arange(n, dtype=torch.float64)).reshape(shape)


BUILDERS = {
    "alexnet": lambda **k: torchvision.models.alexnet(weights=None, **k),
    "vgg11": lambda **k: torchvision.models.vgg11(weights=None, **k),
    "vgg11_bn": lambda **k: torchvision.models.vgg11_bn(weights=None, **k),
    "vgg13": lambda **k: torchvision.models.vgg13(weights=None, **k),
    "vgg13_bn": lambda **k: torchvision.models.vgg13_bn(weights=None, **k),
    "vgg16": lambda **k: torchvision.models.vgg16(weights=None, **k),
    "vgg16_bn": lambda **k: torchvision.models.vgg16_bn(weights=None, **k),
    "vgg19": lambda **k: torchvision.models.vgg19(weights=None, **k),
    "vgg19_bn": lambda **k: torchvision.models.vgg19_bn(weights=None, **k),
    "resnet18": lambda **k: torchvision.models.resnet18(weights=None, **k),
    "resnet34": lambda **k: torchvision.models.resnet34(weights=None, **k),
    "resnet50": lambda **k: torchvision.models.resnet50(weights=None, **k),
    "resnet101": lambda **k: torchvision.models.resnet101(weights=None, **k),
    "resnet152": lambda **k: torchvision.models.resnet152(weights=None, **k),
    "googlenet": lambda **k: torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False, transform_input=False, **k),
    "googlenet_aux": lambda **k: torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False, transform_input=False, **k),
}

# Outputs checked numerically: (builder, input shape, number of classes, part). part 'features' runs
# model.features (VGG's classifier is 120M parameters of plain Linear layers; its names and shapes are checked).
OUTPUTS = [
    ("resnet18", [2, 3, 32, 32], 10, "all"),
    ("resnet50", [2, 3, 32, 32], 10, "all"),
    ("googlenet", [2, 3, 64, 64], 10, "all"),
    ("alexnet", [2, 3, 64, 64], 10, "all"),
    ("vgg11_bn", [2, 3, 32, 32], 10, "features"),
]


def main():
    out = {"torch": torch.__version__, "torchvision": torchvision.__version__, "architectures": {}, "outputs": []}
    for name, build in BUILDERS.items():
        model = build()
        sd = model.state_dict()
        out["architectures"][name] = {
            "parameters": sum(p.numel() for p in model.parameters()),
            "state": [[k, list(v.shape)] for k, v in sd.items()],
        }
        print(name, out["architectures"][name]["parameters"])
    for name, shape, classes, part in OUTPUTS:
        model = BUILDERS[name](num_classes=classes).double().eval()
        fill(model)
        x = fixed_input(shape)
        y = model.features(x) if part == "features" else model(x)
        out["outputs"].append({"model": name, "input": shape, "classes": classes, "part": part, "shape": list(y.shape), "output": y.flatten().tolist()})
        print(name, part, list(y.shape))
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "models.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
