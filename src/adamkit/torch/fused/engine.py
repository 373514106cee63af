"""The fused engine: one kernel call per parameter group instead of one call per tensor.

The engine plans; the kernels compute. A kernel (:mod:`.cpu` on the CPU, :mod:`.gpu` on CUDA) is a
function of data: params, gradients, flat state buffers and the step's scalars
(:mod:`.specs`). The optimizer hands the engine its data for each group's step (a
:class:`StepData`: the rule's name, the hyperparameters now, the state precision and its per-param
state mapping); the engine never reads the optimizer object.

Per param group, parameters are bucketed by (device, dtype, stored precision). Inside a bucket:

- every state slot of the rule (``exp_avg``, ``exp_avg_sq``, ``momentum_buffer``, ``sum``, ...:
  ``specs.KernelSpec.slots``) lives in one flat buffer per slot; ``optimizer.state[p]`` holds
  *views* of it, so the state and ``state_dict()`` keep
  torch's per-parameter format (8-bit: codes and ``*_absmax``, see :mod:`.codecs`). ``step`` is a
  0-dim view into a per-bucket float tensor, so one ``+= 1`` counts every parameter's step (NAdam's
  ``mu_product`` likewise; SGD keeps no step, as torch's);
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
(non-finite handling, clipping, complex/half dtypes on the CPU, devices other than the CPU and
CUDA, CUDA without Triton, hyperparameters given as arrays) makes the group take the per-tensor
rule path, the ground truth.
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
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import torch
from torch.optim.optimizer import _get_scalar_dtype

from adamkit.rules import get as get_rule
from adamkit.torch.fused import codecs, cpu
from adamkit.torch.fused.group_path import (
    AUTO_MIN_NUMEL,
    ENGINE,
    FOREACH,
    GroupPath,
    PathReason,
    rule_path,
)
from adamkit.torch.fused.sharding import is_dtensor
from adamkit.torch.fused.specs import SPECS, KernelSpec

# Kernel calls on fewer elements run on one thread: waking the pool costs more than it gains,
# and idle pool threads spinning on a 2-core machine slow down everything else (torch included).
# Larger ones use as many threads as torch does (torch.set_num_threads is the user's knob).
# On a shared machine a fork-join costs up to a scheduler time slice (ms) whenever the other core
# is busy, so only work that takes about a millisecond or more on one thread is split
# (benchmarks/results/design_measurements.md#fused-parallel-min).
PARALLEL_MIN = 1 << 20
CPU_DTYPES = (torch.float32, torch.float64)
CUDA_DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)  # math in float32+
_GRAD = operator.attrgetter("grad")
_DATA_PTR = torch.Tensor.data_ptr
_IS_CONTIGUOUS = torch.Tensor.is_contiguous
_NUMEL = torch.Tensor.numel


@dataclass(frozen=True)
class StepData:
    """What an optimizer hands the engine for one param group's step: data, nothing of its own.

    ``rule``: the rule's name (a key of ``specs.SPECS``); ``hp``: the group's hyperparameters
    now (a scheduler's lr included); ``precision``: the state precision asked for; ``state``: the
    optimizer's per-param state, where the engine puts views of its buffers (torch's format).
    """

    rule: str
    hp: dict
    precision: str
    state: MutableMapping


def _any_none(items: list) -> bool:
    return any(map(operator.is_, items, itertools.repeat(None)))  # C speed, no tensor __eq__


def _addresses(tensors: list) -> np.ndarray:
    """Each tensor's data address (RuntimeError for a sparse one)."""
    return np.fromiter(map(_DATA_PTR, tensors), dtype=np.intp, count=len(tensors))


def _np(t: torch.Tensor) -> np.ndarray:
    """Zero-copy NumPy view of a CPU tensor (bfloat16 as its uint16 bit patterns, 8-bit codes as
    uint8: the kernels work on their bits)."""
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16)
    if t.dtype == torch.int8:
        return t.numpy().view(np.uint8)
    return t.numpy()


def _np_dtype(dtype: torch.dtype) -> np.dtype:
    return np.dtype(np.float64) if dtype == torch.float64 else np.dtype(np.float32)



