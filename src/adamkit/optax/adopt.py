"""ADOPT as ``optax.contrib.adopt``, whose ``clip_value_fn`` is a callable of the step count.

optax calls ``clip_value_fn`` with the count *before* the step; its default, ``count**0.25``, is
the rule's own bound. Any other callable is evaluated here each step and handed to the rule as
that step's ``clip_bound``, so it works as it does in optax (traced under ``jit`` included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optax

from adamkit.optax._transform import scale_by_rule

RULE = "adopt"


def scale_by_adopt(b1: Any = 0.9, b2: Any = 0.9999, eps: Any = 1e-6, mu_dtype: Any = None, *,
                   nesterov: bool = False, use_clipping: bool = True,
                   clip_value_fn: Callable[[Any], Any] | None = None,
                   ) -> optax.GradientTransformationExtraArgs:
    """The direction of ADOPT's step (rule ``adopt``, lr = 1)."""
    fixed = {"betas": (b1, b2), "eps": eps, "nesterov": nesterov, "use_clipping": use_clipping}
    base = scale_by_rule(RULE, mu_dtype=mu_dtype, **fixed)
    if clip_value_fn is None or not use_clipping:
        return base

    def update_fn(updates: Any, state: Any, params: Any = None, **extra_args: Any) -> tuple:
        step = scale_by_rule(RULE, mu_dtype=mu_dtype, clip_bound=clip_value_fn(state.count), **fixed)
        return step.update(updates, state, params, **extra_args)

    return optax.GradientTransformationExtraArgs(base.init, update_fn)


def adopt(learning_rate: Any, b1: Any = 0.9, b2: Any = 0.9999, eps: Any = 1e-6, mu_dtype: Any = None,
          *, nesterov: bool = False, use_clipping: bool = True,
          clip_value_fn: Callable[[Any], Any] | None = None) -> optax.GradientTransformationExtraArgs:
    """ADOPT, as ``optax.contrib.adopt`` (``clip_value_fn=None`` is optax's default,
    ``count**0.25``): ``-learning_rate · exp_avg`` of the normalized, clipped gradients."""
    return optax.chain(scale_by_adopt(b1, b2, eps, mu_dtype, nesterov=nesterov,
                                      use_clipping=use_clipping, clip_value_fn=clip_value_fn),
                       optax.scale_by_learning_rate(learning_rate))
