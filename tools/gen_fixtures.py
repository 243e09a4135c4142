#!/usr/bin/python3
"""Generate neurite's independent numerical reference fixtures from PyTorch.

Run by hand, with Debian's system python3 (which has python3-torch):

    OMP_NUM_THREADS=1 /usr/bin/python3 tools/gen_fixtures.py

It writes JSON files into test/fixtures/ (see tools/README.md for every
schema).  The output is deterministic: every fixture seeds its own RNG, all
computations that can be are done in float64 on the CPU with one thread.
"""

import json
import math
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")

F64 = torch.float64
F32 = torch.float32


# --------------------------------------------------------------------------
# Encoding helpers
# --------------------------------------------------------------------------

def T(t):
    """Encode a tensor as {"shape": [...], "data": [flat row-major values]}."""
    t = t.detach().cpu().contiguous()
    data = t.reshape(-1).tolist()
    for v in data:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("non-finite value in fixture tensor")
    return {"shape": list(t.shape), "data": data}


def camel(name):
    parts = name.split("_")
    return parts[0][:1].lower() + parts[0][1:] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def plain(v):
    """Turn hyper-parameter values into JSON-able values (tuples->lists, tensors->T)."""
    if isinstance(v, torch.Tensor):
        return T(v)
    if isinstance(v, (tuple, list)):
        return [plain(x) for x in v]
    return v


def hyper(kwargs):
    """Return (torch-named dict, camelCase dict) for a kwargs dict."""
    torch_names = {k: plain(v) for k, v in kwargs.items()}
    camel_names = {camel(k): plain(v) for k, v in kwargs.items()}
    return torch_names, camel_names


def _is_scalar(v):
    return v is None or isinstance(v, (bool, int, float, str))


def _inline(v):
    """A list with no dict inside is written on one line."""
    if _is_scalar(v):
        return True
    if isinstance(v, list):
        return all(_inline(x) for x in v)
    return False