@dataclass
class Bucket:
    """The params of one group with one device, dtype and stored precision, and their flat state."""

    device: torch.device
    dtype: torch.dtype
    precision: str  # "fp32" (the param's own dtype), "bf16" or "8bit"
    spec: KernelSpec
    slots: tuple[str, ...]  # the rule's state slots, in kernel order
    params: list = field(default_factory=list)
    offsets: list = field(default_factory=list)  # element offset of each param in the buffers
    sizes: list = field(default_factory=list)  # each param's numel when laid out
    steps: Any = None  # per param: its step count (state["step"] is a 0-dim view of it)
    held: dict = field(default_factory=dict)  # per param scalar states (NAdam's mu_product)
    buffers: dict = field(default_factory=dict)  # slot -> flat tensor (codes for 8-bit)
    absmax: dict = field(default_factory=dict)  # 8-bit: slot -> flat float32 tensor
    kernel_slots: Any = None  # cpu.Slots: the CPU kernels' view of the buffers
    like: Any = None  # a NumPy array of the params' dtype (types the CPU kernels' pointers)
    initialized: Any = None  # bool per param: state[p] filled in
    table: Any = None  # cpu.WorkTable: every param's slots and the parallel work items
    p_addr: Any = None  # every param's data address at the last step
    everyone: list = field(default_factory=list)  # range(len(params)), as kernel call members

    def replaced(self, p_addr: np.ndarray) -> bool:
        """Whether a param whose address changed since the last step (``p.data`` assigned) now
        has another size, dtype or device than its state: the layout must be rebuilt."""
        for i in np.flatnonzero(p_addr != self.p_addr):
            p = self.params[i]
            if p.numel() != self.sizes[i] or p.dtype != self.dtype or p.device != self.device:
                return True
        return False

    @property
    def storages(self) -> tuple[str, ...]:
        return tuple(codecs.storage_of(slot, self.precision) for slot in self.slots)

    @property
    def on_cpu(self) -> bool:
        return self.device.type == "cpu"


@dataclass
class GroupPlan:
    """A group's layout for the engine, or the verdict that the rule path takes it.

    ``params`` is the group's own list object and ``n_params`` its length when the plan was
    made (a changed group gets a new plan); ``slots`` the rule's slots then (hyperparameters
    that change them, AMSGrad or momentum switched on, get a new plan); ``buckets`` the engine's
    flat buffers (empty on the rule path); ``outside`` the params that had neither state nor
    gradient then (the first gradient of one rebuilds the layout); ``path`` the verdict.
    """

    params: list
    n_params: int
    path: GroupPath
    slots: tuple[str, ...] = ()
    buckets: list[Bucket] = field(default_factory=list)
    outside: list = field(default_factory=list)

    def made_for(self, params: list, slots: tuple[str, ...]) -> bool:
        return self.params is params and self.n_params == len(params) and self.slots == slots

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


def gpu_kernels_available() -> bool:
    """Whether CUDA params can take the Triton kernels (the optional ``gpu`` extra)."""
    try:
        from adamkit.torch.fused import gpu  # noqa: F401  (imports triton)
    except ImportError:
        return False
    return True


