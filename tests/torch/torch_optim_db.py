"""torch's own optimizer database (``OptimizerInfo``), imported from the installed torch.

``torch.testing._internal.common_optimizers`` imports torch's test utilities, which need two things
handled here so that importing them changes nothing else in this test session:

- ``expecttest`` (a torch-dev-only package): common_utils uses only its ``TestCase`` base class,
  which none of torch's code that adamkit's tests call touches; a stand-in is put in its place when
  the package is not installed;
- common_utils loads a Hypothesis settings profile at import ("dev": 10 examples): the profile
  active before is restored, so adamkit's property tests keep their own settings.
"""

import importlib.util
import sys
import types
import unittest

import hypothesis

if importlib.util.find_spec("expecttest") is None:
    _stand_in = types.ModuleType("expecttest")
    _stand_in.TestCase = unittest.TestCase  # what common_utils.TestCase derives from
    sys.modules["expecttest"] = _stand_in

_profile_before = hypothesis.settings.default
from torch.testing._internal import common_optimizers  # noqa: E402

hypothesis.settings.register_profile("adamkit-before-torch-testing", parent=_profile_before)
hypothesis.settings.load_profile("adamkit-before-torch-testing")

optim_db = common_optimizers.optim_db
OptimizerErrorEnum = common_optimizers.OptimizerErrorEnum
# every optim_inputs_func configuration, each also with torch's global flags (foreach,
# differentiable, fused) where the optimizer has them: torch's own helper for its tests
all_inputs = common_optimizers._get_optim_inputs_including_global_cliquey_kwargs