def dumps(obj, level=0):
    pad = "  " * level
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        # Keep tensors ({"shape","data"}) on one line.
        if set(obj.keys()) == {"shape", "data"}:
            return json.dumps(obj, separators=(",", ":"), allow_nan=False)
        items = [
            pad + "  " + json.dumps(k) + ": " + dumps(v, level + 1) for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if _inline(obj):
            return json.dumps(obj, separators=(",", ":"), allow_nan=False)
        items = [pad + "  " + dumps(v, level + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def meta(desc):
    return {
        "generator": "tools/gen_fixtures.py",
        "torchVersion": torch.__version__,
        "description": desc,
    }


def write(name, obj):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name)
    text = dumps(obj) + "\n"
    json.loads(text)  # sanity: valid JSON
    with open(path, "w") as f:
        f.write(text)
    print("wrote %-22s %8d bytes" % (name, len(text.encode())))


def randn(*shape, dtype=F64):
    return torch.randn(*shape, dtype=dtype)


# --------------------------------------------------------------------------
# a. optimizers.json
# --------------------------------------------------------------------------

def gen_optimizers():
    torch.manual_seed(1001)
    p0 = [randn(3, 2), randn(4)]
    n_steps = 10
    grads = [[randn(3, 2), randn(4)] for _ in range(n_steps)]

    cases = []

    def run(name, cls, kwargs):
        params = [p.clone().requires_grad_(True) for p in p0]
        opt = cls(params, **kwargs)
        history = []
        for s in range(n_steps):
            for p, g in zip(params, grads[s]):
                p.grad = g.clone()
            opt.step()
            history.append([T(p) for p in params])
        hp, hc = hyper(kwargs)
        cases.append({
            "name": name,
            "optimizer": cls.__name__,
            "hyper": hp,
            "hyperCamel": hc,
            "params": history,
        })

    SGD = torch.optim.SGD
    base = dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)
    run("sgd_plain", SGD, dict(base))
    run("sgd_momentum", SGD, dict(base, momentum=0.9))
    run("sgd_momentum_dampening", SGD, dict(base, momentum=0.9, dampening=0.1))
    run("sgd_nesterov", SGD, dict(base, momentum=0.9, nesterov=True))
    run("sgd_weight_decay", SGD, dict(base, weight_decay=0.01))
    run("sgd_nesterov_weight_decay", SGD, dict(base, momentum=0.9, nesterov=True, weight_decay=0.05))

    Adagrad = torch.optim.Adagrad
    base = dict(lr=0.1, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10)
    run("adagrad_plain", Adagrad, dict(base))
    run("adagrad_lr_decay", Adagrad, dict(base, lr_decay=0.05))
    run("adagrad_initial_accumulator", Adagrad, dict(base, initial_accumulator_value=0.5))
    run("adagrad_weight_decay", Adagrad, dict(base, weight_decay=0.1))

    Adadelta = torch.optim.Adadelta
    base = dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0)
    run("adadelta_plain", Adadelta, dict(base))
    run("adadelta_rho_eps", Adadelta, dict(base, rho=0.95, eps=1e-4))
    run("adadelta_weight_decay", Adadelta, dict(base, weight_decay=0.1))
    run("adadelta_lr_0_5", Adadelta, dict(base, lr=0.5))

    RMSprop = torch.optim.RMSprop
    base = dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False)
    run("rmsprop_plain", RMSprop, dict(base))
    run("rmsprop_centered", RMSprop, dict(base, centered=True))
    run("rmsprop_momentum", RMSprop, dict(base, momentum=0.9))
    run("rmsprop_weight_decay", RMSprop, dict(base, weight_decay=0.1))
    run("rmsprop_centered_momentum_alpha", RMSprop, dict(base, centered=True, momentum=0.5, alpha=0.9))

    Adam = torch.optim.Adam
    base = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)
    run("adam_plain", Adam, dict(base))
    run("adam_amsgrad", Adam, dict(base, amsgrad=True))
    run("adam_weight_decay", Adam, dict(base, weight_decay=0.1))
    run("adam_betas", Adam, dict(base, betas=(0.5, 0.9), eps=1e-6))

    AdamW = torch.optim.AdamW
    base = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False)
    run("adamw_plain", AdamW, dict(base))
    run("adamw_wd_0_1_amsgrad", AdamW, dict(base, weight_decay=0.1, amsgrad=True))

    # ---- L-BFGS on Rosenbrock -------------------------------------------
    lbfgs = []
    outer_steps = 5
    # The max_iter=20 no-line-search run is chaotic after its 3rd outer step (see
    # ulpPerturbationSpread); the max_iter=4 run is a well-conditioned companion.
    for name, ls, max_iter in (("lbfgs_no_line_search", None, 20),
                               ("lbfgs_strong_wolfe", "strong_wolfe", 20),
                               ("lbfgs_no_line_search_max_iter_4", None, 4)):
        kwargs = dict(lr=1.0, max_iter=max_iter, max_eval=max_iter * 5 // 4, tolerance_grad=1e-7,
                      tolerance_change=1e-9, history_size=10, line_search_fn=ls)
        # Sensitivity: rerun from the start point with x0[0] moved by +-1 ulp and record,
        # per outer step, the largest deviation of the params from the unperturbed run.
        runs = []
        for x00 in (-1.5, math.nextafter(-1.5, 0.0), math.nextafter(-1.5, -2.0)):
            xp = torch.tensor([x00, 2.0], dtype=F64, requires_grad=True)
            op = torch.optim.LBFGS([xp], **kwargs)

            def cl(xp=xp, op=op):
                op.zero_grad()
                loss = (1 - xp[0]) ** 2 + 100 * (xp[1] - xp[0] ** 2) ** 2
                loss.backward()
                return loss

            traj = []
            for _ in range(outer_steps):
                op.step(cl)
                traj.append(xp.detach().clone())
            runs.append(traj)
        spread = [max((runs[k][s] - runs[0][s]).abs().max().item() for k in (1, 2))
                  for s in range(outer_steps)]

        x = torch.tensor([-1.5, 2.0], dtype=F64, requires_grad=True)
        opt = torch.optim.LBFGS([x], **kwargs)
        evals = []

        def closure():
            opt.zero_grad()
            loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
            loss.backward()
            evals.append({"x": x.detach().tolist(), "f": loss.item(), "grad": x.grad.tolist()})
            return loss

        steps = []
        for _ in range(outer_steps):
            start = len(evals)
            ret = opt.step(closure)
            st = opt.state[opt._params[0]]
            steps.append({
                "returnedLoss": ret.item(),
                "params": T(x),
                "funcEvalsTotal": st["func_evals"],
                "nIterTotal": st["n_iter"],
                "ulpPerturbationSpread": spread[len(steps)],
                "evaluations": evals[start:],
            })
        hp, hc = hyper(kwargs)
        lbfgs.append({
            "name": name,
            "optimizer": "LBFGS",
            "function": "rosenbrock",
            "formula": "f(x) = (1 - x[0])^2 + 100 * (x[1] - x[0]^2)^2",
            "initial": T(torch.tensor([-1.5, 2.0], dtype=F64)),
            "hyper": hp,
            "hyperCamel": hc,
            "steps": steps,
        })

    write("optimizers.json", {
        "meta": meta("Optimizer trajectories (float64). grads[s][i] is set as params[i].grad "
                     "before the (s+1)-th opt.step(); cases[*].params[s][i] is params[i] after it."),
        "dtype": "float64",
        "numSteps": n_steps,
        "initialParams": [T(p) for p in p0],
        "grads": [[T(g) for g in gs] for gs in grads],
        "cases": cases,
        "lbfgs": lbfgs,
    })


# --------------------------------------------------------------------------
# b. schedulers.json
# --------------------------------------------------------------------------

