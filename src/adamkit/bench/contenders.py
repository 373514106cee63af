"""The contenders of ``adamkit bench``: what each one is, where it runs, whether it is installed.

Three families, each with its anchor (every ``x fused`` ratio is against the anchor of the row's
family, measured in the same rounds):

- Adam, anchor ``torch-fused``: ``torch-forloop`` / ``torch-foreach`` / ``torch-fused``
  (``torch.optim.Adam`` with ``foreach=False`` / ``foreach=True`` / ``fused=True``);
  ``adamkit-fp32`` / ``adamkit-bf16`` / ``adamkit-8bit`` (``adamkit.torch.Adam(state_precision=...)``,
  its default path choice); ``deepspeed-cpu`` (``DeepSpeedCPUAdam(adamw_mode=False)``, CPU only);
  ``bnb-8bit`` (``bitsandbytes.optim.AdamW8bit(weight_decay=0)``, CUDA only) and ``torchao-8bit``
  (``torchao.optim.AdamW8bit(weight_decay=0)``, CUDA only): with no weight decay, AdamW is Adam.
- SGD with momentum 0.9, anchor ``torch-sgd-fused``: ``torch.optim.SGD(fused=True)`` and
  ``adamkit.torch.SGD(fused=True)`` (``adamkit-sgd-fused``).
- Adagrad, anchor ``torch-adagrad-fused``: ``torch.optim.Adagrad(fused=True)`` and
  ``adamkit.torch.Adagrad(fused=True)`` (``adamkit-adagrad-fused``).

:func:`select` picks the contenders of a run and says, one line each, which were left out and
why (a library not installed, adamkit without a fused kernel for that optimizer); a run goes on
without them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

import adamkit.torch as ak
from adamkit.errors import UsageError, choice

LR = 1e-4  # small, so that thousands of benchmark steps stay far from any overflow
BENCH_EXTRA = 'pip install -c constraints.txt -e ".[bench]"'


@dataclass(frozen=True)
class Contender:
    name: str
    family: str  # "adam", "sgd", "adagrad": the anchor of its ratios is ANCHORS[family]
    spelled: str  # the call, for the help text, the JSON and the README
    devices: tuple[str, ...]  # where it can run
    default_on: tuple[str, ...]  # where it is in the default set
    in_place: bool  # steps the params where they are: may share one param set with torch's


def _c(name: str, family: str, spelled: str, devices=("cpu", "cuda"), default_on=("cpu", "cuda"),
       in_place: bool = True) -> Contender:
    return Contender(name, family, spelled, tuple(devices), tuple(default_on), in_place)


REGISTRY: dict[str, Contender] = {c.name: c for c in [
    _c("torch-forloop", "adam", "torch.optim.Adam(foreach=False)", default_on=("cpu",)),
    _c("torch-foreach", "adam", "torch.optim.Adam(foreach=True)"),
    _c("torch-fused", "adam", "torch.optim.Adam(fused=True)"),
    # adamkit's engine keeps its own buffers: one param set each
    _c("adamkit-fp32", "adam", "adamkit.torch.Adam(state_precision='fp32')", in_place=False),
    _c("adamkit-bf16", "adam", "adamkit.torch.Adam(state_precision='bf16')", in_place=False),
    _c("adamkit-8bit", "adam", "adamkit.torch.Adam(state_precision='8bit')", in_place=False),
    _c("deepspeed-cpu", "adam", "deepspeed.ops.adam.DeepSpeedCPUAdam(adamw_mode=False)",
       devices=("cpu",), default_on=("cpu",)),
    _c("bnb-8bit", "adam", "bitsandbytes.optim.AdamW8bit(weight_decay=0)", devices=("cuda",),
       default_on=("cuda",)),
    _c("torchao-8bit", "adam", "torchao.optim.AdamW8bit(weight_decay=0)", devices=("cuda",),
       default_on=("cuda",)),
    _c("torch-sgd-fused", "sgd", "torch.optim.SGD(momentum=0.9, fused=True)", default_on=("cpu",)),
    _c("adamkit-sgd-fused", "sgd", "adamkit.torch.SGD(momentum=0.9, fused=True)",
       default_on=("cpu",), in_place=False),
    _c("torch-adagrad-fused", "adagrad", "torch.optim.Adagrad(fused=True)", default_on=("cpu",)),
    _c("adamkit-adagrad-fused", "adagrad", "adamkit.torch.Adagrad(fused=True)",
       default_on=("cpu",), in_place=False),
]}
CONTENDERS = tuple(REGISTRY)
ANCHOR = "torch-fused"  # of the Adam family, and of every row's ratio_to_torch_fused
ANCHORS = {"adam": ANCHOR, "sgd": "torch-sgd-fused", "adagrad": "torch-adagrad-fused"}
DEVICES = ("cpu", "cuda")
# The byte budget of adamkit's 8-bit Adam state: 2 one-byte codes + one float32 absmax per 256.
EIGHT_BIT_TARGET = 2.1


def _import(module: str) -> Any:
    """``importlib.import_module``, one name for the tests to replace."""
    return importlib.import_module(module)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what is written to stdout (Python's and file descriptor 1's) to stderr meanwhile.

    DeepSpeed's logger writes to stdout, and its op build may too; bench's stdout is its tables or
    its JSON.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def deepspeed_on_cpu() -> Iterator[None]:
    """``DS_ACCELERATOR=cpu`` while DeepSpeed is first imported, unless it is set already: its CPU
    op builder (no CUDA compiler needed on a GPU machine either), and no warning on stdout that it
    guessed the accelerator."""
    if "DS_ACCELERATOR" in os.environ:
        yield
        return
    os.environ["DS_ACCELERATOR"] = "cpu"
    try:
        yield
    finally:
        os.environ.pop("DS_ACCELERATOR", None)


@contextlib.contextmanager
def torch_threads_kept() -> Iterator[None]:
    """Restore ``torch.get_num_threads()`` if what runs meanwhile changed it: the other contenders
    are timed at the thread count the run was started with."""
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


# --- who is here ------------------------------------------------------------------------------

def _not_installed(name: str, module: str, how: str) -> Callable[[], str | None]:
    def check() -> str | None:
        quiet = deepspeed_on_cpu() if module.startswith("deepspeed") else contextlib.nullcontext()
        try:
            with stdout_to_stderr(), torch_threads_kept(), warnings.catch_warnings(), quiet:
                warnings.simplefilter("ignore")
                _import(module)
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.split(".")[0] != module.split(".")[0]:
                return f"{name} left out: import {module} failed ({_first_line(exc)})"
            return f"{name} left out: {module.split('.')[0]} is not installed ({how})"
        except Exception as exc:  # a broken install: say so, and go on without it
            return f"{name} left out: import {module} failed ({_first_line(exc)})"
        return None
    return check


def _torchao_adamw8bit() -> Any:
    """torchao's AdamW8bit: ``torchao.optim`` (0.11 and later), else its prototype home."""
    try:
        return _import("torchao.optim").AdamW8bit
    except (ImportError, AttributeError):
        with warnings.catch_warnings():  # "We have moved to torchao.optim!"
            warnings.simplefilter("ignore")
            return _import("torchao.prototype.low_bit_optim").AdamW8bit


