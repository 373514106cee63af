"""Flat-buffer engine: one fused kernel call per parameter group instead of one per tensor.

Per param group, parameters are bucketed by (dtype, stored precision). Inside a bucket:

- every state moment (``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``) lives in one flat buffer
  per moment; ``optimizer.state[p]`` holds *views* of it, so the state and ``state_dict()`` keep
  torch's per-parameter format (8-bit: codes and ``*_absmax``, see ``_precision``). ``step`` is a
  0-dim view into a per-bucket float tensor, so one ``+= 1`` counts every parameter's step;
- **packed** parameters (fewer than ``DIRECT_MIN`` elements: biases, norms, small layers) are
  themselves views into one flat param buffer (``p.data`` is re-pointed at build time), so the
  long tail of small tensors is one contiguous stream; large (**direct**) parameters stay where
  they are;
- one kernel call updates every parameter of the bucket: it reads each param and gradient where
  it lives through a table of addresses (no gradient is gathered or copied: with
  ``zero_grad(set_to_none=True)`` autograd allocates fresh gradients every step, and copying them
  would cost more memory traffic than it saves), and splits the work into equal chunks over all
  tensors, so the threads stay busy whatever the tensor sizes. That removes torch's per-tensor
  dispatch cost (kernel launch, parallel region) entirely.

Correctness before speed. Each step first checks that the layout still holds: the same params in
the group, packed params still pointing at their flat views (a user who assigns ``p.data`` gets
the engine rebuilt around the new values), gradients present, dense and contiguous (else that
step goes param by param). A parameter without a gradient (frozen, ``zero_grad(set_to_none=True)``
from either the model or the optimizer, a branch not taken) is skipped exactly as torch.optim
skips it: its params, state and step count stay as they are; parameters that get a gradient for
the first time get their state then. Replaced ``.grad`` tensors (DDP bucket views included) are
read where they are. Anything else the engine does not handle (other rules, non-finite handling,
clipping, complex/half dtypes, devices other than the CPU, hyperparameters given as arrays)
makes the group take the per-tensor rule path, the ground truth. ``load_state_dict`` and
``add_param_group`` make the engine rebuild its layout on the next step.

``fused=None`` (the default) uses the engine for groups of at least ``AUTO_MIN_NUMEL`` elements:
below that there is nothing to gain, and the rule path is bitwise equal to torch.optim's for-loop
(the engine agrees to float rounding, as torch's own ``fused=True`` does). ``fused=True`` uses
the engine for every group it can take; ``fused=False`` never.
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import torch
from torch.optim.optimizer import _get_scalar_dtype

from adamkit.torch import _kernels as K
from adamkit.torch import _precision as P

DIRECT_MIN = 1 << 16  # elements: larger tensors are updated in place with their own gradient
AUTO_MIN_NUMEL = 1 << 15  # fused=None uses the engine for groups at least this big (elements)
# Kernel calls on fewer elements run on one thread: waking the pool costs more than it gains,
# and idle pool threads spinning on a 2-core machine slow down everything else (torch included).
# Larger ones use as many threads as torch does (torch.set_num_threads is the user's knob).
# On a shared machine a fork-join costs up to a scheduler time slice (ms) whenever the other core
# is busy, so only work that takes several ms on one thread is split.
PARALLEL_MIN = 1 << 22
_GRAD = operator.attrgetter("grad")
_DATA_PTR = torch.Tensor.data_ptr
_IS_CONTIGUOUS = torch.Tensor.is_contiguous


def _any_none(items: list) -> bool:
    return any(map(operator.is_, items, itertools.repeat(None)))  # C speed, no tensor __eq__


def _run(kernel: Any, n_elements: int, *args: Any) -> None:
    """``kernel(*args)`` on as many threads as torch uses (one below ``PARALLEL_MIN``).

    Numba's OpenMP pool can share the OpenMP runtime with torch, and starting it resets the
    runtime's thread count: torch's setting is put back, so the user's choice stands.
    """
    torch_threads = torch.get_num_threads()
    wanted = min(torch_threads, getattr(numba.config, "NUMBA_NUM_THREADS", 1))
    numba.set_num_threads(1 if n_elements < PARALLEL_MIN else max(1, wanted))
    kernel(*args)
    if torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)
RULES = ("adam", "adamw")
DTYPES = (torch.float32, torch.float64)


def _np(t: torch.Tensor) -> np.ndarray:
    """Zero-copy NumPy view of a CPU tensor (bfloat16 as its uint16 bit patterns)."""
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16)
    return t.numpy()


def unsupported_reason(optimizer: Any, group: dict) -> str | None:
    """Why ``group`` cannot take the engine (None when it can): the per-tensor path takes it."""
    if optimizer.rule.name not in RULES:
        return f"rule {optimizer.rule.name!r}"
    if group.get("fused") is False:
        return "fused=False"
    for key in ("nonfinite", "clip_value", "clip_norm", "clip_global_norm"):
        if group.get(key) is not None or optimizer.defaults.get(key) is not None:
            return key
    for key in ("lr", "weight_decay", "eps"):
        value = group[key]
        if not (isinstance(value, float | int) or torch.is_tensor(value) and value.ndim == 0):
            return f"{key} is not a scalar"
    if not all(isinstance(b, float | int) or torch.is_tensor(b) and b.ndim == 0
               for b in group["betas"]):
        return "betas are not scalars"
    return None


@dataclass
class _TensorIndex:
    """Where each param's moments are, and the parallel work items over all params."""

    offsets: np.ndarray  # per param: element offset in the moment buffers
    sizes: np.ndarray  # per param: numel
    chunk_tensor: np.ndarray  # per work item: which param
    chunk_lo: np.ndarray  # per work item: first element (a multiple of K.CHUNK)
    chunk_hi: np.ndarray
    total: int

    @classmethod
    def build(cls, offsets: list, sizes: list) -> _TensorIndex:
        tensor, lo, hi = [], [], []
        for t, n in enumerate(sizes):
            for start in range(0, n, K.CHUNK):
                tensor.append(t)
                lo.append(start)
                hi.append(min(start + K.CHUNK, n))
        as_index = lambda xs: np.array(xs, dtype=np.intp)  # noqa: E731
        return cls(as_index(offsets), as_index(sizes), as_index(tensor), as_index(lo),
                   as_index(hi), int(sum(sizes)))