def gen_schedulers():
    epochs = 25
    base_lr = 0.1
    S = torch.optim.lr_scheduler
    cases = []

    plateau_min_metrics = [1.0, 0.9, 0.85, 0.85, 0.86, 0.849, 0.84, 0.84, 0.84, 0.84,
                           0.7, 0.71, 0.72, 0.73, 0.74, 0.69, 0.69, 0.69, 0.69, 0.69,
                           0.69, 0.5, 0.5, 0.5, 0.5]
    plateau_max_metrics = [0.1, 0.2, 0.3, 0.32, 0.33, 0.4, 0.42, 0.43, 0.44, 0.6,
                           0.6, 0.6, 0.7, 0.74, 0.78, 0.8, 0.8, 0.9, 0.91, 0.92,
                           0.95, 0.96, 0.97, 0.98, 0.99]

    def run(name, cls, kwargs, metrics=None):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=base_lr)
        sched = cls(opt, **kwargs)
        initial = opt.param_groups[0]["lr"]
        used, after = [], []
        for e in range(epochs):
            used.append(opt.param_groups[0]["lr"])
            p.grad = torch.zeros(1)
            opt.step()
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics[e])
            after.append(opt.param_groups[0]["lr"])
        hp, hc = hyper(kwargs)
        case = {
            "name": name,
            "scheduler": cls.__name__,
            "hyper": hp,
            "hyperCamel": hc,
            "lrAfterConstruction": initial,
            "lrUsedInEpoch": used,
            "lrAfterEpoch": after,
        }
        if metrics is not None:
            case["metrics"] = metrics
        cases.append(case)

    run("step_lr", S.StepLR, dict(step_size=5, gamma=0.5))
    run("step_lr_3_0_1", S.StepLR, dict(step_size=3, gamma=0.1))
    run("multi_step_lr", S.MultiStepLR, dict(milestones=[3, 8, 15], gamma=0.1))
    run("exponential_lr", S.ExponentialLR, dict(gamma=0.9))
    run("cosine_annealing_lr", S.CosineAnnealingLR, dict(T_max=10, eta_min=0.001))
    run("cosine_annealing_lr_25", S.CosineAnnealingLR, dict(T_max=25, eta_min=0.0))
    run("linear_lr_warmup", S.LinearLR, dict(start_factor=0.25, end_factor=1.0, total_iters=5))
    run("linear_lr_decay", S.LinearLR, dict(start_factor=1.0, end_factor=0.1, total_iters=10))
    run("reduce_on_plateau_min", S.ReduceLROnPlateau,
        dict(mode="min", factor=0.5, patience=2, threshold=0.01, threshold_mode="rel",
             cooldown=1, min_lr=0.01, eps=1e-8), plateau_min_metrics)
    run("reduce_on_plateau_max_abs", S.ReduceLROnPlateau,
        dict(mode="max", factor=0.1, patience=1, threshold=0.05, threshold_mode="abs",
             cooldown=0, min_lr=0.0, eps=1e-8), plateau_max_metrics)

    write("schedulers.json", {
        "meta": meta("LR schedulers on SGD(lr=0.1): per epoch opt.step() then scheduler.step() "
                     "(ReduceLROnPlateau: scheduler.step(metrics[epoch]))."),
        "baseLr": base_lr,
        "epochs": epochs,
        "cases": cases,
    })


# --------------------------------------------------------------------------
# c. losses.json
# --------------------------------------------------------------------------

def loss_case(name, module_name, kwargs, tensors, grad_wrt, reductions, dtype="float64",
              builder=None):
    """tensors: dict name->tensor (leaf copies are made); call order is the dict order."""
    results = {}
    for red in reductions:
        leaves = {}
        for k, v in tensors.items():
            if k in grad_wrt:
                leaves[k] = v.detach().clone().requires_grad_(True)
            else:
                leaves[k] = v.detach().clone()
        module_kwargs = {k: v for k, v in kwargs.items()}
        module_kwargs["reduction"] = red
        mod = getattr(nn, module_name)(**module_kwargs)
        out = mod(*leaves.values())
        out.sum().backward()
        results[red] = {
            "output": T(out),
            "grad": {k: T(leaves[k].grad) for k in grad_wrt},
        }
    hp, hc = hyper(kwargs)
    return {
        "name": name,
        "module": module_name,
        "dtype": dtype,
        "args": hp,
        "argsCamel": hc,
        "inputs": list(tensors.keys()),
        "tensors": {k: T(v) for k, v in tensors.items()},
        "gradWrt": list(grad_wrt),
        "reductions": results,
    }


