"""The fused engine: one kernel call per parameter group instead of one call per tensor.

Per param group, parameters are bucketed by (dtype, stored precision). Inside a bucket:

- every state moment (``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``) lives in one flat buffer
  per moment; ``optimizer.state[p]`` holds *views* of it, so the state and ``state_dict()`` keep
  torch's per-parameter format (8-bit: codes and ``*_absmax``, see :mod:`.codecs`). ``step`` is a
  0-dim view into a per-bucket float tensor, so one ``+= 1`` counts every parameter's step;
- **parameters stay where they are**: the engine never re-points ``p.data`` or ``.grad`` and
  never changes a parameter's storage, strides or identity (torch never does, and references a
  user took before, views of the user's own buffers, tied weights, ``ZeroRedundancyOptimizer``'s
  bucket views and DDP's gradient buckets all rely on it);
- one kernel call updates every parameter of the bucket: it reads and writes each param and
  gradient where it lives through a table of addresses taken at each step (no param or gradient
  is gathered or copied: with
  ``zero_grad(set_to_none=True)`` autograd allocates fresh gradients every step, and copying them
  would cost more memory traffic than it saves), and splits the work into equal chunks over all
  tensors, so the threads stay busy whatever the tensor sizes. That removes torch's per-tensor
  dispatch cost (kernel launch, parallel region) entirely.

Correctness before speed. Each step first checks that the layout still holds: the same params in
the group with the same sizes and dtypes (a user who assigns ``p.data`` a tensor of another size
or dtype gets the engine rebuilt around it; one of the same kind is simply read where it now is),
gradients present, dense and contiguous (else that step goes param by param). A **non-contiguous**
param (a transposed view, a strided slice of a user's buffer) is stepped by the same kernel
through a contiguous copy written back through its own strides (``copy_``): one extra read and
write of that tensor, and nothing about the param changes but its values; the rest of the bucket
still goes in one kernel call. (Teaching the walker strides would spare that copy but give every
kernel a second, rarely run, indexing scheme.) A parameter without a gradient (frozen,
``zero_grad(set_to_none=True)`` from either the model or the optimizer, a branch not taken) is
skipped exactly as torch.optim skips it: its params, state and step count stay as they are;
parameters that get a gradient for the first time get their state then. Replaced ``.grad`` tensors
(DDP bucket views included) are read where they are. Anything else the engine does not handle
(other rules, non-finite handling, clipping, complex/half dtypes, devices other than the CPU,
hyperparameters given as arrays) makes the group take the per-tensor rule path, the ground truth.
``load_state_dict`` and ``add_param_group`` make the engine rebuild its layout on the next step.

Under ``torch.compile`` (while dynamo traces, ``torch.compiler.is_compiling()``) every group takes
the per-tensor rule path: plain torch ops that dynamo traces into one graph (the step count and
tensor hyperparameters stay tensors there, as in torch.optim), so no Numba call enters a graph;
the same optimizer takes the engine again in eager steps (the moments stay in the engine's
buffers, the rule path updates them in place). ``optimizer.paths()`` reports eager steps.

``fused=None`` (the default) uses the engine for every group it can take but one of a single
tensor under ``AUTO_MIN_NUMEL`` elements, where the rule path is faster (the rule path costs
tens of microseconds per tensor in Python, the engine a fixed ~0.1 ms per call). The engine agrees
with torch.optim to float rounding, as torch's own ``fused=True`` does; ``fused=False`` (the rule
path, never the engine) is bitwise equal to torch.optim's for-loop. ``fused=True`` uses the
engine for every group it can take.

Each group's verdict is a :class:`GroupPath` (``optimizer.paths()``): the engine, or the rule path
with a :class:`PathReason`. The layout of a group the engine takes is a :class:`GroupPlan`.
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

from adamkit.torch.fused import codecs, kernels
from adamkit.torch.fused.paths import (
    AUTO_MIN_NUMEL,
    ENGINE,
    GroupPath,
    PathReason,
    rule_path,
    settings_verdict,
)
from adamkit.torch.fused.sharding import is_dtensor

# Kernel calls on fewer elements run on one thread: waking the pool costs more than it gains,
# and idle pool threads spinning on a 2-core machine slow down everything else (torch included).
# Larger ones use as many threads as torch does (torch.set_num_threads is the user's knob).
# On a shared machine a fork-join costs up to a scheduler time slice (ms) whenever the other core
# is busy, so only work that takes about a millisecond or more on one thread is split. Measured on
# the quiet 2-core machine (adamkit bench, many-small: 2M params in 2,000 tensors): 0.25x torch's
# fused step on one thread (a 4M threshold), 0.18x on two (1M); 512k gained nothing more.
PARALLEL_MIN = 1 << 20
DTYPES = (torch.float32, torch.float64)
_GRAD = operator.attrgetter("grad")
_DATA_PTR = torch.Tensor.data_ptr
_IS_CONTIGUOUS = torch.Tensor.is_contiguous
_NUMEL = torch.Tensor.numel


def _any_none(items: list) -> bool:
    return any(map(operator.is_, items, itertools.repeat(None)))  # C speed, no tensor __eq__


def _addresses(tensors: list) -> np.ndarray:
    """Each tensor's data address (RuntimeError for a sparse one)."""
    return np.fromiter(map(_DATA_PTR, tensors), dtype=np.intp, count=len(tensors))