@dataclass
class _Bucket:
    """The params of one group with one dtype and one stored precision, and their flat state."""

    dtype: torch.dtype
    precision: str  # "fp32" (the param's own dtype), "bf16" or "8bit"
    amsgrad: bool
    params: list = field(default_factory=list)
    offsets: list = field(default_factory=list)  # element offset of each param in the buffers
    n_packed: int = 0  # params[:n_packed] are packed (views of one flat param buffer)
    packed_end: int = 0  # elements in the packed region
    flat_p: Any = None  # torch.Tensor once laid out (as the fields below)
    p_views: list = field(default_factory=list)
    p_ptrs: list = field(default_factory=list)
    steps: Any = None
    moments: dict = field(default_factory=dict)  # key -> flat tensor (codes for 8-bit)
    absmax: dict = field(default_factory=dict)  # 8-bit: key -> flat float32 tensor
    np_moments: dict = field(default_factory=dict)
    np_absmax: dict = field(default_factory=dict)
    initialized: Any = None  # bool per param: state[p] filled in
    index: Any = None  # _TensorIndex: every param's moments and the parallel work items
    p_addr: Any = None  # every param's data address (packed: fixed)

    @property
    def keys(self) -> tuple:
        return P.MOMENT_KEYS if self.amsgrad else P.MOMENT_KEYS[:2]

    def state_arrays(self, lo: int, hi: int) -> tuple:
        """The kernel's moment arguments for the elements ``[lo, hi)`` of the buffers."""
        if self.precision == "8bit":
            b_lo, b_hi = lo // P.BLOCK, P.n_blocks(hi) if hi > lo else lo // P.BLOCK
            out = []
            for key in P.MOMENT_KEYS:
                if key in self.np_moments:
                    out += [self.np_moments[key][b_lo * P.BLOCK:b_hi * P.BLOCK],
                            self.np_absmax[key][b_lo:b_hi]]
                else:
                    out += [np.zeros(1, np.uint8), np.zeros(1, np.float32)]
            return tuple(out)
        dummy = np.zeros(1, np.uint16 if self.precision == "bf16" else _np_dtype(self.dtype))
        return tuple(self.np_moments[k][lo:hi] if k in self.np_moments else dummy
                     for k in P.MOMENT_KEYS)