def gen_losses():
    torch.manual_seed(2002)
    R3 = ["mean", "sum", "none"]
    cases = []
    N, C = 4, 5

    # regression losses: input [4,3], target [4,3]
    x = randn(4, 3) * 2.0
    y = randn(4, 3) * 2.0
    reg = {"input": x, "target": y}
    cases.append(loss_case("mse", "MSELoss", {}, reg, ["input", "target"], R3))
    cases.append(loss_case("l1", "L1Loss", {}, reg, ["input", "target"], R3))
    cases.append(loss_case("smooth_l1_beta_1", "SmoothL1Loss", {"beta": 1.0}, reg, ["input", "target"], R3))
    cases.append(loss_case("smooth_l1_beta_0_5", "SmoothL1Loss", {"beta": 0.5}, reg, ["input", "target"], R3))
    cases.append(loss_case("huber_delta_1", "HuberLoss", {"delta": 1.0}, reg, ["input", "target"], R3))
    cases.append(loss_case("huber_delta_2", "HuberLoss", {"delta": 2.0}, reg, ["input", "target"], R3))

    # BCE: probabilities in (0,1), targets hard and soft
    p = torch.sigmoid(randn(4, 3) * 1.5)
    t = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.3, 0.8, 0.5], [1.0, 0.1, 0.0]])
    cases.append(loss_case("bce", "BCELoss", {}, {"input": p, "target": t}, ["input"], R3))
    w = torch.rand(4, 3) + 0.5
    cases.append(loss_case("bce_weight", "BCELoss", {"weight": w}, {"input": p, "target": t}, ["input"], R3))

    logits = randn(4, 3) * 2.0
    cases.append(loss_case("bce_with_logits", "BCEWithLogitsLoss", {},
                           {"input": logits, "target": t}, ["input"], R3))
    pw = torch.tensor([0.5, 2.0, 3.0])
    cases.append(loss_case("bce_with_logits_pos_weight", "BCEWithLogitsLoss", {"pos_weight": pw},
                           {"input": logits, "target": t}, ["input"], R3))

    # Cross-entropy with class indices
    ce_in = randn(N, C) * 1.5
    ce_t = torch.tensor([1, 0, 4, 2], dtype=torch.int64)
    cw = torch.tensor([0.2, 1.0, 0.5, 2.0, 1.5])
    cases.append(loss_case("cross_entropy", "CrossEntropyLoss", {}, {"input": ce_in, "target": ce_t}, ["input"], R3))
    cases.append(loss_case("cross_entropy_weight", "CrossEntropyLoss", {"weight": cw},
                           {"input": ce_in, "target": ce_t}, ["input"], R3))
    cases.append(loss_case("cross_entropy_label_smoothing", "CrossEntropyLoss", {"label_smoothing": 0.1},
                           {"input": ce_in, "target": ce_t}, ["input"], R3))
    cases.append(loss_case("cross_entropy_weight_label_smoothing", "CrossEntropyLoss",
                           {"weight": cw, "label_smoothing": 0.1},
                           {"input": ce_in, "target": ce_t}, ["input"], R3))
    ce_t_ign = torch.tensor([1, 3, 4, 3], dtype=torch.int64)
    cases.append(loss_case("cross_entropy_ignore_index", "CrossEntropyLoss", {"ignore_index": 3},
                           {"input": ce_in, "target": ce_t_ign}, ["input"], R3))
    # K-dimensional: input [N=2, C=3, d=4], target [2,4]
    ce_kd = randn(2, 3, 4)
    ce_kd_t = torch.tensor([[0, 2, 1, 1], [2, 0, 0, 1]], dtype=torch.int64)
    cases.append(loss_case("cross_entropy_kdim", "CrossEntropyLoss", {},
                           {"input": ce_kd, "target": ce_kd_t}, ["input"], R3))
    # Cross-entropy with class probabilities
    probs = torch.softmax(randn(N, C), dim=1)
    cases.append(loss_case("cross_entropy_probs", "CrossEntropyLoss", {},
                           {"input": ce_in, "target": probs}, ["input"], R3))
    cases.append(loss_case("cross_entropy_probs_label_smoothing", "CrossEntropyLoss", {"label_smoothing": 0.2},
                           {"input": ce_in, "target": probs}, ["input"], R3))
    cases.append(loss_case("cross_entropy_probs_weight", "CrossEntropyLoss", {"weight": cw},
                           {"input": ce_in, "target": probs}, ["input"], R3))

    # NLL on log-softmax inputs (the recorded input is the log-probabilities)
    logp = torch.log_softmax(randn(N, C), dim=1)
    cases.append(loss_case("nll", "NLLLoss", {}, {"input": logp, "target": ce_t}, ["input"], R3))
    cases.append(loss_case("nll_weight", "NLLLoss", {"weight": cw}, {"input": logp, "target": ce_t}, ["input"], R3))

    # KL divergence: input = log-probs, target = probs (log_target False) / log-probs (True)
    kl_in = torch.log_softmax(randn(N, C), dim=1)
    kl_t = torch.softmax(randn(N, C), dim=1)
    R_KL = ["batchmean", "sum", "mean", "none"]
    cases.append(loss_case("kl_div", "KLDivLoss", {"log_target": False},
                           {"input": kl_in, "target": kl_t}, ["input"], R_KL))
    cases.append(loss_case("kl_div_log_target", "KLDivLoss", {"log_target": True},
                           {"input": kl_in, "target": torch.log(kl_t)}, ["input"], R_KL))

    # Multi-margin
    mm_in = randn(N, C)
    cases.append(loss_case("multi_margin_p1", "MultiMarginLoss", {"p": 1, "margin": 1.0},
                           {"input": mm_in, "target": ce_t}, ["input"], R3))
    cases.append(loss_case("multi_margin_p2_margin_0_5", "MultiMarginLoss", {"p": 2, "margin": 0.5},
                           {"input": mm_in, "target": ce_t}, ["input"], R3))

    # Gaussian NLL: input [4,3], target [4,3], var [4,3] (and broadcast var [4,1])
    g_in = randn(4, 3)
    g_t = randn(4, 3)
    g_var = torch.rand(4, 3) * 2.0 + 0.1
    cases.append(loss_case("gaussian_nll", "GaussianNLLLoss", {"full": False, "eps": 1e-6},
                           {"input": g_in, "target": g_t, "var": g_var}, ["input", "var"], R3))
    cases.append(loss_case("gaussian_nll_full", "GaussianNLLLoss", {"full": True, "eps": 1e-6},
                           {"input": g_in, "target": g_t, "var": g_var}, ["input", "var"], R3))
    g_var1 = torch.rand(4, 1) * 2.0 + 0.1
    cases.append(loss_case("gaussian_nll_var_broadcast", "GaussianNLLLoss", {"full": False, "eps": 1e-6},
                           {"input": g_in, "target": g_t, "var": g_var1}, ["input", "var"], R3))

    # Hinge embedding and soft margin (targets are +-1)
    he_in = randn(4, 3) * 1.5
    he_t = torch.tensor([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0], [1.0, 1.0, -1.0], [-1.0, 1.0, -1.0]])
    cases.append(loss_case("hinge_embedding", "HingeEmbeddingLoss", {"margin": 1.0},
                           {"input": he_in, "target": he_t}, ["input"], R3))
    cases.append(loss_case("soft_margin", "SoftMarginLoss", {},
                           {"input": he_in, "target": he_t}, ["input"], R3))

    # Stability: huge logits
    stability = []
    for dt, dname in ((F64, "float64"), (F32, "float32")):
        big = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [3e3, -2e3, 1e4], [1e4, 1e4, -1e4]], dtype=dt)
        bt = torch.tensor([1, 1, 0, 2], dtype=torch.int64)
        stability.append(loss_case("cross_entropy_huge_logits_" + dname, "CrossEntropyLoss", {},
                                   {"input": big, "target": bt}, ["input"], R3, dtype=dname))
        stability.append(loss_case("cross_entropy_huge_logits_label_smoothing_" + dname, "CrossEntropyLoss",
                                   {"label_smoothing": 0.1},
                                   {"input": big, "target": bt}, ["input"], R3, dtype=dname))
        bl = torch.tensor([1e4, -1e4, 1e4, -1e4, 5e3, -5e3], dtype=dt)
        blt = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5, 0.25], dtype=dt)
        stability.append(loss_case("bce_with_logits_huge_" + dname, "BCEWithLogitsLoss", {},
                                   {"input": bl, "target": blt}, ["input"], R3, dtype=dname))
        stability.append(loss_case("bce_with_logits_huge_pos_weight_" + dname, "BCEWithLogitsLoss",
                                   {"pos_weight": torch.tensor([3.0], dtype=dt)},
                                   {"input": bl, "target": blt}, ["input"], R3, dtype=dname))

    write("losses.json", {
        "meta": meta("Loss values and gradients of sum(loss) w.r.t. the listed inputs."),
        "cases": cases,
        "stability": stability,
    })