def _torchao_missing() -> str | None:
    try:
        with stdout_to_stderr(), torch_threads_kept():
            _torchao_adamw8bit()
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] != "torchao":
            return f"torchao-8bit left out: import torchao failed ({_first_line(exc)})"
        return "torchao-8bit left out: torchao is not installed (pip install torchao)"
    except Exception as exc:
        return f"torchao-8bit left out: torchao has no AdamW8bit here ({_first_line(exc)})"
    return None


def _adamkit_fused_missing(name: str, optimizer: str, device: str) -> str | None:
    """None when ``adamkit.torch.<optimizer>(fused=True)`` builds and steps two small tensors on
    ``device``; else the line that says it is not available."""
    cls = getattr(ak, optimizer)
    params = [torch.nn.Parameter(torch.zeros(8, device=device)) for _ in range(2)]
    for p in params:
        p.grad = torch.ones_like(p)
    kwargs: dict[str, Any] = {"momentum": 0.9} if optimizer == "SGD" else {}
    try:
        opt = cls(params, lr=LR, fused=True, **kwargs)
    except RuntimeError:
        return (f"adamkit fused {optimizer} not available (adamkit.torch.{optimizer} refuses "
                f"fused=True in this version); {name} left out")
    try:
        opt.step()
    except Exception as exc:  # a kernel that does not work here: say so, time the others
        return (f"adamkit fused {optimizer} not available: its first step on two small tensors "
                f"failed ({_first_line(exc)}); {name} left out")
    return None