def _np(t: torch.Tensor) -> np.ndarray:
    """Zero-copy NumPy view of a CPU tensor (bfloat16 as its uint16 bit patterns)."""
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16)
    return t.numpy()


def _np_dtype(dtype: torch.dtype) -> np.dtype:
    return np.dtype(np.float64) if dtype == torch.float64 else np.dtype(np.float32)


@dataclass
class Bucket:
    """The params of one group with one dtype and one stored precision, and their flat state."""

    dtype: torch.dtype
    precision: str  # "fp32" (the param's own dtype), "bf16" or "8bit"
    amsgrad: bool
    params: list = field(default_factory=list)
    offsets: list = field(default_factory=list)  # element offset of each param in the buffers
    sizes: list = field(default_factory=list)  # each param's numel when laid out
    steps: Any = None  # per param: its step count (state["step"] is a 0-dim view of it)
    moments: dict = field(default_factory=dict)  # key -> flat tensor (codes for 8-bit)
    absmax: dict = field(default_factory=dict)  # 8-bit: key -> flat float32 tensor
    buffers: tuple = ()  # the kernels' (m, v, w) arrays, placeholders where a moment is absent
    scales: tuple = ()  # the kernels' (m, v, w) absmax arrays (placeholders unless 8-bit)
    like: Any = None  # a NumPy array of the params' dtype (types the kernels' pointers)
    initialized: Any = None  # bool per param: state[p] filled in
    table: Any = None  # kernels.WorkTable: every param's moments and the parallel work items
    p_addr: Any = None  # every param's data address at the last step

    def replaced(self, p_addr: np.ndarray) -> bool:
        """Whether a param whose address changed since the last step (``p.data`` assigned) now
        has another size or dtype than its moments: the layout must be rebuilt."""
        for i in np.flatnonzero(p_addr != self.p_addr):
            p = self.params[i]
            if p.numel() != self.sizes[i] or p.dtype != self.dtype or p.device.type != "cpu":
                return True
        return False

    @property
    def keys(self) -> tuple:
        return codecs.MOMENT_KEYS if self.amsgrad else codecs.MOMENT_KEYS[:2]

    @property
    def storage(self) -> str:
        """The kernels' storage format: ``"float"`` (the param's dtype), ``"bf16"``, ``"8bit"``."""
        return "float" if self.precision == "fp32" else self.precision


@dataclass
class GroupPlan:
    """A group's layout for the engine, or the verdict that the rule path takes it.

    ``params`` is the group's own list object and ``n_params`` its length when the plan was
    made (a changed group gets a new plan); ``buckets`` the engine's flat buffers (empty on the
    rule path); ``outside`` the params that had neither state nor gradient then (the first
    gradient of one rebuilds the layout); ``path`` the verdict.
    """

    params: list
    n_params: int
    path: GroupPath
    buckets: list[Bucket] = field(default_factory=list)
    outside: list = field(default_factory=list)

    def made_for(self, params: list) -> bool:
        return self.params is params and self.n_params == len(params)

    def still_holds(self) -> bool:
        """No outsider got a gradient (param sizes are checked with their addresses, by
        :meth:`Bucket.replaced`)."""
        if self.path.kind == "rule":  # a group's size cannot change while its params do not
            return self.path.reason is PathReason.SMALL_GROUP
        return not any(p.grad is not None for p in self.outside)