# --------------------------------------------------------------------------
# d. activations.json
# --------------------------------------------------------------------------

def gen_activations():
    torch.manual_seed(3003)
    x = torch.tensor([-30.0, -12.5, -6.2, -3.5, -2.7, -1.3, -0.9, -0.5, -0.123, -1e-3,
                      1e-3, 0.07, 0.45, 0.95, 1.05, 1.7, 2.6, 3.2, 5.9, 6.3, 8.75,
                      19.5, 20.5, 30.0], dtype=F64)

    fns = [
        ("relu", "relu", lambda t: F.relu(t), {}),
        ("leaky_relu_0_01", "leaky_relu", lambda t: F.leaky_relu(t, 0.01), {"negative_slope": 0.01}),
        ("leaky_relu_0_2", "leaky_relu", lambda t: F.leaky_relu(t, 0.2), {"negative_slope": 0.2}),
        ("elu", "elu", lambda t: F.elu(t, alpha=1.0), {"alpha": 1.0}),
        ("elu_alpha_0_5", "elu", lambda t: F.elu(t, alpha=0.5), {"alpha": 0.5}),
        ("selu", "selu", lambda t: F.selu(t), {}),
        ("gelu", "gelu", lambda t: F.gelu(t), {"approximate": "none"}),
        ("gelu_tanh", "gelu", lambda t: F.gelu(t, approximate="tanh"), {"approximate": "tanh"}),
        ("silu", "silu", lambda t: F.silu(t), {}),
        ("mish", "mish", lambda t: F.mish(t), {}),
        ("softplus", "softplus", lambda t: F.softplus(t, beta=1.0, threshold=20.0), {"beta": 1.0, "threshold": 20.0}),
        ("softplus_beta_2", "softplus", lambda t: F.softplus(t, beta=2.0, threshold=20.0), {"beta": 2.0, "threshold": 20.0}),
        ("softsign", "softsign", lambda t: F.softsign(t), {}),
        ("hardtanh", "hardtanh", lambda t: F.hardtanh(t), {"min_val": -1.0, "max_val": 1.0}),
        ("relu6", "relu6", lambda t: F.relu6(t), {}),
        ("hardsigmoid", "hardsigmoid", lambda t: F.hardsigmoid(t), {}),
        ("hardswish", "hardswish", lambda t: F.hardswish(t), {}),
        ("sigmoid", "sigmoid", lambda t: torch.sigmoid(t), {}),
        ("tanh", "tanh", lambda t: torch.tanh(t), {}),
        ("log_sigmoid", "logsigmoid", lambda t: F.logsigmoid(t), {}),
    ]
    elementwise = []
    for name, fn_name, fn, args in fns:
        xx = x.clone().requires_grad_(True)
        y = fn(xx)
        y.sum().backward()
        hp, hc = hyper(args)
        elementwise.append({
            "name": name,
            "fn": "torch.nn.functional." + fn_name,
            "args": hp,
            "argsCamel": hc,
            "y": T(y),
            "dydx": T(xx.grad),
        })

    sx = randn(3, 5) * 2.0
    sx[2] = sx[2] * 300.0 + 1000.0  # a row with large logits
    g = randn(3, 5)
    softmaxes = []
    for name, fn in (("softmax", F.softmax), ("log_softmax", F.log_softmax)):
        xx = sx.clone().requires_grad_(True)
        y = fn(xx, dim=-1)
        (y * g).sum().backward()
        softmaxes.append({"name": name, "dim": -1, "output": T(y), "gradInput": T(xx.grad)})

    prelus = []
    for name, nparam in (("prelu_per_channel", 3), ("prelu_single", 1)):
        px = randn(2, 3, 4)
        px[px.abs() < 1e-3] = 0.5
        pw = (torch.rand(nparam) * 0.5 + 0.05) if nparam > 1 else torch.tensor([0.25])
        pg = randn(2, 3, 4)
        xx = px.clone().requires_grad_(True)
        ww = pw.clone().requires_grad_(True)
        y = F.prelu(xx, ww)
        (y * pg).sum().backward()
        prelus.append({
            "name": name, "numParameters": nparam, "channelDim": 1,
            "input": T(px), "weight": T(pw), "gradOutput": T(pg),
            "output": T(y), "gradInput": T(xx.grad), "gradWeight": T(ww.grad),
        })

    write("activations.json", {
        "meta": meta("Activation functions: forward and derivative (grad of sum) in float64."),
        "x": T(x),
        "elementwise": elementwise,
        "softmax": {"input": T(sx), "gradOutput": T(g), "cases": softmaxes},
        "prelu": prelus,
    })