_CHECKS: dict[str, Callable[[str], str | None]] = {
    "deepspeed-cpu": lambda device: _not_installed("deepspeed-cpu", "deepspeed.ops.adam",
                                                   BENCH_EXTRA)(),
    "bnb-8bit": lambda device: _not_installed("bnb-8bit", "bitsandbytes",
                                              "pip install bitsandbytes")(),
    "torchao-8bit": lambda device: _torchao_missing(),
    "adamkit-sgd-fused": lambda device: _adamkit_fused_missing("adamkit-sgd-fused", "SGD", device),
    "adamkit-adagrad-fused": lambda device: _adamkit_fused_missing("adamkit-adagrad-fused",
                                                                   "Adagrad", device),
}


@functools.cache
def missing(name: str, device: str) -> str | None:
    """The one line saying why ``name`` cannot run on ``device`` here, or None when it can."""
    check = _CHECKS.get(name)
    return check(device) if check is not None else None


def check_names(names: list[str], device: str) -> None:
    """A UsageError for a name that is no contender, or one that does not run on ``device``."""
    for name in names:
        if name not in REGISTRY:
            raise choice("contender", name, CONTENDERS)
        if device not in REGISTRY[name].devices:
            valid = [n for n, c in REGISTRY.items() if device in c.devices]
            raise UsageError(f"contender {name!r} runs on {' and '.join(REGISTRY[name].devices)} "
                             f"only, not on --device {device}; valid on {device}: "
                             f"{', '.join(valid)}")


def with_anchors(names: list[str]) -> list[str]:
    """``names`` plus ``torch-fused`` and the anchor of every other family among them, in the
    registry's order (families together)."""
    wanted = set(names) | {ANCHOR} | {ANCHORS[REGISTRY[n].family] for n in names}
    return [n for n in CONTENDERS if n in wanted]


def select(requested: list[str] | None, device: str) -> tuple[list[str], dict[str, str]]:
    """The contenders to run on ``device`` (``requested``, or the default set there), anchors
    added, and for each one left out the line that says why (a library not installed, adamkit
    without that fused kernel).

    A UsageError for an unknown name or one that does not run on ``device``.
    """
    if device not in DEVICES:
        raise choice("device", device, DEVICES)
    if requested is None:
        names = [n for n, c in REGISTRY.items() if device in c.default_on]
    else:
        check_names(requested, device)
        names = list(dict.fromkeys(requested))
    notes = {n: line for n in names if (line := missing(n, device)) is not None}
    # the anchors of the families asked for stay (torch's own, always here): torch's fused SGD
    # is still timed, with its GB/s, when adamkit's is left out
    return [n for n in with_anchors(names) if n not in notes], notes


# --- building them -----------------------------------------------------------------------------

def load_deepspeed(quiet: bool = False) -> type:
    """``DeepSpeedCPUAdam``, its C++ op loaded: the first use JIT-builds it with ninja (about a
    minute on 2 cores; cached in ~/.cache/torch_extensions after). DeepSpeed's messages go to
    stderr; torch's thread count is kept."""
    if _DEEPSPEED:
        return _DEEPSPEED[0]
    start = time.perf_counter()
    if not quiet:
        print("bench: deepspeed-cpu: loading DeepSpeed's cpu_adam C++ op (its first use builds it "
              "with ninja, ~1 min; cached after) ...", file=sys.stderr, flush=True)
    with stdout_to_stderr(), torch_threads_kept(), deepspeed_on_cpu():
        cls = _import("deepspeed.ops.adam").DeepSpeedCPUAdam
        _import("deepspeed.ops.op_builder").CPUAdamBuilder().load()
    if not quiet:
        print(f"bench: deepspeed-cpu: op loaded in {time.perf_counter() - start:.1f} s",
              file=sys.stderr, flush=True)
    _DEEPSPEED.append(cls)
    return cls