class _Threads:
    """Runs a kernel on as many threads as torch uses (one below ``PARALLEL_MIN`` elements).

    Numba's OpenMP pool can share the OpenMP runtime with torch, and starting it resets the
    runtime's thread count: torch's setting is put back, so the user's choice stands.
    """

    def __init__(self, n_elements: int) -> None:
        self.n_elements = n_elements

    def __enter__(self) -> None:
        self.torch_threads = torch.get_num_threads()
        wanted = min(self.torch_threads, getattr(numba.config, "NUMBA_NUM_THREADS", 1))
        numba.set_num_threads(1 if self.n_elements < PARALLEL_MIN else max(1, wanted))

    def __exit__(self, *exc: Any) -> None:
        if torch.get_num_threads() != self.torch_threads:
            torch.set_num_threads(self.torch_threads)


class FusedEngine:
    """The engine of one optimizer: a plan per param group, built lazily, rebuilt on change."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer
        self.plans: dict[int, GroupPlan] = {}  # id(group) -> its plan
        self.paths: dict[int, GroupPath] = {}  # id(group) -> the path of its last step

    def __getstate__(self) -> dict:
        # a copied or pickled optimizer rebuilds its layout around its own tensors
        return {"optimizer": self.optimizer, "plans": {}, "paths": {}}

    def invalidate(self) -> None:
        """Forget every layout (after load_state_dict, add_param_group, ...): rebuilt on next step."""
        self.plans.clear()

    def path_of(self, group: dict) -> GroupPath | None:
        """The path ``group`` took on its last step (None before its first)."""
        return self.paths.get(id(group))

    # -- the step ---------------------------------------------------------------------------------

    def step_group(self, group: dict) -> bool:
        """Do ``group``'s step; False (nothing touched) when the rule path must do it."""
        if torch.compiler.is_compiling():
            # dynamo traces the rule path (plain torch ops); no Numba call enters a graph
            return False
        path = settings_verdict(self.optimizer, group)
        plan = None
        if path is None:
            plan = self.plans.get(id(group))
            if plan is None or not plan.made_for(group["params"]) or not plan.still_holds():
                plan = self._plan(group)
            path = plan.path
        self.paths[id(group)] = path
        if plan is None or path.kind == "rule":
            return False
        addresses = [_addresses(b.params) for b in plan.buckets]
        if any(map(Bucket.replaced, plan.buckets, addresses)):
            plan = self._plan(group)  # a param's .data was replaced by one of another kind
            self.paths[id(group)] = plan.path
            if plan.path.kind == "rule":
                return False
            addresses = [_addresses(b.params) for b in plan.buckets]
        hp = self.optimizer.hyperparameters(group)
        for bucket, p_addr in zip(plan.buckets, addresses, strict=True):
            bucket.p_addr = p_addr
            self._step_bucket(bucket, hp)
        return True

    def _step_bucket(self, bucket: Bucket, hp: dict) -> None:
        params = bucket.params
        grads = list(map(_GRAD, params))
        steps = bucket.steps.numpy()
        all_active = not _any_none(grads)
        if all_active and not bucket.initialized.all():
            for new in np.flatnonzero(~bucket.initialized):
                self._init_state(bucket, int(new))
        if all_active and steps.min() == steps.max() and self._step_all(bucket, grads, hp):
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
            self._step_one(bucket, i, g, hp)
            bucket.steps[i] += 1

    def _step_all(self, bucket: Bucket, grads: list, hp: dict) -> bool:
        """Every param of the bucket in one kernel call, each param and gradient read and written
        where it is (no copy) through a table of addresses; a non-contiguous param through a
        contiguous copy (:meth:`_step_one`). False, with nothing touched, when the gradients are
        not laid out for that (sparse, non-contiguous): the caller goes param by param."""
        try:
            g_addr = _addresses(grads)
        except RuntimeError:  # a sparse gradient has no data pointer
            return False
        if not all(map(_IS_CONTIGUOUS, grads)):
            return False
        step = int(bucket.steps[0]) + 1
        if all(map(_IS_CONTIGUOUS, bucket.params)):
            self._launch(bucket, bucket.table, bucket.p_addr, g_addr, hp, step)
            return True
        strided = [not p.is_contiguous() for p in bucket.params]
        dense = np.flatnonzero(~np.array(strided))
        table = kernels.WorkTable.build([bucket.offsets[i] for i in dense],
                                        [bucket.sizes[i] for i in dense])
        self._launch(bucket, table, bucket.p_addr[dense], g_addr[dense], hp, step)
        for i in np.flatnonzero(strided):
            self._step_one(bucket, int(i), grads[i], hp, step)
        return True

    def _step_one(self, bucket: Bucket, i: int, grad: torch.Tensor, hp: dict,
                  step: int | None = None) -> None:
        """Param ``i`` alone: the same kernel over a table of one tensor. A non-contiguous param
        is stepped in a contiguous copy, written back through its own strides."""
        p = bucket.params[i]
        if p.numel() == 0:
            return
        g = grad.to(dtype=bucket.dtype, device="cpu").contiguous()
        p_data = p.detach()
        flat = p_data if p_data.is_contiguous() else p_data.contiguous()
        table = kernels.WorkTable.build([bucket.offsets[i]], [p.numel()])
        addr = (np.array([flat.data_ptr()], dtype=np.intp),
                np.array([g.data_ptr()], dtype=np.intp))
        self._launch(bucket, table, *addr, hp, int(bucket.steps[i]) + 1 if step is None else step)
        if flat is not p_data:
            p_data.copy_(flat)

    @staticmethod
    def _launch(bucket: Bucket, table: kernels.WorkTable, p_addr: np.ndarray,
                g_addr: np.ndarray, hp: dict, step: int) -> None:
        scalars = kernels.kernel_scalars(hp, step, bucket.like.dtype)
        with _Threads(table.total):
            kernels.step_tensors(bucket.storage, bucket.amsgrad, table, p_addr, g_addr,
                                 bucket.like, bucket.buffers, bucket.scales, scalars)

    # -- building the layout ---------------------------------------------------------------------

    def _plan(self, group: dict) -> GroupPlan:
        """The group's plan: its layout, or the rule path and why (kept only when it cannot
        change while the group's params do not: a small group)."""
        params = group["params"]
        opt = self.optimizer
        precision = getattr(opt, "state_precision", "fp32")
        if group.get("fused") is None and len(params) == 1 and params[0].numel() < AUTO_MIN_NUMEL:
            # one small tensor: the rule path is faster there (see AUTO_MIN_NUMEL)
            detail = f"small group (one tensor of {params[0].numel()} < {AUTO_MIN_NUMEL} elements)"
            plan = GroupPlan(params, len(params), rule_path(PathReason.SMALL_GROUP, detail))
            self.plans[id(group)] = plan
            return plan
        for p in params:
            if is_dtensor(p):  # FSDP2: the rule path updates each rank's local shard
                return GroupPlan(params, len(params), rule_path(PathReason.PARAM, "a DTensor param"))
            if p.dtype not in DTYPES or p.device.type != "cpu" or p.is_sparse:
                detail = f"a {p.dtype} param on {p.device}"
                return GroupPlan(params, len(params), rule_path(PathReason.PARAM, detail))
            if precision != "fp32" and p.dtype != torch.float32:
                # the low-precision kernels are float32-only: the rule path does the rest
                detail = f"{precision} states for a {p.dtype} param"
                return GroupPlan(params, len(params), rule_path(PathReason.PARAM, detail))
        # Params in the layout: those with state or a gradient now (frozen ones join when they
        # first get a gradient, which triggers a rebuild).
        members = [p for p in params if opt.state.get(p) or p.grad is not None]
        outside = [p for p in params if not (opt.state.get(p) or p.grad is not None)]
        buckets: dict[tuple, Bucket] = {}
        for p in members:
            stored = codecs.precision_for(precision, p.numel())
            key = (p.dtype, stored)
            if key not in buckets:
                buckets[key] = Bucket(p.dtype, stored, bool(group["amsgrad"]))
            buckets[key].params.append(p)
        for bucket in buckets.values():
            self._layout(bucket)
        plan = GroupPlan(params, len(params), ENGINE, list(buckets.values()), outside)
        self.plans[id(group)] = plan
        return plan

    def _layout(self, b: Bucket) -> None:
        """Offsets of each param's moments in the flat buffers (8-bit: from a block boundary);
        the params themselves stay where they are."""
        align = codecs.BLOCK if b.precision == "8bit" else 16
        b.sizes = list(map(_NUMEL, b.params))
        offset = 0
        for n in b.sizes:
            b.offsets.append(offset)
            offset += -(-n // align) * align
        self._allocate_state(b, offset)
        b.steps = torch.zeros(len(b.params), dtype=_get_scalar_dtype())
        b.initialized = np.zeros(len(b.params), dtype=bool)
        for i, p in enumerate(b.params):
            if self.optimizer.state.get(p):
                self._adopt_state(b, i)
        b.p_addr = _addresses(b.params)
        b.table = kernels.WorkTable.build(b.offsets, b.sizes)

    @staticmethod
    def _allocate_state(b: Bucket, total: int) -> None:
        """The flat moment buffers (and 8-bit scales), and the kernels' views of them."""
        b.like = np.zeros(1, _np_dtype(b.dtype))
        store = {"fp32": b.dtype, "bf16": torch.bfloat16}.get(b.precision)
        for key in b.keys:
            if b.precision == "8bit":
                code_dtype = torch.int8 if key in codecs.SIGNED_KEYS else torch.uint8
                b.moments[key] = torch.zeros(total, dtype=code_dtype)
                b.absmax[key] = torch.zeros(total // codecs.BLOCK, dtype=torch.float32)
            else:
                b.moments[key] = torch.zeros(total, dtype=store)
        placeholder = {"fp32": b.like, "bf16": np.zeros(1, np.uint16),
                       "8bit": np.zeros(1, np.uint8)}[b.precision]
        no_scale = np.zeros(1, np.float32)
        b.buffers = tuple(_np(b.moments[k]) if k in b.moments else placeholder
                          for k in codecs.MOMENT_KEYS)
        b.scales = tuple(_np(b.absmax[k]) if k in b.absmax else no_scale
                         for k in codecs.MOMENT_KEYS)

    def _adopt_state(self, b: Bucket, i: int) -> None:
        """Move param i's existing state (any stored format) into the buffers, then view it."""
        p = b.params[i]
        state = self.optimizer.state[p]
        decoded = codecs.decode_state(state, p.detach())
        lo, n = b.offsets[i], p.numel()
        for key in b.keys:
            value = decoded.get(key)
            if value is None:
                continue  # e.g. AMSGrad switched on after a checkpoint without max_exp_avg_sq
            if b.precision == "8bit":
                codes, absmax = codecs.encode_8bit(value, key in codecs.SIGNED_KEYS)
                b.moments[key][lo:lo + codes.numel()] = codes
                first_block = lo // codecs.BLOCK
                b.absmax[key][first_block:first_block + absmax.numel()] = absmax
            else:
                b.moments[key][lo:lo + n] = value.reshape(-1)
        if torch.is_tensor(state.get("step")):
            b.steps[i] = state["step"].item()
        elif "step" in state:
            b.steps[i] = float(state["step"])
        self._init_state(b, i)

    def _init_state(self, b: Bucket, i: int) -> None:
        """Point ``optimizer.state[p]`` at param i's views (torch's per-parameter format)."""
        p = b.params[i]
        state = self.optimizer.state[p]
        for key in [k for k in state if k in codecs.MOMENT_KEYS or k.endswith("_absmax")]:
            del state[key]
        lo, n = b.offsets[i], p.numel()
        state["step"] = b.steps[i]
        for key in b.keys:
            if b.precision == "8bit":
                nb = codecs.n_blocks(n)
                first_block = lo // codecs.BLOCK
                state[key] = b.moments[key][lo:lo + nb * codecs.BLOCK]
                state[f"{key}_absmax"] = b.absmax[key][first_block:first_block + nb]
            else:
                state[key] = b.moments[key][lo:lo + n].view(p.shape)
        b.initialized[i] = True