# --------------------------------------------------------------------------
# e. layers.json
# --------------------------------------------------------------------------

def gen_layers():
    torch.manual_seed(4004)
    # Linear 5 -> 3
    lin = nn.Linear(5, 3)
    lx = randn(4, 5)
    backs = []
    for up_name, up in (("ones", torch.ones(4, 3)), ("random", randn(4, 3))):
        lin.zero_grad()
        xx = lx.clone().requires_grad_(True)
        out = lin(xx)
        (out * up).sum().backward()
        backs.append({
            "upstream": up_name, "gradOutput": T(up), "gradInput": T(xx.grad),
            "gradWeight": T(lin.weight.grad), "gradBias": T(lin.bias.grad),
        })
    linear = {
        "inFeatures": 5, "outFeatures": 3,
        "weight": T(lin.weight), "bias": T(lin.bias),
        "input": T(lx), "output": T(lin(lx)),
        "backward": backs,
    }

    def batchnorm(mod_cls, num_features, shape):
        bn = mod_cls(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(num_features) + 0.5)
            bn.bias.copy_(randn(num_features) * 0.5)
        w0, b0 = bn.weight.detach().clone(), bn.bias.detach().clone()
        rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
        bx = randn(*shape) * 2.0 + 1.0
        R = randn(*shape)
        bn.train()
        xx = bx.clone().requires_grad_(True)
        out = bn(xx)
        (out * R).sum().backward()
        train = {
            "output": T(out), "gradInput": T(xx.grad),
            "gradWeight": T(bn.weight.grad), "gradBias": T(bn.bias.grad),
            "runningMeanAfter": T(bn.running_mean), "runningVarAfter": T(bn.running_var),
            "numBatchesTracked": int(bn.num_batches_tracked.item()),
        }
        bn.eval()
        bn.zero_grad()
        ex = randn(*shape)
        xx = ex.clone().requires_grad_(True)
        eout = bn(xx)
        (eout * R).sum().backward()
        evalr = {
            "input": T(ex), "output": T(eout), "gradInput": T(xx.grad),
            "gradWeight": T(bn.weight.grad), "gradBias": T(bn.bias.grad),
        }
        return {
            "module": mod_cls.__name__, "numFeatures": num_features, "eps": 1e-5, "momentum": 0.1,
            "weight": T(w0), "bias": T(b0), "runningMeanBefore": T(rm0), "runningVarBefore": T(rv0),
            "input": T(bx), "gradOutput": T(R), "train": train, "eval": evalr,
        }

    bn1 = batchnorm(nn.BatchNorm1d, 4, (6, 4))
    bn1_3d = batchnorm(nn.BatchNorm1d, 4, (3, 4, 5))
    bn2 = batchnorm(nn.BatchNorm2d, 3, (2, 3, 2, 3))

    def layernorm(shape, normalized_shape):
        ln = nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True)
        with torch.no_grad():
            ln.weight.copy_(torch.rand(*normalized_shape) + 0.5)
            ln.bias.copy_(randn(*normalized_shape) * 0.5)
        lx2 = randn(*shape) * 1.5 + 0.3
        R = randn(*shape)
        xx = lx2.clone().requires_grad_(True)
        out = ln(xx)
        (out * R).sum().backward()
        return {
            "normalizedShape": list(normalized_shape), "eps": 1e-5,
            "weight": T(ln.weight), "bias": T(ln.bias),
            "input": T(lx2), "gradOutput": T(R), "output": T(out),
            "gradInput": T(xx.grad), "gradWeight": T(ln.weight.grad), "gradBias": T(ln.bias.grad),
        }

    write("layers.json", {
        "meta": meta("Linear, BatchNorm and LayerNorm forward/backward in float64."),
        "linear": linear,
        "batchnorm1d": bn1,
        "batchnorm1d_3d": bn1_3d,
        "batchnorm2d": bn2,
        "layernorm": layernorm((2, 3, 4), (4,)),
        "layernorm_last2": layernorm((2, 3, 4), (3, 4)),
    })


# --------------------------------------------------------------------------
# f. mlp_sgd.json
# --------------------------------------------------------------------------

