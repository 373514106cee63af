"""The fused wing of the torch front end: a second spelling of every rule, for speed only.

One interface, a kernel as a function of data, with two backends and a fallback:

- :mod:`.specs`: what a kernel needs of each rule (state slots, compile-time flags, the step's
  scalars), written once for every backend;
- :mod:`.cpu`: the Numba kernels, one tensor walker, each rule two inlined functions;
- :mod:`.gpu`: the Triton kernels (imported only on a GPU: the optional ``gpu`` extra);
- :mod:`.foreach`: the rule itself over lists of tensors (CUDA without Triton);
- :mod:`.engine`: the planning the backends share: buckets, the flat layout of each param group
  (:class:`~.engine.GroupPlan`), one kernel call per bucket instead of one per tensor;
- :mod:`.codecs`: the bf16 and blockwise 8-bit state codecs (``state_precision=``), shared with
  the per-tensor rule path;
- :mod:`.paths`: which path a group took and why (:class:`GroupPath`, ``optimizer.paths()``);
- :mod:`.sharding`: DTensor (FSDP2) params and their state.

Tools read what they need through the optimizers' public methods (``internals``,
``state_bytes``, ``paths``), never through these modules.
"""

from adamkit.torch.fused.engine import FusedEngine, GroupPlan, StepData
from adamkit.torch.fused.group_path import GroupPath, PathReason

__all__ = ["FusedEngine", "GroupPlan", "GroupPath", "PathReason", "StepData"]
