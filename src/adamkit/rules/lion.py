r"""Lion (Chen et al., "Symbolic Discovery of Optimization Algorithms", arXiv:2302.06675).

With ``g`` the prepared gradient (sign and weight decay applied, see ``_numerics.prepare``)::

    c       = β1·exp_avg + (1-β1)·g          (the interpolation the step takes the sign of)
    param   = param - lr·sign(c)
    exp_avg = β2·exp_avg + (1-β2)·g          (the momentum, kept with the slower β2)

Every coordinate moves by exactly ``lr`` (or 0 where ``c`` is 0), which is why Lion's learning
rate is 3-10x smaller than AdamW's and its weight decay 3-10x larger (the paper, Section 3).

Weight decay is decoupled by default (``weight_decay_mode="decoupled"``: ``param *= 1 - lr·wd``
before the step), as in the authors' code, Keras's ``Lion`` and optax's ``lion`` (optax adds
``wd·param`` to the update before scaling by ``-lr``: the same quantity).

Defaults: ``lr=1e-4``, ``betas=(0.9, 0.99)``, ``weight_decay=0`` (the authors' PyTorch code,
google/automl ``lion_pytorch.py``). Keras's class (``learning_rate=0.001``) and optax's function
(``weight_decay=1e-3``) keep their own defaults in their signatures.

The momentum is kept as ``exp_avg`` (the authors' PyTorch name).
"""

from __future__ import annotations

from typing import Any

from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import add, as_scalar_or_array, decay_add, move_param, prepare
from adamkit.rules._rule import Rule

TAKES = ("lr", "betas", "weight_decay", "maximize", "weight_decay_mode")
STATE_KEYS = ("exp_avg",)


def init(param: Any, hp: dict, xp: Any) -> dict:
    return {"exp_avg": xp.zeros_like(param)}


def update(param: Any, grad: Any, state: dict, step: Any, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    beta1, beta2 = (as_scalar_or_array(b, grad, xp) for b in hp["betas"])
    exp_avg = state["exp_avg"]
    # A fresh array (exp_avg*β1), so the in-place namespace may not touch exp_avg before its EMA.
    interpolated = add(exp_avg * beta1, grad, 1 - beta1, xp)
    param = move_param(param, xp.sign(interpolated), -as_scalar_or_array(hp["lr"], param, xp), xp)
    return param, {"exp_avg": decay_add(exp_avg, grad, beta2, 1 - beta2, xp)}


LION = Rule("lion", init, update, TAKES,
            {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay_mode": "decoupled"}, STATE_KEYS)

DECLARATIONS = (Declaration(
    LION, "Lion (Chen et al.): the sign of an interpolated momentum, every coordinate moves by lr",
    "adaptive", "#C0392B", "d",
    # torch has none: torch.optim's style, the authors' defaults (google/automl lion_pytorch.py)
    torch=Api("Lion", "lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False"),
    keras=Api("Lion", "learning_rate=0.001, beta_1=0.9, beta_2=0.99", peer="keras.optimizers.Lion"),
    optax=Api("lion", "learning_rate, b1=0.9, b2=0.99, mu_dtype=None, weight_decay=1e-3, mask=None",
              peer="optax.lion", state={"exp_avg": "mu"}),
    numpy=Api("Lion"),
    # the best test loss of 3e-4, 1e-3, ... 3e-2 on digits (adamkit train, one seed; Adam's: 1e-2)
    train_lr=1e-3, phase_axis="beta1=0:0.99:20",
    # the lab's lr: the adaptive family's times 0.3, the best of 0.1, 0.3, 1, 3 times it on
    # rosenbrock, himmelblau and beale (final loss after the functions' default steps)
    lab_lr_scale=0.3),)
