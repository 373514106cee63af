"""The fused wing of the torch front end: a second spelling of the Adam rule, for speed only.

- :mod:`.engine`: the flat-buffer layout of each param group (:class:`~.engine.GroupPlan`) and
  its step: one kernel call per group instead of one per tensor;
- :mod:`.kernels`: the Numba kernels, one tensor walker specialized per storage format;
- :mod:`.codecs`: the bf16 and blockwise 8-bit state codecs (``state_precision=``), shared with
  the per-tensor rule path;
- :mod:`.paths`: which path a group took and why (:class:`GroupPath`, ``optimizer.paths()``).

Tools read what they need through the optimizers' public methods (``internals``,
``state_bytes``, ``paths``), never through these modules.
"""

from adamkit.torch.fused.engine import FusedEngine, GroupPlan, StepData
from adamkit.torch.fused.paths import GroupPath, PathReason

__all__ = ["FusedEngine", "GroupPlan", "GroupPath", "PathReason", "StepData"]
