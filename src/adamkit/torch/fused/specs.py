r"""What a fused kernel needs to know of a rule: its state slots, its compile-time choices and its
per-step scalars. Written once for every backend (Numba on the CPU, Triton on the GPU).

A fused kernel is a function of data, as torch's ``_fused_adam_``: it takes the params, their
gradients, the flat state buffers and the step's scalars, and reads nothing else. What it takes of
a rule is a :class:`KernelSpec`:

- ``slots``: the rule's state arrays in the kernel's order (at most three; ``slots_of`` says which
  a configuration keeps, e.g. ``max_exp_avg_sq`` only with AMSGrad);
- ``flags(hp)``: the choices each backend compiles into its own variant (no hot loop branches on
  them), as ``(name, bool)`` pairs;
- ``scalars(hp, step, held)``: every number of the step that does not depend on the coordinate,
  as two named tuples of Python numbers: the gradient preparation every rule shares
  (:class:`Prepared`) and the rule's own (one class per rule, below: the kernels' argument list).
  Each backend rounds the floats once to the param's dtype. They are computed here
  from the rule's own pieces (``weight_decay_terms``, ``bias_correction``, Adam's
  :func:`~adamkit.rules.adam.step_scalars`, RAdam's ``rectification``, ...), never re-derived in
  a kernel. ``held`` are a rule's per-param scalar states (NAdam's ``mu_product``), one 0-dim
  tensor per bucket that the engine shares out as views; ``scalars`` advances them, with torch's
  own arithmetic so their bits are the rule's.

The per-coordinate arithmetic is spelt once per backend, in the rule's order of operations
(``cpu.py``, ``gpu.py``), and tied to the rule by tests (``tests/torch/fused/test_kernels.py``).
Every rule prepares the gradient the same way (``_numerics.prepare``)::

    g = sign·grad + l2·param      (sign = -1 with maximize; l2 from weight_decay_mode="l2")
    param = decay·param           (decoupled or independent weight decay)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from adamkit.rules import adam_step_scalars, weight_decay_terms
from adamkit.rules import get as get_rule
from adamkit.rules._numerics import bias_correction, value_of
from adamkit.rules.radam import rectification

MAX_SLOTS = 3


@dataclass(frozen=True)
class KernelSpec:
    """A rule as the fused kernels see it (see the module's doc)."""

    rule: str
    slots: tuple[str, ...]
    flags: Callable[[dict], tuple[tuple[str, bool], ...]]
    scalars: Callable[[dict, int, dict], tuple[Prepared, tuple]]
    counts_steps: bool = True  # SGD keeps no step count in its state (as torch's)
    held: tuple[str, ...] = ()  # per-param 0-dim scalar states (NAdam's mu_product)
    # slots the rule makes on its first update, not in ``init`` (SGD's momentum buffer)
    created: Callable[[dict], tuple[str, ...]] = lambda hp: ()

    def slots_of(self, keys: Any) -> tuple[str, ...]:
        """The slots a configuration keeps, in kernel order, from the keys of its state."""
        return tuple(k for k in self.slots if k in keys)

    def slots_for(self, hp: dict) -> tuple[str, ...]:
        """The slots the rule keeps with hyperparameters ``hp`` (from its own ``init``; they
        depend on its flags alone: AMSGrad's maximum, a momentum buffer, a centered average)."""
        return _slots(self, self.flags(hp), hp)


_SLOTS: dict[tuple, tuple[str, ...]] = {}


def _slots(spec: KernelSpec, flags: tuple, hp: dict) -> tuple[str, ...]:
    key = (spec.rule, flags)
    if key not in _SLOTS:
        made = get_rule(spec.rule).init(torch.zeros(1), hp, torch)
        _SLOTS[key] = spec.slots_of({*made, *spec.created(hp)})
    return _SLOTS[key]


class Prepared(NamedTuple):
    """The gradient preparation every rule shares: ``g = sign·grad + l2·param`` (``l2`` only
    where ``has_l2``), ``param *= decay``."""

    sign: float
    has_l2: bool
    l2: float
    decay: float


def _prepared(hp: dict) -> Prepared:
    l2, decay = weight_decay_terms(hp)
    return Prepared(-1.0 if hp.get("maximize") else 1.0, float(l2) != 0.0, float(l2), float(decay))


def _lr(hp: dict) -> float:
    return float(value_of(hp["lr"]))


def _betas(hp: dict) -> tuple[float, float]:
    beta1, beta2 = (float(value_of(b)) for b in hp["betas"])
    return beta1, beta2


# -- Adam and AdamW --------------------------------------------------------------------------------

class AdamScalars(NamedTuple):
    """Adam's step (the denominator's five numbers are :class:`~adamkit.rules.adam.Denominator`)."""

    beta2: float
    one_minus_beta1: float
    one_minus_beta2: float
    inner_scale: float
    inner_eps: float
    mid_eps: float
    outer_scale: float
    outer_eps: float
    neg_step_size: float  # -lr / bias_correction1


def _adam_flags(hp: dict) -> tuple[tuple[str, bool], ...]:
    # the Denominator's inner terms are used with eps_mode "root" and a non-zero eps_root
    root = hp["eps_mode"] == "root" or float(value_of(hp.get("eps_root", 0.0))) != 0.0
    return (("amsgrad", bool(hp["amsgrad"])), ("root", root))


def _adam_scalars(hp: dict, step: int, held: dict) -> tuple[Prepared, AdamScalars]:
    s = adam_step_scalars(hp, step)
    beta1, beta2 = _betas(hp)
    d = s.denominator
    # A tensor lr divides in its own dtype, as the rule does (torch.optim's lr / bias_correction1).
    step_size = s.step_size.item() if torch.is_tensor(s.step_size) else float(s.step_size)
    return _prepared(hp), AdamScalars(beta2, 1.0 - beta1, 1.0 - beta2, float(d.inner_scale),
                       float(d.inner_eps), float(d.mid_eps), float(d.outer_scale),
                       float(d.outer_eps), -step_size)


# -- Adamax, NAdam, RAdam ---------------------------------------------------------------------------

class AdamaxScalars(NamedTuple):
    one_minus_beta1: float
    beta2: float
    eps: float
    neg_step_size: float  # -lr / bias_correction1


def _adamax_flags(hp: dict) -> tuple[tuple[str, bool], ...]:
    return (("hat", hp.get("eps_mode") == "hat"),)


def _adamax_scalars(hp: dict, step: int, held: dict) -> tuple[Prepared, AdamaxScalars]:
    beta1, beta2 = _betas(hp)
    return _prepared(hp), AdamaxScalars(1.0 - beta1, beta2, float(hp["eps"]),
                         -(_lr(hp) / bias_correction(beta1, step)))


def _no_flags(hp: dict) -> tuple[tuple[str, bool], ...]:
    return ()


class NadamScalars(NamedTuple):
    one_minus_beta1: float
    beta2: float
    one_minus_beta2: float
    bias_correction2: float
    eps_root: float
    eps: float
    grad_weight: float  # -lr·(1-μ_t)/(1-mu_product)
    avg_weight: float  # -lr·μ_{t+1}/(1-mu_product·μ_{t+1})


def _nadam_scalars(hp: dict, step: int, held: dict) -> tuple[Prepared, NadamScalars]:
    beta1, beta2 = _betas(hp)
    lr, decay = _lr(hp), hp["momentum_decay"]
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
    mu_product = held["mu_product"]  # every stepped param's (they share the step count)
    mu_product.mul_(mu)  # the rule's state["mu_product"] * mu, in the tensor's dtype
    product = mu_product.reshape(-1)[0].item()
    return _prepared(hp), NadamScalars(1.0 - beta1, beta2, 1.0 - beta2,
                        bias_correction(beta2, step), float(value_of(hp.get("eps_root", 0.0))),
                        float(hp["eps"]), -lr * (1.0 - mu) / (1.0 - product),
                        (-lr * mu_next) / (1.0 - product * mu_next))


class RadamScalars(NamedTuple):
    one_minus_beta1: float
    beta2: float
    one_minus_beta2: float
    bias_correction1: float
    lr: float
    adaptive: bool  # the rectified adaptive step (ρ_t > 5), else momentum SGD
    bias_correction2_sqrt: float
    eps: float
    rect: float


def _radam_scalars(hp: dict, step: int, held: dict) -> tuple[Prepared, RadamScalars]:
    beta1, beta2 = _betas(hp)
    adaptive, rect = rectification(beta2, step, None)
    return _prepared(hp), RadamScalars(1.0 - beta1, beta2, 1.0 - beta2,
                        bias_correction(beta1, step), _lr(hp), bool(adaptive),
                        bias_correction(beta2, step) ** 0.5, float(hp["eps"]), float(rect))


# -- SGD, Adagrad, RMSprop ----------------------------------------------------------------------------

class SgdScalars(NamedTuple):
    neg_lr: float
    momentum: float
    one_minus_dampening: float
    first: bool  # the momentum buffer starts as the (prepared) gradient


def _sgd_flags(hp: dict) -> tuple[tuple[str, bool], ...]:
    return (("momentum", float(hp["momentum"]) != 0.0), ("nesterov", bool(hp["nesterov"])))


def _sgd_scalars(hp: dict, step: int, held: dict) -> tuple[Prepared, SgdScalars]:
    # step counts the bucket's steps (1 on the first), though SGD's state keeps none
    return _prepared(hp), SgdScalars(-_lr(hp), float(hp["momentum"]),
                      1.0 - float(hp["dampening"]), step == 1)


def _root_flags(hp: dict) -> tuple[tuple[str, bool], ...]:
    return (("root", hp.get("eps_mode") == "root"),)


class AdagradScalars(NamedTuple):
    neg_clr: float  # -lr / (1 + (t-1)·lr_decay)
    eps: float


def _adagrad_scalars(hp: dict, step: int, held: dict) -> tuple[Prepared, AdagradScalars]:
    clr = _lr(hp) / (1 + (step - 1) * hp["lr_decay"])
    return _prepared(hp), AdagradScalars(-clr, float(hp["eps"]))


class RmspropScalars(NamedTuple):
    alpha: float
    one_minus_alpha: float
    eps: float
    neg_lr: float
    momentum: float


def _rmsprop_flags(hp: dict) -> tuple[tuple[str, bool], ...]:
    return (("centered", bool(hp["centered"])), ("momentum", float(hp["momentum"]) != 0.0),
            ("root", hp.get("eps_mode") == "root"))


def _rmsprop_scalars(hp: dict, step: int, held: dict) -> tuple[Prepared, RmspropScalars]:
    alpha = float(hp["alpha"])
    return _prepared(hp), RmspropScalars(alpha, 1.0 - alpha, float(hp["eps"]), -_lr(hp),
                          float(hp["momentum"]))


ADAM = KernelSpec("adam", ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), _adam_flags, _adam_scalars)
SPECS: dict[str, KernelSpec] = {
    "adam": ADAM,
    "adamw": ADAM,
    "adamax": KernelSpec("adamax", ("exp_avg", "exp_inf"), _adamax_flags, _adamax_scalars),
    "nadam": KernelSpec("nadam", ("exp_avg", "exp_avg_sq"), _no_flags, _nadam_scalars,
                        held=("mu_product",)),
    "radam": KernelSpec("radam", ("exp_avg", "exp_avg_sq"), _no_flags, _radam_scalars),
    "sgd": KernelSpec("sgd", ("momentum_buffer",), _sgd_flags, _sgd_scalars, counts_steps=False,
                      created=lambda hp: ("momentum_buffer",) if float(hp["momentum"]) else ()),
    "adagrad": KernelSpec("adagrad", ("sum",), _root_flags, _adagrad_scalars),
    "rmsprop": KernelSpec("rmsprop", ("square_avg", "momentum_buffer", "grad_avg"),
                          _rmsprop_flags, _rmsprop_scalars),
}
