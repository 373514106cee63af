"""Contenders and the run of one preset: step time, GB/s, state bytes per parameter.

Contenders: ``torch-forloop``, ``torch-foreach`` and ``torch-fused`` (``torch.optim.Adam`` with
``foreach=False``, ``foreach=True``, ``fused=True``) and ``adamkit-fp32``, ``adamkit-bf16``,
``adamkit-8bit`` (``adamkit.torch.Adam`` with ``state_precision=...`` and its default path
choice). The anchor of every ratio is ``torch-fused``.

Achieved bandwidth counts the bytes an Adam step must move: the param read and written, the
gradient read, and every state byte read and written (``12 + 2·state_bytes`` per fp32 param,
28 for fp32 states). The streaming-copy reference copies a buffer as large as the params
(``dst.copy_(src)``: read once, written once) in the same rounds.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

import adamkit.torch as ak
from adamkit.bench import measure
from adamkit.bench.presets import Preset
from adamkit.errors import choice

CONTENDERS = ("torch-forloop", "torch-foreach", "torch-fused", "adamkit-fp32", "adamkit-bf16",
              "adamkit-8bit")
ANCHOR = "torch-fused"
COPY = "copy"
LR = 1e-4  # small, so that thousands of benchmark steps stay far from any overflow


def _make_optimizer(name: str, params: list, device: str) -> torch.optim.Optimizer:
    if name == "torch-forloop":
        return torch.optim.Adam(params, lr=LR, foreach=False)
    if name == "torch-foreach":
        return torch.optim.Adam(params, lr=LR, foreach=True)
    if name == "torch-fused":
        return torch.optim.Adam(params, lr=LR, fused=True)
    precision = name.split("-", 1)[1]
    return ak.Adam(params, lr=LR, state_precision=precision)


def _state_bytes(opt: torch.optim.Optimizer) -> int:
    """Bytes of optimizer state: adamkit's own count, else (torch) every state tensor's but
    ``step``, which is what adamkit counts too."""
    if isinstance(opt, ak.RuleOptimizer):
        return opt.state_bytes()
    return sum(v.numel() * v.element_size() for s in opt.state.values() for k, v in s.items()
               if torch.is_tensor(v) and k != "step")


def _path(opt: torch.optim.Optimizer) -> str:
    """Which path the optimizer's groups took on the last step (``optimizer.paths()``)."""
    if not isinstance(opt, ak.RuleOptimizer):
        return "torch"
    paths = sorted({str(p) for p in opt.paths() if p is not None}) or ["not stepped"]
    return ", ".join(paths)


def _step_contenders(preset: Preset, names: list[str], device: str) -> tuple[dict, dict, int]:
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(s, generator=gen).to(device) for s in preset.shapes]
    base = [torch.randn(s, generator=gen).to(device) for s in preset.shapes]

    def param_set() -> list:
        ps = [torch.nn.Parameter(b.clone()) for b in base]
        for p, g in zip(ps, grads, strict=True):
            p.grad = g
        return ps

    shared = None  # the torch contenders share one param set (their steps do not interact)
    optimizers = {}
    for name in names:
        if name.startswith("torch"):
            shared = shared or param_set()
            optimizers[name] = _make_optimizer(name, shared, device)
        else:  # adamkit's engine re-points params into its own buffers: one set each
            optimizers[name] = _make_optimizer(name, param_set(), device)
    n = sum(math.prod(s) for s in preset.shapes)
    return {k: o.step for k, o in optimizers.items()}, optimizers, n


def _mlp(widths: tuple, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _train_contenders(preset: Preset, names: list[str], device: str) -> tuple[dict, dict, int]:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(preset.batch, preset.mlp_widths[0], generator=gen).to(device)
    y = torch.randint(0, preset.mlp_widths[-1], (preset.batch,), generator=gen).to(device)
    fns, optimizers = {}, {}
    n = 0
    for name in names:
        model = _mlp(preset.mlp_widths).to(device)
        n = sum(p.numel() for p in model.parameters())
        opt = _make_optimizer(name, list(model.parameters()), device)

        def iteration(model: Any = model, opt: Any = opt) -> None:
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

        fns[name], optimizers[name] = iteration, opt
    return fns, optimizers, n


def cpu_pressure() -> float | None:
    """Linux PSI: % of the last 10 s some task waited for a CPU (other load on a shared machine)."""
    try:
        with open("/proc/pressure/cpu") as f:
            first = f.readline().split()
        return float(first[1].split("=")[1])
    except (OSError, IndexError, ValueError):
        return None


def run_preset(preset: Preset, contenders: list[str] | None = None, rounds: int = 15,
               warmup: int = 3, device: str = "cpu", quiet: bool = False) -> dict:
    """Measure ``preset``; the result is JSON-ready (see the module doc for the fields)."""
    names = list(contenders or CONTENDERS)
    for name in names:
        if name not in CONTENDERS:
            raise choice("contender", name, CONTENDERS)
    if ANCHOR not in names:
        names.append(ANCHOR)
    if device == "cuda" and not torch.cuda.is_available():
        raise choice("device (no CUDA GPU here)", device, ["cpu"])
    build = _train_contenders if preset.kind == "train" else _step_contenders
    start = time.perf_counter()
    pressure_before = cpu_pressure()
    fns, optimizers, n_params = build(preset, names, device)
    copy_src = torch.randn(n_params, device=device)
    copy_dst = torch.empty_like(copy_src)
    fns[COPY] = lambda: copy_dst.copy_(copy_src)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    timings = measure.paired_medians(fns, rounds, warmup, sync=sync, quiet=quiet,
                                     label=f"bench {preset.name}")
    copy_s = timings.pop(COPY)["median_s"]
    anchor_s = timings[ANCHOR]["median_s"]
    results = []
    for name, t in timings.items():
        opt = optimizers[name]
        state = _state_bytes(opt)
        traffic = 12 * n_params + 2 * state  # param r/w + grad r + state r/w (fp32 params)
        results.append({
            "name": name,
            "median_ms": t["median_s"] * 1e3,
            "min_ms": t["min_s"] * 1e3,
            "max_ms": t["max_s"] * 1e3,
            "ratio_to_torch_fused": t["median_s"] / anchor_s,
            "state_bytes_per_param": state / n_params,
            "gbps": traffic / t["median_s"] / 1e9 if preset.kind == "step" else None,
            "path": _path(opt),
        })
    return {
        "preset": preset.name,
        "description": preset.description,
        "kind": preset.kind,
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "params": n_params,
        "tensors": len(preset.shapes) if preset.shapes else 2 * (len(preset.mlp_widths) - 1),
        "rounds": rounds,
        "warmup": warmup,
        "anchor": ANCHOR,
        "copy_ms": copy_s * 1e3,
        "copy_gbps": 2 * 4 * n_params / copy_s / 1e9,
        "results": results,
        "wall_s": time.perf_counter() - start,
        # other load while measuring: ratios stay meaningful, absolute times do not
        "cpu_pressure_pct": [pressure_before, cpu_pressure()],
    }
