"""The run of one preset: step time, ratios, GB/s against a streaming copy, state bytes per param.

The contenders are in :mod:`adamkit.bench.contenders`. Each row's ``ratio_to_anchor`` is against
torch's fused step of the same optimizer (``torch-fused`` for Adam, ``torch-sgd-fused``,
``torch-adagrad-fused``), and every row's ``ratio_to_torch_fused`` against ``torch-fused``, all
timed in the same rounds.

Achieved bandwidth counts the bytes a step must move: the param read and written, the gradient
read, and every state byte read and written (``12 + 2·state_bytes`` per fp32 param: 28 for Adam's
fp32 states, 20 for SGD's momentum or Adagrad's sum). The streaming-copy reference copies a buffer
as large as the params (``dst.copy_(src)``: 8 bytes per param, read once and written once) in the
same rounds; ``copy_fraction`` is a row's GB/s over the copy's. The copy's writes also cost a read
of each destination line (write-allocate) that this count leaves out, as does the usual STREAM
count, so a step that moves its bytes as well as the copy can reach a fraction above 1.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from adamkit.bench import measure
from adamkit.bench.contenders import (
    ANCHOR,
    ANCHORS,
    CONTENDERS,
    EIGHT_BIT_TARGET,
    REGISTRY,
    check_names,
    make,
    path,
    select,
    state_bytes,
    with_anchors,
)
from adamkit.bench.presets import Preset

__all__ = ["ANCHOR", "CONTENDERS", "run_preset"]
COPY = "copy"
SMALL_8BIT = 4096  # tensors under this many elements keep fp32 states in adamkit's 8-bit mode


def _step_contenders(preset: Preset, names: list[str], device: str) -> tuple[dict, dict, int]:
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(s, generator=gen).to(device) for s in preset.shapes]
    base = [torch.randn(s, generator=gen).to(device) for s in preset.shapes]

    def param_set() -> list:
        ps = [torch.nn.Parameter(b.clone()) for b in base]
        for p, g in zip(ps, grads, strict=True):
            p.grad = g
        return ps

    shared = None  # contenders that step params in place share one set (their steps do not interact)
    optimizers = {}
    for name in names:
        if REGISTRY[name].in_place:
            shared = shared or param_set()
            optimizers[name] = make(name, shared)
        else:  # adamkit's engine keeps its own buffers for its params: one set each
            optimizers[name] = make(name, param_set())
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
        opt = make(name, list(model.parameters()))

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
    """Measure ``preset``; the result is JSON-ready (see the module doc for the fields).

    ``contenders`` None: the default set on ``device`` (:func:`contenders.select`), less those not
    installed here, named in the result's ``left_out``. Named contenders are run as given (with
    the anchors of their families): check them with ``select`` first.
    """
    left_out: dict[str, str] = {}
    if contenders is None:
        names, left_out = select(None, device)
    else:
        check_names(list(contenders), device)
        names = with_anchors(list(contenders))
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda': torch sees no CUDA GPU here; valid devices: cpu")
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
    copy_gbps = 2 * 4 * n_params / copy_s / 1e9
    results = []
    for name, t in timings.items():
        opt = optimizers[name]
        state = state_bytes(opt)
        traffic = 12 * n_params + 2 * state  # param r/w + grad r + state r/w (fp32 params)
        gbps = traffic / t["median_s"] / 1e9 if preset.kind == "step" else None
        anchor = ANCHORS[REGISTRY[name].family]
        results.append({
            "name": name,
            "optimizer": REGISTRY[name].spelled,
            "anchor": anchor,
            "median_ms": t["median_s"] * 1e3,
            "min_ms": t["min_s"] * 1e3,
            "max_ms": t["max_s"] * 1e3,
            "ratio_to_anchor": t["median_s"] / timings[anchor]["median_s"],
            "ratio_to_torch_fused": t["median_s"] / timings[ANCHOR]["median_s"],
            "state_bytes_per_param": state / n_params,
            "gbps": gbps,
            "copy_fraction": gbps / copy_gbps if gbps is not None else None,
            "path": path(name, opt),
        })
    return {
        "preset": preset.name,
        "description": preset.description,
        "kind": preset.kind,
        "device": device,
        "device_name": torch.cuda.get_device_name() if device == "cuda" else None,
        "torch_threads": torch.get_num_threads(),
        "params": n_params,
        "tensors": len(preset.shapes) if preset.shapes else 2 * (len(preset.mlp_widths) - 1),
        "rounds": rounds,
        "warmup": warmup,
        "anchor": ANCHOR,
        "anchors": {f: a for f, a in ANCHORS.items() if a in timings},
        "copy_ms": copy_s * 1e3,
        "copy_gbps": copy_gbps,
        "results": results,
        "state_target": _eight_bit_target(preset, results),
        "left_out": left_out,
        "wall_s": time.perf_counter() - start,
        # other load while measuring: ratios stay meaningful, absolute times do not
        "cpu_pressure_pct": [pressure_before, cpu_pressure()],
    }


def _eight_bit_target(preset: Preset, results: list[dict]) -> dict | None:
    """adamkit's 8-bit state bytes per param against its target (<= 2.1), with the share of the
    params in tensors under 4,096 elements (which keep fp32 states, 8 bytes)."""
    row = next((r for r in results if r["name"] == "adamkit-8bit"), None)
    if row is None:
        return None
    if preset.shapes:
        sizes = [math.prod(s) for s in preset.shapes]
    else:
        w = preset.mlp_widths
        sizes = [n for a, b in zip(w[:-1], w[1:], strict=True) for n in (a * b, b)]
    small = sum(n for n in sizes if n < SMALL_8BIT) / sum(sizes)
    got = row["state_bytes_per_param"]
    return {"name": "adamkit-8bit", "bytes_per_param": got, "target": EIGHT_BIT_TARGET,
            "met": got <= EIGHT_BIT_TARGET, "small_tensor_share": small}