def gen_mlp():
    torch.manual_seed(5005)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    names = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    init = [p.detach().clone() for p in model.parameters()]
    X = randn(16, 4)
    y = torch.randint(0, 3, (16,), dtype=torch.int64)

    def train(dtype):
        m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)
        with torch.no_grad():
            for p, q in zip(m.parameters(), init):
                p.copy_(q.to(dtype))
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        crit = nn.CrossEntropyLoss()
        losses, after = [], []
        xd = X.to(dtype)
        for _ in range(10):
            opt.zero_grad()
            loss = crit(m(xd), y)
            loss.backward()
            losses.append(loss.item())
            opt.step()
            after.append({n: T(p) for n, p in zip(names, m.parameters())})
        return {
            "losses": losses,
            "finalParams": {n: T(p) for n, p in zip(names, m.parameters())},
            "paramsAfterStep": after,
        }

    r64 = train(F64)
    r32 = train(F32)
    write("mlp_sgd.json", {
        "meta": meta("4-8-3 MLP (Linear-Tanh-Linear), CrossEntropyLoss (mean), SGD lr 0.1 momentum 0.9, "
                     "10 full-batch steps."),
        "architecture": ["Linear(4, 8)", "Tanh", "Linear(8, 3)"],
        "optimizer": {"name": "SGD", "lr": 0.1, "momentum": 0.9, "dampening": 0.0,
                      "weightDecay": 0.0, "nesterov": False},
        "loss": "CrossEntropyLoss(reduction='mean')",
        "steps": 10,
        "initialParams": {n: T(p) for n, p in zip(names, init)},
        "X": T(X),
        "y": T(y),
        "float64": {"losses": r64["losses"], "finalParams": r64["finalParams"],
                    "paramsAfterStep": r64["paramsAfterStep"]},
        "float32": {"losses": r32["losses"], "finalParams": r32["finalParams"]},
    })


# --------------------------------------------------------------------------
# g. recurrent.json
# --------------------------------------------------------------------------

def gen_recurrent():
    torch.manual_seed(6006)
    B, L, I, H = 2, 3, 4, 5
    cases = []
    specs = [
        ("rnn_tanh", nn.RNN, dict(nonlinearity="tanh", num_layers=1, bidirectional=False)),
        ("lstm", nn.LSTM, dict(num_layers=1, bidirectional=False)),
        ("gru", nn.GRU, dict(num_layers=1, bidirectional=False)),
        ("lstm_bidirectional_2layer", nn.LSTM, dict(num_layers=2, bidirectional=True)),
    ]
    for name, cls, kw in specs:
        mod = cls(input_size=I, hidden_size=H, batch_first=True, bias=True, **kw)
        nl = kw["num_layers"]
        nd = 2 if kw["bidirectional"] else 1
        is_lstm = cls is nn.LSTM
        x = randn(B, L, I)
        h0 = randn(nl * nd, B, H) * 0.5
        c0 = randn(nl * nd, B, H) * 0.5 if is_lstm else None
        R = randn(B, L, nd * H)
        S = randn(nl * nd, B, H)
        xx = x.clone().requires_grad_(True)
        hh = h0.clone().requires_grad_(True)
        if is_lstm:
            cc = c0.clone().requires_grad_(True)
            out, (hn, cn) = mod(xx, (hh, cc))
        else:
            out, hn = mod(xx, hh)
        ((out * R).sum() + (hn * S).sum()).backward()
        weights = {n: T(p) for n, p in mod.named_parameters()}
        wgrads = {n: T(p.grad) for n, p in mod.named_parameters()}
        case = {
            "name": name,
            "module": cls.__name__,
            "inputSize": I, "hiddenSize": H, "numLayers": nl, "bidirectional": kw["bidirectional"],
            "batchFirst": True, "bias": True,
        }
        if cls is nn.RNN:
            case["nonlinearity"] = "tanh"
        case.update({
            "weights": weights,
            "input": T(x),
            "h0": T(h0),
        })
        if is_lstm:
            case["c0"] = T(c0)
        case.update({"output": T(out), "hN": T(hn)})
        if is_lstm:
            case["cN"] = T(cn)
        case.update({"R": T(R), "S": T(S)})
        grads = {"input": T(xx.grad), "h0": T(hh.grad)}
        if is_lstm:
            grads["c0"] = T(cc.grad)
        grads["weights"] = wgrads
        case["grads"] = grads
        cases.append(case)

    write("recurrent.json", {
        "meta": meta("nn.RNN/LSTM/GRU (batch_first=True) forward and gradients of "
                     "sum(output*R) + sum(h_n*S), float64."),
        "batch": B, "seqLen": L, "inputSize": I, "hiddenSize": H,
        "cases": cases,
    })


# --------------------------------------------------------------------------
# h. conv.json
# --------------------------------------------------------------------------

