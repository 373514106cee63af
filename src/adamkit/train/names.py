"""The names ``adamkit train`` and ``adamkit compare`` accept, importable without torch.

The CLI builds its choices and help from these, so that registering the commands (and
``adamkit --help``, ``adamkit race``, ...) never loads torch. ``datasets``, ``models`` and
``optim_factory``, which need torch, hold the implementations; a test checks the names agree.
"""

from typing import Any

from adamkit.train import optim_factory

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "shapes", "sparse-text", "regression")
MODELS = ("mlp", "digits-cnn", "seed-cnn", "mnist-cnn", "cifar-cnn", "unet", "seed-unet", "text-bag",
          "regression-mlp")
GETTABLE = ("mnist", "fashion-mnist", "cifar10")  # ``adamkit data get``; here, not in download,
# so that registering the commands does not load urllib


def __getattr__(name: str) -> Any:
    if name == "OPTIMIZERS":  # torch-free: the registry's, read when asked (one registered later too)
        return optim_factory.optimizer_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