_DEEPSPEED: list[type] = []


def prepare(names: list[str], quiet: bool = False) -> tuple[list[str], dict[str, str]]:
    """Load what takes long once, before any timing (DeepSpeed's op). Returns the names that
    can run and, for one that cannot after all (its op failed to build), the line saying why."""
    notes = {}
    if "deepspeed-cpu" in names:
        try:
            load_deepspeed(quiet)
        except Exception as exc:
            notes["deepspeed-cpu"] = (f"deepspeed-cpu left out: DeepSpeed's cpu_adam op did not "
                                      f"build or load ({_first_line(exc)})")
    return [n for n in names if n not in notes], notes


def make(name: str, params: list) -> torch.optim.Optimizer:
    """The optimizer of contender ``name`` over ``params``."""
    if name == "torch-forloop":
        return torch.optim.Adam(params, lr=LR, foreach=False)
    if name == "torch-foreach":
        return torch.optim.Adam(params, lr=LR, foreach=True)
    if name == "torch-fused":
        return torch.optim.Adam(params, lr=LR, fused=True)
    if name in ("adamkit-fp32", "adamkit-bf16", "adamkit-8bit"):
        return ak.Adam(params, lr=LR, state_precision=name.split("-", 1)[1])
    if name == "deepspeed-cpu":
        cls = load_deepspeed(quiet=True)
        with stdout_to_stderr(), torch_threads_kept():
            return cls(params, lr=LR, adamw_mode=False)
    if name == "bnb-8bit":
        return _import("bitsandbytes").optim.AdamW8bit(params, lr=LR, weight_decay=0.0)
    if name == "torchao-8bit":
        return _torchao_adamw8bit()(params, lr=LR, weight_decay=0.0)
    if name == "torch-sgd-fused":
        return torch.optim.SGD(params, lr=LR, momentum=0.9, fused=True)
    if name == "adamkit-sgd-fused":
        return ak.SGD(params, lr=LR, momentum=0.9, fused=True)
    if name == "torch-adagrad-fused":
        return torch.optim.Adagrad(params, lr=LR, fused=True)
    if name == "adamkit-adagrad-fused":
        return ak.Adagrad(params, lr=LR, fused=True)
    raise choice("contender", name, CONTENDERS)


def _tensor_bytes(t: torch.Tensor, seen: set) -> int:
    """Bytes of ``t``'s storage, counted once per storage (bitsandbytes shares its quantization
    maps between params); a tensor subclass (torchao's 8-bit state) by its inner tensors."""
    flatten = getattr(t, "__tensor_flatten__", None)
    if flatten is not None and type(t) not in (torch.Tensor, torch.nn.Parameter):
        inner, _ = flatten()
        return sum(_tensor_bytes(getattr(t, n), seen) for n in inner)
    key = (t.untyped_storage().data_ptr(), t.device)
    if key in seen:
        return 0
    seen.add(key)
    return t.numel() * t.element_size()


def state_bytes(opt: torch.optim.Optimizer) -> int:
    """Bytes of optimizer state: adamkit's own count, else every state tensor's but ``step``
    (which adamkit does not count either)."""
    if isinstance(opt, ak.RuleOptimizer):
        return opt.state_bytes()
    seen: set = set()
    return sum(_tensor_bytes(v, seen) for s in opt.state.values() for k, v in s.items()
               if torch.is_tensor(v) and k != "step")


def path(name: str, opt: torch.optim.Optimizer) -> str:
    """Which path the optimizer took on its last step (adamkit's ``optimizer.paths()``), or the
    library."""
    if isinstance(opt, ak.RuleOptimizer):
        paths = sorted({str(p) for p in opt.paths() if p is not None}) or ["not stepped"]
        return ", ".join(paths)
    return {"deepspeed-cpu": "deepspeed cpu_adam (C++, OpenMP)", "bnb-8bit": "bitsandbytes",
            "torchao-8bit": "torchao"}.get(name, "torch")
