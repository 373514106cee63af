r"""NAdam: Adam with Nesterov momentum (Dozat, 2016), in torch.optim's momentum-decay form.

::

    μ_t        = β1·(1 - 0.5·0.96^(t·momentum_decay))        (momentum schedule)
    mu_product = Π_{i<=t} μ_i                                (kept in the state, as torch does)
    exp_avg, exp_avg_sq as Adam;  denom = sqrt(exp_avg_sq / (1-β2^t) + eps_root) + ε
    param = param - lr·(1-μ_t)/(1-mu_product) · g/denom
                  - lr·μ_{t+1}/(1-mu_product·μ_{t+1}) · exp_avg/denom

``mu_product`` is stored as torch stores it (a 0-dim tensor of torch's scalar dtype: float64 when
that is the default dtype, else float32, even under a bfloat16 or float16 default) and, under torch,
read back as a Python float, so runs match torch to the last bit of that rounding. ``eps_root``
(0 by default, as torch has none) is optax's, for ``optax.nadam``'s ``sqrt(v̂ + eps_root) + eps``.
"""

from __future__ import annotations

from typing import Any

from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import (
    addcdiv,
    as_scalar_or_array,
    bias_correction,
    ema,
    ema_square,
    is_static,
    prepare,
    scalar_ones,
    value_of,
)
from adamkit.rules._rule import Rule

TAKES = ("lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay",
         "maximize", "weight_decay_mode", "eps_root")


def init(param: Any, hp: dict, xp: Any) -> dict:
    return {
        "exp_avg": xp.zeros_like(param),
        "exp_avg_sq": xp.zeros_like(param),
        "mu_product": scalar_ones(xp),
    }


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    beta1, beta2 = hp["betas"]
    lr, decay = hp["lr"], hp["momentum_decay"]
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
    mu_product = state["mu_product"] * as_scalar_or_array(mu, state["mu_product"], xp)
    exp_avg = ema(state["exp_avg"], grad, as_scalar_or_array(beta1, grad, xp), xp)
    exp_avg_sq = ema_square(state["exp_avg_sq"], grad, as_scalar_or_array(beta2, grad, xp), xp)
    bc2 = as_scalar_or_array(bias_correction(beta2, step), grad, xp)
    v_hat = exp_avg_sq / bc2
    eps_root = value_of(hp.get("eps_root", 0))
    if not is_static(eps_root, 0):  # skipped when 0: torch's ops, bitwise
        v_hat = v_hat + as_scalar_or_array(eps_root, grad, xp)
    denom = xp.sqrt(v_hat) + as_scalar_or_array(hp["eps"], grad, xp)
    product = value_of(mu_product)  # torch.optim reads it as a Python float
    grad_weight = -lr * (1.0 - mu) / (1.0 - product)
    avg_weight = (-lr * mu_next) / (1.0 - product * mu_next)
    param = addcdiv(param, grad, denom, as_scalar_or_array(grad_weight, param, xp), xp)
    param = addcdiv(param, exp_avg, denom, as_scalar_or_array(avg_weight, param, xp), xp)
    return param, {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq, "mu_product": mu_product}


NADAM = Rule("nadam", init, update, TAKES, {"lr": 2e-3}, ("exp_avg", "exp_avg_sq", "mu_product"))

DECLARATIONS = (Declaration(
    NADAM, "Adam with Nesterov momentum (Dozat)", "adaptive", "#009E73", "v",
    torch=Api("NAdam", "lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3, "
              "decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False, "
              "differentiable=False", peer="torch.optim.NAdam"),
    # Keras's momentum schedule μ_t = β1·(1 - 0.5·0.96^t) is torch's with momentum_decay = 1
    keras=Api("Nadam", "learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7",
              peer="keras.optimizers.Nadam", fixed={"momentum_decay": 1.0}),
    optax=Api("nadam", peer="optax.nadam", base="adamkit.optax._alias:nadam",
              state={"exp_avg": "mu", "exp_avg_sq": "nu", "mu_product": "mu_product"}),
    numpy=Api("NAdam"),
    train_lr=3e-3, phase_axis="beta1=0:0.99:20"),)