def gen_conv():
    torch.manual_seed(7007)
    convs = []

    def conv_case(name, cls, in_shape, kwargs):
        mod = cls(**kwargs)
        with torch.no_grad():
            for p in mod.parameters():
                p.copy_(randn(*p.shape) * 0.5)
        x = randn(*in_shape)
        xx = x.clone().requires_grad_(True)
        out = mod(xx)
        R = randn(*out.shape)
        (out * R).sum().backward()
        hp, hc = hyper(kwargs)
        convs.append({
            "name": name, "module": cls.__name__, "args": hp, "argsCamel": hc,
            "input": T(x), "weight": T(mod.weight),
            "bias": T(mod.bias) if mod.bias is not None else None,
            "output": T(out), "gradOutput": T(R),
            "grads": {
                "input": T(xx.grad), "weight": T(mod.weight.grad),
                "bias": T(mod.bias.grad) if mod.bias is not None else None,
            },
        })

    def c2(cin, cout, k, stride=1, padding=0, dilation=1, groups=1, bias=True):
        return dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=stride,
                    padding=padding, dilation=dilation, groups=groups, bias=bias)

    conv_case("conv1d", nn.Conv1d, (2, 4, 9), c2(4, 6, 3, padding=1))
    conv_case("conv1d_stride2_dil2_groups2", nn.Conv1d, (2, 4, 11), c2(4, 6, 3, stride=2, padding=2, dilation=2, groups=2))
    conv_case("conv2d", nn.Conv2d, (2, 3, 5, 5), c2(3, 4, 3))
    conv_case("conv2d_stride2", nn.Conv2d, (2, 3, 6, 6), c2(3, 4, 3, stride=2))
    conv_case("conv2d_padding1", nn.Conv2d, (2, 3, 5, 5), c2(3, 4, 3, padding=1))
    conv_case("conv2d_dilation2", nn.Conv2d, (2, 3, 6, 6), c2(3, 4, 3, dilation=2))
    conv_case("conv2d_groups2", nn.Conv2d, (2, 4, 5, 5), c2(4, 6, 3, groups=2))
    conv_case("conv2d_stride2_pad1_dil2_groups2", nn.Conv2d, (2, 4, 7, 6),
              c2(4, 6, 3, stride=2, padding=1, dilation=2, groups=2))
    conv_case("conv2d_rect_nobias", nn.Conv2d, (1, 3, 5, 6),
              c2(3, 2, [2, 3], stride=[1, 2], padding=[1, 0], bias=False))
    conv_case("conv_transpose2d", nn.ConvTranspose2d, (2, 3, 3, 3),
              dict(in_channels=3, out_channels=2, kernel_size=3, stride=2, padding=1,
                   output_padding=1, groups=1, bias=True, dilation=1))
    conv_case("conv_transpose2d_groups2", nn.ConvTranspose2d, (1, 4, 3, 3),
              dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1,
                   output_padding=1, groups=2, bias=True, dilation=1))

    pools = []

    def pool_case(name, cls, in_shape, kwargs):
        x = randn(*in_shape)
        xx = x.clone().requires_grad_(True)
        mod = cls(**kwargs)
        res = mod(xx)
        idx = None
        if isinstance(res, tuple):
            out, idx = res
        else:
            out = res
        R = randn(*out.shape)
        (out * R).sum().backward()
        hp, hc = hyper(kwargs)
        c = {"name": name, "module": cls.__name__, "args": hp, "argsCamel": hc,
             "input": T(x), "output": T(out)}
        if idx is not None:
            c["indices"] = T(idx)
        c.update({"gradOutput": T(R), "grads": {"input": T(xx.grad)}})
        pools.append(c)
        return x, out, idx

    mp_a = pool_case("maxpool2d_k2", nn.MaxPool2d, (2, 2, 6, 6),
                     dict(kernel_size=2, stride=2, padding=0, dilation=1, return_indices=True, ceil_mode=False))
    mp_b = pool_case("maxpool2d_k3_s2_p1", nn.MaxPool2d, (2, 2, 7, 7),
                     dict(kernel_size=3, stride=2, padding=1, dilation=1, return_indices=True, ceil_mode=False))
    pool_case("avgpool2d_k2", nn.AvgPool2d, (2, 2, 6, 6),
              dict(kernel_size=2, stride=2, padding=0, ceil_mode=False, count_include_pad=True))
    pool_case("avgpool2d_k3_s2_p1", nn.AvgPool2d, (2, 2, 7, 7),
              dict(kernel_size=3, stride=2, padding=1, ceil_mode=False, count_include_pad=True))
    pool_case("avgpool2d_k3_s2_p1_exclude_pad", nn.AvgPool2d, (2, 2, 7, 7),
              dict(kernel_size=3, stride=2, padding=1, ceil_mode=False, count_include_pad=False))

    unpools = []
    # The k3/s2/p1 pool has overlapping windows, so its indices contain duplicates; its
    # unpool input is therefore the pooled output itself (duplicates carry equal values,
    # so the scatter is unambiguous).  The k2 unpool uses random values.
    for name, (xin, pooled, idx), kw, rand_vals in (
        ("maxunpool2d_k2", mp_a, dict(kernel_size=2, stride=2, padding=0), True),
        ("maxunpool2d_k3_s2_p1", mp_b, dict(kernel_size=3, stride=2, padding=1), False),
    ):
        out_size = list(xin.shape[-2:])
        vals = randn(*pooled.shape) if rand_vals else pooled.detach().clone()
        vv = vals.clone().requires_grad_(True)
        mod = nn.MaxUnpool2d(**kw)
        out = mod(vv, idx, output_size=out_size)
        R = randn(*out.shape)
        (out * R).sum().backward()
        hp, hc = hyper(kw)
        unpools.append({
            "name": name, "module": "MaxUnpool2d", "args": hp, "argsCamel": hc,
            "outputSize": out_size,
            "input": T(vals), "indices": T(idx), "output": T(out),
            "gradOutput": T(R), "grads": {"input": T(vv.grad)},
        })

    write("conv.json", {
        "meta": meta("Convolutions and 2-D pooling forward/backward (grad of sum(out*R)), float64."),
        "conv": convs,
        "pool": pools,
        "unpool": unpools,
    })


def main():
    gens = {
        "optimizers": gen_optimizers,
        "schedulers": gen_schedulers,
        "losses": gen_losses,
        "activations": gen_activations,
        "layers": gen_layers,
        "mlp_sgd": gen_mlp,
        "recurrent": gen_recurrent,
        "conv": gen_conv,
    }
    which = sys.argv[1:] or list(gens)
    print("torch", torch.__version__)
    for w in which:
        gens[w]()


if __name__ == "__main__":
    main()
