"""Keras 3 front end: ``keras.optimizers``' names and arguments, adamkit's rules underneath.

>>> import adamkit.keras as akk
>>> opt = akk.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)  # = keras's Adam
>>> paper = akk.Adam(eps_mode="paper", epsilon=1e-8)                            # = torch.optim.Adam

Runs on the torch and JAX backends (no TensorFlow needed). The package is ``adamkit.keras``;
inside it ``import keras`` is the real Keras (absolute imports). See
:mod:`adamkit.keras.optimizers` for the conventions, :class:`EffectiveStepSizes` for the callback.
"""

from __future__ import annotations

import importlib.util
import os
import sys

# Keras picks its backend once, at import, and defaults to TensorFlow. Where KERAS_BACKEND is unset
# and TensorFlow is not installed, that default can only fail: take torch (or JAX) instead.
if "keras" not in sys.modules and "KERAS_BACKEND" not in os.environ \
        and importlib.util.find_spec("tensorflow") is None:
    for _backend in ("torch", "jax"):
        if importlib.util.find_spec(_backend) is not None:
            os.environ["KERAS_BACKEND"] = _backend
            break

from typing import Any  # noqa: E402

from adamkit.keras._base import RuleOptimizer  # noqa: E402
from adamkit.keras.callbacks import EffectiveStepSizes  # noqa: E402
from adamkit.keras.optimizers import class_named  # noqa: E402
from adamkit.keras.schedules import AdamkitSchedule  # noqa: E402
from adamkit.rules import registry  # noqa: E402

# Every class is built from its declaration (adamkit.rules.registry); one declared later is here too.
globals().update({name: class_named(name) for name in registry.api_names("keras")})


def __getattr__(name: str) -> Any:
    try:
        return class_named(name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


__all__ = ["RuleOptimizer", "AdamkitSchedule", "EffectiveStepSizes", *registry.api_names("keras")]