class FusedEngine:
    """The engine of one optimizer: a plan per param group, built lazily, rebuilt on change."""

    def __init__(self) -> None:
        self.plans: dict[int, GroupPlan] = {}  # id(group) -> its plan
        self.paths: dict[int, GroupPath] = {}  # id(group) -> the path of its last step

    def __getstate__(self) -> dict:
        # a copied or pickled optimizer rebuilds its layout around its own tensors
        return {"plans": {}, "paths": {}}

    def invalidate(self) -> None:
        """Forget every layout (after load_state_dict, add_param_group, ...): rebuilt on next step."""
        self.plans.clear()

    def path_of(self, group: dict) -> GroupPath | None:
        """The path ``group`` took on its last step (None before its first)."""
        return self.paths.get(id(group))

    # -- the step ---------------------------------------------------------------------------------

    def step_group(self, group: dict, data: StepData, verdict: GroupPath | None) -> bool:
        """Do ``group``'s step; False (nothing touched) when the rule path must do it.
        ``verdict``: the rule path and why where the group's settings rule the engine out
        (:func:`~.paths.settings_verdict`), else None."""
        if torch.compiler.is_compiling():
            # dynamo traces the rule path (plain torch ops); no Numba call enters a graph
            return False
        path = verdict
        plan = None
        if path is None:
            slots = SPECS[data.rule].slots_for(data.hp)
            plan = self.plans.get(id(group))
            if plan is None or not plan.made_for(group["params"], slots) or not plan.still_holds():
                plan = self._plan(group, data, slots)
            path = plan.path
        self.paths[id(group)] = path
        if plan is None or path.kind == "rule":
            return False
        if path.kind == "foreach":
            _step_foreach(group["params"], data)
            return True
        addresses = [_addresses(b.params) for b in plan.buckets]
        if any(map(Bucket.replaced, plan.buckets, addresses)):
            plan = self._plan(group, data, plan.slots)  # a param's .data replaced by another kind
            self.paths[id(group)] = plan.path
            if plan.path.kind == "rule":
                return False
            addresses = [_addresses(b.params) for b in plan.buckets]
        for bucket, p_addr in zip(plan.buckets, addresses, strict=True):
            bucket.p_addr = p_addr
            self._step_bucket(bucket, data)
        return True

    def _step_bucket(self, bucket: Bucket, data: StepData) -> None:
        params = bucket.params
        grads = list(map(_GRAD, params))
        steps = bucket.steps.numpy()
        all_active = not _any_none(grads)
        if all_active and not bucket.initialized.all():
            for new in np.flatnonzero(~bucket.initialized):
                self._init_state(bucket, int(new), data)
        if all_active and steps.min() == steps.max() and self._step_all(bucket, grads, data):
            bucket.steps += 1
            return
        # Some params without a gradient, or step counts that differ: one param at a time.
        for g in grads:
            if g is not None and g.is_sparse:  # as the rule path: a sparse gradient is refused
                raise RuntimeError(f"fused {data.rule} does not support sparse gradients; use "
                                   "adamkit.torch.SparseAdam, or fused=False")
        for i, g in enumerate(grads):
            if g is None:
                continue
            if not bucket.initialized[i]:
                self._init_state(bucket, i, data)
            self._step_one(bucket, i, g, data)
            bucket.steps[i] += 1

    def _step_all(self, bucket: Bucket, grads: list, data: StepData) -> bool:
        """Every param of the bucket in one kernel call, each param and gradient read and written
        where it is (no copy); a non-contiguous param through a contiguous copy
        (:meth:`_step_one`). False, with nothing touched, when the gradients are not laid out for
        that (sparse, non-contiguous, another device): the caller goes param by param."""
        try:
            g_addr = _addresses(grads)
        except RuntimeError:  # a sparse gradient has no data pointer
            return False
        if not all(map(_IS_CONTIGUOUS, grads)):  # (torch keeps a grad on its param's device)
            return False
        step = int(bucket.steps[0]) + 1
        if all(map(_IS_CONTIGUOUS, bucket.params)):  # C-speed checks: thousands of tensors
            self._launch(bucket, bucket.everyone, bucket.p_addr, g_addr, grads, data, step)
            return True
        dense = [i for i, p in enumerate(bucket.params) if p.is_contiguous()]
        held = {key: values[dense] for key, values in bucket.held.items()}
        self._launch(bucket, dense, bucket.p_addr[dense], g_addr[dense],
                     [grads[i] for i in dense], data, step, held)
        for i, p in enumerate(bucket.params):
            if not p.is_contiguous():
                self._step_one(bucket, i, grads[i], data, step)
        return True

    def _step_one(self, bucket: Bucket, i: int, grad: torch.Tensor, data: StepData,
                  step: int | None = None) -> None:
        """Param ``i`` alone: the same kernel over a table of one tensor. A non-contiguous param
        is stepped in a contiguous copy, written back through its own strides."""
        p = bucket.params[i]
        if p.numel() == 0:
            return
        g = grad.to(dtype=bucket.dtype, device=bucket.device).contiguous()
        p_data = p.detach()
        flat = p_data if p_data.is_contiguous() else p_data.contiguous()
        addr = (np.array([flat.data_ptr()], dtype=np.intp), np.array([g.data_ptr()], dtype=np.intp))
        held = {key: values[i:i + 1] for key, values in bucket.held.items()}
        self._launch(bucket, [i], *addr, [g], data, int(bucket.steps[i]) + 1 if step is None else step,
                     held, params=[flat])
        if flat is not p_data:
            p_data.copy_(flat)

    def _launch(self, bucket: Bucket, members: list[int], p_addr: np.ndarray, g_addr: np.ndarray,
                grads: list, data: StepData, step: int, held: dict | None = None,
                params: list | None = None) -> None:
        """One kernel call over params ``members`` of the bucket (``params``, ``grads``: theirs,
        contiguous). ``held``: those params' held scalars, advanced by the step's scalars (views
        written back into the bucket's)."""
        spec = bucket.spec
        own = bucket.held if held is None else {k: v.clone() for k, v in held.items()}
        scalars = spec.scalars(data.hp, step, own)
        if held is not None:
            for key, values in own.items():
                bucket.held[key][members] = values
        flags = spec.flags(data.hp)
        if bucket.on_cpu:
            table = bucket.table if members is bucket.everyone and params is None else \
                cpu.WorkTable.build([bucket.offsets[i] for i in members],
                                    [bucket.sizes[i] for i in members])
            with _Threads(table.total):
                cpu.step_tensors(spec.rule, flags, bucket.kernel_slots, table, p_addr, g_addr,
                                 bucket.like, cpu.kernel_scalars(scalars, bucket.like.dtype))
            return
        from adamkit.torch.fused import gpu  # only on a GPU: imports triton

        whole = members is bucket.everyone
        if params is None:
            params = bucket.params if whole else [bucket.params[i] for i in members]
        offsets = bucket.offsets if whole else [bucket.offsets[i] for i in members]
        gpu.step(spec, dict(flags), bucket.storages, [p.detach() for p in params], grads, offsets,
                 tuple(bucket.buffers[k] for k in bucket.slots),
                 tuple(bucket.absmax.get(k) for k in bucket.slots), scalars)

    # -- building the layout ---------------------------------------------------------------------

    def _plan(self, group: dict, data: StepData, slots: tuple[str, ...]) -> GroupPlan:
        """The group's plan: its layout, or the rule path and why (kept only when it cannot
        change while the group's params do not: a small group)."""
        params = group["params"]
        precision = data.precision
        if group.get("fused") is None and len(params) == 1 and params[0].numel() < AUTO_MIN_NUMEL \
                and params[0].device.type == "cpu":
            # one small tensor: the rule path is faster there (see AUTO_MIN_NUMEL)
            detail = f"small group (one tensor of {params[0].numel()} < {AUTO_MIN_NUMEL} elements)"
            plan = GroupPlan(params, len(params), rule_path(PathReason.SMALL_GROUP, detail), slots)
            self.plans[id(group)] = plan
            return plan
        kinds = {_device_path(p, precision) for p in params}
        if kinds == {"foreach"}:
            plan = GroupPlan(params, len(params), FOREACH, slots)
            self.plans[id(group)] = plan
            return plan
        for reason in kinds - {"kernels", "foreach"}:
            return GroupPlan(params, len(params), rule_path(PathReason.PARAM, reason), slots)
        if "foreach" in kinds:  # CUDA beside CPU params, without Triton
            detail = "CUDA params without Triton beside others"
            return GroupPlan(params, len(params), rule_path(PathReason.PARAM, detail), slots)
        # Params in the layout: those with state or a gradient now (frozen ones join when they
        # first get a gradient, which triggers a rebuild).
        members = [p for p in params if data.state.get(p) or p.grad is not None]
        outside = [p for p in params if not (data.state.get(p) or p.grad is not None)]
        spec = SPECS[data.rule]
        buckets: dict[tuple, Bucket] = {}
        for p in members:
            stored = codecs.precision_for(precision, p.numel())
            key = (p.device, p.dtype, stored)
            if key not in buckets:
                buckets[key] = Bucket(p.device, p.dtype, stored, spec, slots)
            buckets[key].params.append(p)
        for bucket in buckets.values():
            self._layout(bucket, data)
        plan = GroupPlan(params, len(params), ENGINE, slots, list(buckets.values()), outside)
        self.plans[id(group)] = plan
        return plan

    def _layout(self, b: Bucket, data: StepData) -> None:
        """Offsets of each param's slots in the flat buffers (8-bit: from a block boundary);
        the params themselves stay where they are."""
        align = codecs.BLOCK if b.precision == "8bit" else 16
        b.sizes = list(map(_NUMEL, b.params))
        offset = 0
        for n in b.sizes:
            b.offsets.append(offset)
            offset += -(-n // align) * align
        self._allocate_state(b, offset)
        b.steps = torch.zeros(len(b.params), dtype=_get_scalar_dtype())
        b.held = {key: torch.ones(len(b.params), dtype=_get_scalar_dtype()) for key in b.spec.held}
        b.initialized = np.zeros(len(b.params), dtype=bool)
        for i, p in enumerate(b.params):
            if data.state.get(p):
                self._adopt_state(b, i, data)
        b.p_addr = _addresses(b.params)
        b.everyone = list(range(len(b.params)))
        if b.on_cpu:
            b.table = cpu.WorkTable.build(b.offsets, b.sizes)

    @staticmethod
    def _allocate_state(b: Bucket, total: int) -> None:
        """The flat slot buffers (and 8-bit scales), and the CPU kernels' views of them."""
        for slot, storage in zip(b.slots, b.storages, strict=True):
            if storage == "8bit":
                code_dtype = torch.int8 if slot in codecs.SIGNED_KEYS else torch.uint8
                b.buffers[slot] = torch.zeros(total, dtype=code_dtype, device=b.device)
                b.absmax[slot] = torch.zeros(total // codecs.BLOCK, dtype=torch.float32,
                                             device=b.device)
            else:
                dtype = torch.bfloat16 if storage == "bf16" else b.dtype
                b.buffers[slot] = torch.zeros(total, dtype=dtype, device=b.device)
        if b.on_cpu:
            b.like = np.zeros(1, _np_dtype(b.dtype))
            b.kernel_slots = cpu.slots(
                b.spec.slots, {k: _np(v) for k, v in b.buffers.items()},
                dict(zip(b.slots, b.storages, strict=True)),
                {k: _np(v) for k, v in b.absmax.items()}, b.like)

    def _write(self, b: Bucket, i: int, values: dict) -> None:
        """Param i's slot values (float tensors) into the buffers, encoded as they are stored."""
        lo, n = b.offsets[i], b.sizes[i]
        for slot in b.slots:
            value = values.get(slot)
            if value is None:
                continue  # e.g. AMSGrad switched on after a checkpoint without max_exp_avg_sq
            if slot in b.absmax:
                codes, absmax = codecs.encode_8bit(value, slot in codecs.SIGNED_KEYS)
                b.buffers[slot][lo:lo + codes.numel()] = codes
                first_block = lo // codecs.BLOCK
                b.absmax[slot][first_block:first_block + absmax.numel()] = absmax
            else:
                b.buffers[slot][lo:lo + n] = value.reshape(-1)

    def _adopt_state(self, b: Bucket, i: int, data: StepData) -> None:
        """Move param i's existing state (any stored format) into the buffers, then view it."""
        p = b.params[i]
        state = data.state[p]
        self._write(b, i, codecs.decode_state(state, p.detach()))
        if torch.is_tensor(state.get("step")):
            b.steps[i] = state["step"].item()
        elif "step" in state:
            b.steps[i] = float(state["step"])
        elif not b.spec.counts_steps:  # SGD: a momentum buffer means it has stepped
            b.steps[i] = float(any(slot in state for slot in b.slots))
        for key in b.spec.held:
            if key in state:
                b.held[key][i] = float(state[key])
        self._view_state(b, i, data)

    def _init_state(self, b: Bucket, i: int, data: StepData) -> None:
        """Param i's first state: the rule's ``init`` (zeros, Adagrad's initial accumulator, NAdam's
        mu_product of 1), put in the buffers, then viewed in the state."""
        p = b.params[i]
        first = get_rule(data.rule).init(p.detach(), data.hp, torch)
        self._write(b, i, {k: v for k, v in first.items() if k in b.slots})
        self._view_state(b, i, data)

    def _view_state(self, b: Bucket, i: int, data: StepData) -> None:
        """Point the state of param i at its views (torch's per-parameter format)."""
        p = b.params[i]
        keep = {}
        if b.spec.counts_steps:
            keep["step"] = b.steps[i]
        for key in b.spec.held:
            keep[key] = b.held[key][i]
        lo, n = b.offsets[i], p.numel()
        for slot in b.slots:
            if slot in b.absmax:
                nb = codecs.n_blocks(n)
                first_block = lo // codecs.BLOCK
                keep[slot] = b.buffers[slot][lo:lo + nb * codecs.BLOCK]
                keep[f"{slot}_absmax"] = b.absmax[slot][first_block:first_block + nb]
            else:
                keep[slot] = b.buffers[slot][lo:lo + n].view(p.shape)
        if keep or p in data.state:  # torch keeps no entry for a param without state
            state = data.state[p]
            for key in [k for k in state if k in b.slots or k.endswith("_absmax")]:
                del state[key]
            state.update(keep)
        b.initialized[i] = True


def _device_path(p: torch.Tensor, precision: str) -> str:
    """``"kernels"`` where the fused kernels take param ``p`` (Numba on the CPU, Triton on CUDA),
    ``"foreach"`` where the multi-tensor fallback does (CUDA without Triton), else why neither
    does (the rule path takes it)."""
    if is_dtensor(p):  # FSDP2: the rule path updates each rank's local shard
        return "a DTensor param"
    if p.is_sparse:
        return "a sparse param"
    if p.device.type == "cpu":
        if p.dtype not in CPU_DTYPES:
            return f"a {p.dtype} param on cpu"
    elif p.device.type == "cuda":
        if p.dtype not in CUDA_DTYPES:
            return f"a {p.dtype} param on {p.device}"
        if not gpu_kernels_available():
            return "foreach" if precision == "fp32" else \
                f"{precision} states on {p.device} need Triton (pip install adamkit[gpu])"
    else:
        return f"a {p.dtype} param on {p.device}"
    if precision != "fp32" and p.dtype != torch.float32:
        # the low-precision kernels are float32-only: the rule path does the rest
        return f"{precision} states for a {p.dtype} param"
    return "kernels"


def _step_foreach(params: list, data: StepData) -> None:
    """The foreach path's step: the params with a gradient, grouped by step count and state
    entries (SGD's buffer, made on a param's first step), each group one multi-tensor run of the
    rule (:func:`.foreach.step_foreach`)."""
    from adamkit.torch.fused import foreach

    rule = get_rule(data.rule)
    alike: dict[tuple, list] = {}
    for p in params:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            raise RuntimeError(f"foreach {data.rule} does not support sparse gradients; use "
                               "adamkit.torch.SparseAdam, or fused=False")
        state = data.state.get(p)
        if not state:
            state = dict(rule.init(p.detach(), data.hp, torch))
            if rule.counts_steps:
                state["step"] = torch.tensor(0.0, dtype=_get_scalar_dtype())
        step = int(state["step"].item()) if "step" in state else 0
        alike.setdefault((step, *sorted(state)), []).append((p, state))
    for (step, *_), members in alike.items():
        states = [state for _, state in members]
        foreach.step_foreach(rule, [p.detach() for p, _ in members],
                             [p.grad for p, _ in members], states, step + 1, data.hp)
        for p, state in members:
            if "step" in state:
                state["step"] += 1
            if state:  # torch keeps no entry for a param without state
                data.state[p] = state
