"""The lab: optimizer races on classic test functions, thousands of configurations at once.

- :func:`run` (``adamkit.lab.engine``): C configurations of one optimizer on one function;
- ``adamkit.lab.functions``: the test functions (and user expressions, ``adamkit.lab.expression``);
- ``adamkit.lab.plots`` / ``animate``: contour, loss, surface, 1-D, phase pictures and GIFs;
- ``adamkit.lab.tune``: each optimizer's own hyperparameters tuned on a stated budget;
- ``adamkit.lab.cli``: ``adamkit race``, ``adamkit phase``, ``adamkit functions``.
"""

from adamkit.lab.engine import OPTIMIZERS, RunResult, run
from adamkit.lab.functions import FUNCTIONS, TestFunction

__all__ = ["run", "RunResult", "OPTIMIZERS", "FUNCTIONS", "TestFunction"]