def _np_dtype(dtype: torch.dtype) -> np.dtype:
    return np.dtype(np.float64) if dtype == torch.float64 else np.dtype(np.float32)


class FlatEngine:
    """The engine of one optimizer: buckets per param group, built lazily, rebuilt on change."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer
        self.plans: dict[int, Any] = {}  # id(group) -> (params list object, n params, buckets)
        self.paths: dict[int, str] = {}  # id(group) -> "engine" or why the rule path took it

    def __getstate__(self) -> dict:
        # a copied or pickled optimizer rebuilds its layout around its own tensors
        return {"optimizer": self.optimizer, "plans": {}, "paths": {}}

    def invalidate(self) -> None:
        """Forget every layout (after load_state_dict, add_param_group, ...): rebuilt on next step."""
        self.plans.clear()

    # -- the step ---------------------------------------------------------------------------------

    def step_group(self, group: dict) -> bool:
        """Do ``group``'s step; False (nothing touched) when the rule path must do it."""
        reason = unsupported_reason(self.optimizer, group)
        plan: Any = self.plans.get(id(group)) if reason is None else None
        params = group["params"]
        if reason is None and (plan is None or plan[0] is not params or plan[1] != len(params)
                               or not self._fresh(plan)):
            plan = self._build(group)
        if reason is None and isinstance(plan[2], str):
            reason = plan[2]
        if reason is not None:
            self.paths[id(group)] = reason
            return False
        hp = self.optimizer.hyperparameters(group)
        for bucket in plan[2]:
            self._step_bucket(bucket, hp)
        self.paths[id(group)] = "engine"
        return True

    def _fresh(self, plan: tuple) -> bool:
        """The layout still holds: packed params still view the flat buffer, no newcomer grads."""
        if isinstance(plan[2], str):
            return plan[2].startswith("small group")  # the one verdict that cannot change
        for bucket in plan[2]:
            packed = bucket.params[:bucket.n_packed]
            if list(map(_DATA_PTR, packed)) != bucket.p_ptrs:
                return False
        outside = plan[3]
        return not any(p.grad is not None for p in outside)

    def _step_bucket(self, bucket: _Bucket, hp: dict) -> None:
        params = bucket.params
        grads = list(map(_GRAD, params))
        steps = bucket.steps.numpy()
        all_active = not _any_none(grads)
        if all_active and not bucket.initialized.all():
            for new in np.flatnonzero(~bucket.initialized):
                self._init_state(bucket, int(new))
        if all_active and steps.min() == steps.max() and self._fast_step(bucket, grads, hp):
            bucket.steps += 1
            return
        # Some params without a gradient, or step counts that differ: one param at a time.
        for g in grads:
            if g is not None and g.is_sparse:  # as the rule path: Adam refuses sparse gradients
                raise RuntimeError(f"{type(self.optimizer).__name__} does not support sparse "
                                   "gradients; use adamkit.torch.SparseAdam")
        for i, g in enumerate(grads):
            if g is None:
                continue
            if not bucket.initialized[i]:
                self._init_state(bucket, i)
            step = int(steps[i]) + 1
            self._kernel_one(bucket, i, g, K.adam_constants(hp, step, _np_dtype(bucket.dtype)))
            bucket.steps[i] += 1

    def _fast_step(self, bucket: _Bucket, grads: list, hp: dict) -> bool:
        """Every param of the bucket in one kernel call, each gradient read where it is (no
        copy) through a table of addresses. False, with nothing touched, when a gradient or a
        param is not laid out for that (sparse, non-contiguous)."""
        try:
            g_addr = np.fromiter(map(_DATA_PTR, grads), dtype=np.intp, count=len(grads))
        except RuntimeError:  # a sparse gradient has no data pointer
            return False
        if not all(map(_IS_CONTIGUOUS, grads)):
            return False
        direct_p = bucket.params[bucket.n_packed:]
        if not all(map(_IS_CONTIGUOUS, direct_p)):
            return False
        p_addr = bucket.p_addr
        if direct_p:  # packed params' addresses are fixed (checked in _fresh), the rest may move
            p_addr[bucket.n_packed:] = np.fromiter(map(_DATA_PTR, direct_p), dtype=np.intp,
                                                    count=len(direct_p))
        step = int(bucket.steps[0]) + 1
        self._kernel_tensors(bucket, p_addr, g_addr,
                             K.adam_constants(hp, step, _np_dtype(bucket.dtype)))
        return True

    @staticmethod
    def _kernel_tensors(bucket: _Bucket, p_addr: np.ndarray, g_addr: np.ndarray,
                        constants: tuple) -> None:
        """One call for every param (``p_addr``, ``g_addr``: their data addresses)."""
        d = bucket.index
        index = (p_addr, g_addr, d.offsets, d.sizes, d.chunk_tensor, d.chunk_lo, d.chunk_hi)
        like = np.zeros(1, _np_dtype(bucket.dtype))
        arrays = bucket.state_arrays(0, bucket.moments["exp_avg"].numel())
        if bucket.precision == "8bit":
            _run(K.adam_8bit_tensors, d.total, *index, *arrays, like, bucket.amsgrad, *constants)
        elif bucket.precision == "bf16":
            _run(K.adam_bf16_tensors, d.total, *index, *arrays, like, bucket.amsgrad, *constants)
        else:
            _run(K.adam_float_tensors, d.total, *index, *arrays, bucket.amsgrad, *constants)

    def _kernel_one(self, bucket: _Bucket, i: int, grad: torch.Tensor, constants: tuple) -> None:
        p = bucket.params[i]
        g = grad.to(dtype=bucket.dtype, device="cpu").contiguous().view(-1)
        p_data = p.detach()
        lo = bucket.offsets[i]
        if p_data.is_contiguous():
            self._kernel(bucket, _np(p_data.view(-1)), _np(g), lo, lo + p.numel(), constants)
        else:  # e.g. a param whose .data was replaced by a transposed view
            flat = p_data.contiguous().view(-1)
            self._kernel(bucket, _np(flat), _np(g), lo, lo + p.numel(), constants)
            p_data.copy_(flat.view(p_data.shape))

    @staticmethod
    def _kernel(bucket: _Bucket, p: np.ndarray, g: np.ndarray, lo: int, hi: int,
                constants: tuple) -> None:
        if p.size == 0:
            return
        arrays = bucket.state_arrays(lo, hi)
        if bucket.precision == "8bit":
            _run(K.adam_8bit, p.size, p, g, *arrays, bucket.amsgrad, *constants)
        elif bucket.precision == "bf16":
            _run(K.adam_bf16, p.size, p, g, *arrays, bucket.amsgrad, *constants)
        else:
            _run(K.adam_float, p.size, p, g, *arrays, bucket.amsgrad, *constants)

    # -- building the layout ---------------------------------------------------------------------

    def _build(self, group: dict) -> tuple:
        """The group's layout: ``(params, len, buckets, outside)``, or a reason in place of
        the buckets when the rule path must take the group."""
        params = group["params"]
        opt = self.optimizer
        precision = getattr(opt, "state_precision", "fp32")
        if group.get("fused") is None:
            total = sum(p.numel() for p in params)
            if total < AUTO_MIN_NUMEL:  # too small to gain; the rule path is torch's bit for bit
                plan: Any = (params, len(params), f"small group ({total} < {AUTO_MIN_NUMEL} elements)")
                self.plans[id(group)] = plan
                return plan
        for p in params:
            if p.dtype not in DTYPES or p.device.type != "cpu" or p.is_sparse:
                return (params, len(params), f"a {p.dtype} param on {p.device}")
            if precision != "fp32" and p.dtype != torch.float32:
                # the low-precision kernels are float32-only: the rule path does the rest
                return (params, len(params), f"{precision} states for a {p.dtype} param")
        # Params in the layout: those with state or a gradient now (frozen ones join when they
        # first get a gradient, which triggers a rebuild).
        members = [p for p in params if opt.state.get(p) or p.grad is not None]
        outside = [p for p in params if not (opt.state.get(p) or p.grad is not None)]
        buckets: dict[tuple, _Bucket] = {}
        for p in members:
            stored = P.precision_for(precision, p.numel())
            key = (p.dtype, stored)
            if key not in buckets:
                buckets[key] = _Bucket(p.dtype, stored, bool(group["amsgrad"]))
            buckets[key].params.append(p)
        for bucket in buckets.values():
            self._layout(bucket)
        plan = (params, len(params), list(buckets.values()), outside)
        self.plans[id(group)] = plan
        return plan

    def _layout(self, b: _Bucket) -> None:
        opt = self.optimizer
        align = P.BLOCK if b.precision == "8bit" else 16
        b.params.sort(key=lambda p: p.numel() >= DIRECT_MIN)  # stable: packed first, group order
        b.n_packed = sum(p.numel() < DIRECT_MIN for p in b.params)
        offset = 0
        for i, p in enumerate(b.params):
            b.offsets.append(offset)
            offset += -(-p.numel() // align) * align
            if i + 1 == b.n_packed:
                b.packed_end = offset
        total = offset
        if b.n_packed:
            b.flat_p = torch.zeros(b.packed_end, dtype=b.dtype)
        store = {"fp32": b.dtype, "bf16": torch.bfloat16}.get(b.precision)
        for key in b.keys:
            if b.precision == "8bit":
                code_dtype = torch.int8 if key in P.SIGNED_KEYS else torch.uint8
                b.moments[key] = torch.zeros(total, dtype=code_dtype)
                b.absmax[key] = torch.zeros(total // P.BLOCK, dtype=torch.float32)
                b.np_absmax[key] = _np(b.absmax[key])
            else:
                b.moments[key] = torch.zeros(total, dtype=store)
            b.np_moments[key] = _np(b.moments[key])
        b.steps = torch.zeros(len(b.params), dtype=_get_scalar_dtype())
        b.initialized = np.zeros(len(b.params), dtype=bool)
        for i, p in enumerate(b.params):
            lo, n = b.offsets[i], p.numel()
            if i < b.n_packed:
                view = b.flat_p[lo:lo + n].view(p.shape)
                view.copy_(p.detach())
                p.data = view
                b.p_views.append(view)
            if opt.state.get(p):
                self._adopt_state(b, i)
        b.p_ptrs = [p.data_ptr() for p in b.params[:b.n_packed]]
        b.p_addr = np.array([p.data_ptr() for p in b.params], dtype=np.intp)
        b.index = _TensorIndex.build(b.offsets, [p.numel() for p in b.params])

    def _adopt_state(self, b: _Bucket, i: int) -> None:
        """Move param i's existing state (any stored format) into the buffers, then view it."""
        p = b.params[i]
        state = self.optimizer.state[p]
        decoded = P.decode_state(state, p.detach())
        lo, n = b.offsets[i], p.numel()
        for key in b.keys:
            value = decoded.get(key)
            if value is None:
                continue  # e.g. AMSGrad switched on after a checkpoint without max_exp_avg_sq
            if b.precision == "8bit":
                codes, absmax = P.encode_8bit(value, key in P.SIGNED_KEYS)
                b.moments[key][lo:lo + codes.numel()] = codes
                b.absmax[key][lo // P.BLOCK:lo // P.BLOCK + absmax.numel()] = absmax
            else:
                b.moments[key][lo:lo + n] = value.reshape(-1)
        if torch.is_tensor(state.get("step")):
            b.steps[i] = state["step"].item()
        elif "step" in state:
            b.steps[i] = float(state["step"])
        self._init_state(b, i)

    def _init_state(self, b: _Bucket, i: int) -> None:
        """Point ``optimizer.state[p]`` at param i's views (torch's per-parameter format)."""
        p = b.params[i]
        state = self.optimizer.state[p]
        for key in [k for k in state if k in P.MOMENT_KEYS or k.endswith("_absmax")]:
            del state[key]
        lo, n = b.offsets[i], p.numel()
        state["step"] = b.steps[i]
        for key in b.keys:
            if b.precision == "8bit":
                nb = P.n_blocks(n)
                state[key] = b.moments[key][lo:lo + nb * P.BLOCK]
                state[f"{key}_absmax"] = b.absmax[key][lo // P.BLOCK:lo // P.BLOCK + nb]
            else:
                state[key] = b.moments[key][lo:lo + n].view(p.shape)
        b.initialized[i] = True
