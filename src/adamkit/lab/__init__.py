"""The lab: optimizer races on classic test functions, thousands of configurations at once.

- :func:`run` (``adamkit.lab.engine``): C configurations of one optimizer on one function;
- ``adamkit.lab.functions``: the test functions (and user expressions, ``adamkit.lab.expression``);
- ``adamkit.lab.plots`` / ``animate``: contour, loss, surface, 1-D, phase pictures and GIFs;
- ``adamkit.lab.race_tuning``: each optimizer's own hyperparameters tuned on a stated budget;
- :func:`widget` (``adamkit.lab.widget``, the notebook extra): the page's race in a notebook;
- ``adamkit.lab.cli``: ``adamkit race``, ``adamkit phase``, ``adamkit functions``.
"""

from adamkit.lab.engine import RunResult, optimizer_names, run
from adamkit.lab.functions import FUNCTIONS, TestFunction

__all__ = ["run", "RunResult", "optimizer_names", "FUNCTIONS", "TestFunction"]  # widget: lazy, below


def __getattr__(name: str):
    # adamkit.lab.widget(...): imported on first use, so the lab never needs anywidget otherwise
    if name == "widget":
        from adamkit.lab.widget import widget

        globals()["widget"] = widget  # the function, over the submodule Python has just bound
        return widget
    if name == "OPTIMIZERS":  # every optimizer the lab knows, read from the registry when asked
        return optimizer_names()
    raise AttributeError(f"module 'adamkit.lab' has no attribute {name!r}")
