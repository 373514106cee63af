r"""Muon (Jordan et al., 2024): momentum, orthogonalized by a Newton-Schulz iteration, for matrices.

For a 2-D param with prepared gradient ``g`` (decoupled weight decay ``p *= 1 - lr·wd`` first)::

    buf = lerp(buf, g, 1-μ)                 momentum_mode="ema" (torch, optax)
    buf = μ·buf + g                         momentum_mode="sum" (Keras)
    M   = the same step once more from buf (nesterov: lerp(g, buf, μ), resp. g + μ·buf), else buf
    M   = μ·buf/(1-μ^(t+1)) + (1-μ)·g/(1-μ^t), resp. buf/(1-μ^t)    bias_correction (optax)
    O   = NS(M):  X = M/||M|| (transposed when rows > cols);  k times  A = XXᵀ,
                  X = a·X + (b·A + c·A²)·X                            ((a, b, c) = ns_coefficients)
    p   = p - lr·s·O,  s from the shape (rows, cols) as adjust_lr_fn says

Where the libraries differ, a setting says which (each front end equals its library):

- ``eps_clamp``: torch divides by ``max(||M||, eps)``, Keras and optax by ``||M|| + eps``;
- ``ns_dtype``: torch iterates in bfloat16 whatever the param's dtype (as Jordan's code), Keras and
  optax in the param's. Other namespaces emulate torch's bfloat16 (float32 arithmetic, every value
  torch holds in bfloat16 rounded to it), so they follow torch to bfloat16's rounding noise;
- ``adjust_lr_fn``: torch's "original" ``sqrt(max(1, rows/cols))`` reads a torch weight (out, in);
  optax's ``sqrt(max(1, fan_out/fan_in))`` reads a jax weight (in, out), "original_transposed";
  "match_rms_adamw" is ``rms_rate·sqrt(max(rows, cols))`` (torch's 0.2, Keras's ``rms_rate``,
  optax's ``consistent_rms``); "unscaled" is Keras's ``rms_rate=None``;
- ``preconditioning`` (optax): how X is scaled before the iteration; "aol" and "schatten" replace
  the first step's scaling (their floor is optax's fixed 1e-8, not ``eps``); ``adaptive`` (optax)
  scales O by ``<M, O>``; ``ns_coefficients`` may give one triple per step (optax's "dion").

Params that are not matrices are refused: torch refuses them; Keras's and optax's Muon send them
to AdamW, which is their front ends' business (torch's too: ``adamkit.torch.muon.MuonWithAdamW``).
Under torch the arithmetic is torch.optim.Muon's, op for op (``lerp``, ``addmm`` in bfloat16), so
``update(xp=torch)`` is bitwise torch's step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from adamkit.errors import HyperparameterError
from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._matrix import eager_torch, maximum, move, prepare_decoupled, round_bf16
from adamkit.rules._numerics import (
    InPlace,
    add,
    as_scalar_or_array,
    bias_correction,
    decay_add,
    ema,
    is_torch,
    lerp,
    value_of,
)
from adamkit.rules._rule import Rule

TAKES = ("lr", "weight_decay", "momentum", "nesterov", "ns_coefficients", "eps", "ns_steps",
         "adjust_lr_fn", "weight_decay_mode", "momentum_mode", "bias_correction", "adaptive",
         "preconditioning", "ns_dtype", "eps_clamp", "rms_rate")
OVERRIDES = {"weight_decay": 0.1, "momentum": 0.95, "nesterov": True, "eps": 1e-7,
             "weight_decay_mode": "decoupled"}
# optax's floor in the AOL and Schatten first steps (its own default, not the user's eps).
PRECONDITIONING_FLOOR = 1e-8


def coefficient_steps(hp: dict) -> list[tuple[float, float, float]]:
    """The (a, b, c) of every Newton-Schulz step: one triple ``ns_steps`` times, or the triples
    given one per step (optax's per-step coefficients; ``ns_steps`` is then not read)."""
    c = hp["ns_coefficients"]
    if len(c) == 3 and all(not isinstance(x, Sequence) for x in c):
        return [tuple(c)] * int(hp["ns_steps"])  # type: ignore[list-item]
    return [tuple(row) for row in c]


def _check(owner: str, hp: dict) -> None:
    c = hp["ns_coefficients"]
    flat = isinstance(c, Sequence) and len(c) == 3 and all(
        isinstance(x, float | int | np.floating) for x in c)
    rows = isinstance(c, Sequence) and len(c) > 0 and all(
        isinstance(r, Sequence) and len(r) == 3 for r in c)
    if not (flat or rows):
        raise HyperparameterError(f"{owner}: invalid ns_coefficients {c!r}; valid: three numbers "
                                  "(a, b, c) or a tuple of such triples, one per step")
    steps = hp["ns_steps"]
    if int(steps) != steps:
        raise HyperparameterError(f"{owner}: invalid ns_steps {steps!r}; valid: an integer in [0, 100)")
    if hp["bias_correction"] and hp["momentum_mode"] != "ema":
        raise HyperparameterError(f"{owner}: bias_correction=True with momentum_mode="
                                  f"{hp['momentum_mode']!r}; valid: momentum_mode='ema'")


def shape_scale(shape: tuple, hp: dict) -> Any:
    """The learning rate's factor for a (rows, cols) matrix (see ``adjust_lr_fn``)."""
    rows, cols = shape
    fn = hp["adjust_lr_fn"]
    if fn is None or fn == "original":
        return math.sqrt(max(1, rows / cols))
    if fn == "original_transposed":
        return math.sqrt(max(1, cols / rows))
    if fn == "match_rms_adamw":
        return value_of(hp["rms_rate"]) * math.sqrt(max(rows, cols))
    return 1.0


def _functional(xp: Any) -> Any:
    """The namespace whose helpers never write into their arguments (torch's, not in_place's)."""
    return xp.wrapped if isinstance(xp, InPlace) else xp


def _is_numpy(xp: Any) -> bool:
    return getattr(xp, "__name__", "") == "numpy"


class _Precision:
    """Where the iteration's values live: the param's dtype, or bfloat16 (torch's Muon).

    ``cast`` brings M into it; ``round`` is applied to every value the iteration makes. Under
    torch the values are bfloat16 tensors and torch's kernels round (``addmm`` once per step
    part, its sum of products in float32). Elsewhere bfloat16 is emulated the same way: float32
    arithmetic, each value torch holds in bfloat16 rounded to it (NumPy has no bfloat16; native
    bfloat16 in jax.numpy rounds every product and sum, 3x the difference to torch's run).
    """

    def __init__(self, hp: dict, xp: Any) -> None:
        self.emulated = hp["ns_dtype"] == "bfloat16" and not is_torch(xp)
        self.bf16 = hp["ns_dtype"] == "bfloat16"
        self.xp = xp

    def cast(self, x: Any) -> Any:
        if not self.bf16:
            return x
        if is_torch(self.xp):
            return x.bfloat16()
        return self.round(x)

    def round(self, x: Any) -> Any:
        if not self.emulated:
            return x
        if _is_numpy(self.xp):
            return round_bf16(x)
        if hasattr(self.xp, "convert_to_tensor"):  # keras.ops
            return self.xp.cast(self.xp.cast(x, "bfloat16"), "float32")
        return x.astype(self.xp.bfloat16).astype(self.xp.float32)  # jax.numpy


def _floor(x: Any, low: float, xp: Any) -> Any:
    """``max(x, low)`` elementwise for an array ``x`` and a number ``low`` (torch's ``clamp``)."""
    if is_torch(xp):
        return x.clamp(min=low)
    if hasattr(xp, "convert_to_tensor"):  # keras.ops: low in x's dtype (see _matrix.maximum)
        return maximum(x, xp.full_like(x, low), xp)
    return xp.maximum(x, low)


def _frobenius(x: Any, xp: Any) -> Any:
    if is_torch(xp):
        return x.norm()
    return xp.sqrt(xp.sum(x * x))


def _spectral(x: Any, xp: Any) -> Any:
    if is_torch(xp):
        return xp.linalg.matrix_norm(x.float(), ord=2).to(x.dtype)
    if hasattr(xp, "convert_to_tensor"):  # keras.ops
        return xp.norm(x, ord=2, axis=(-2, -1))
    return xp.linalg.norm(x, ord=2)


def _gram_step(x: Any, abc: tuple, p: _Precision, xp: Any) -> Any:
    """One step ``a·X + (b·A + c·A²)·X`` with ``A = XXᵀ`` (torch: two ``addmm``)."""
    a, b, c = abc
    gram = p.round(x @ x.T)
    if is_torch(xp):
        polynomial = xp.addmm(gram, gram, gram, beta=b, alpha=c)
        return xp.addmm(x, polynomial, x, beta=a)
    polynomial = p.round(b * gram + c * (gram @ gram))
    return p.round(a * x + polynomial @ x)


def _rescaled_first_step(x: Any, abc: tuple, kind: str, p: _Precision, xp: Any) -> Any:
    """optax's first step with AOL (per-row) or Schatten-4 (whole-matrix) scaling of X and A."""
    a, b, c = abc
    gram = p.round(x @ x.T)
    if kind == "aol":
        s = 1 / xp.sqrt(_floor(xp.sum(xp.abs(gram), axis=-1), PRECONDITIONING_FLOOR, xp))
        s = p.round(s[:, None])
        x, gram = p.round(x * s), p.round(gram * s * s.T)
    else:  # schatten
        s = p.round(1 / xp.sqrt(_floor(_frobenius(gram, xp), PRECONDITIONING_FLOOR, xp)))
        x, gram = p.round(x * s), p.round(gram * (s * s))
    polynomial = p.round(b * gram + c * (gram @ gram))
    return p.round(a * x + polynomial @ x)


def orthogonalize(m: Any, hp: dict, xp: Any) -> Any:
    """``NS(M)``: the Newton-Schulz iteration on the matrix ``m`` (see the module doc)."""
    p = _Precision(hp, xp)
    x = p.cast(m)
    transposed = m.shape[0] > m.shape[1]
    if transposed:
        x = x.T
    kind = hp["preconditioning"]
    if kind in ("frobenius", "spectral"):
        size = p.round(_frobenius(x, xp) if kind == "frobenius" else _spectral(x, xp))
        eps = value_of(hp["eps"])
        if hp["eps_clamp"]:
            size = size.clamp(min=eps) if is_torch(xp) else p.round(_floor(size, eps, xp))
        else:
            size = p.round(size + eps)
        x = p.round(x / size)
    for i, abc in enumerate(coefficient_steps(hp)):
        if i == 0 and kind in ("aol", "schatten"):
            x = _rescaled_first_step(x, abc, kind, p, xp)
        else:
            x = _gram_step(x, abc, p, xp)
    return x.T if transposed else x


def init(param: Any, hp: dict, xp: Any) -> dict:
    return {"momentum_buffer": xp.zeros_like(param)}


def _momentum(grad: Any, buf: Any, step: Any, hp: dict, xp: Any) -> tuple[Any, Any]:
    """The new buffer and the matrix M that is orthogonalized."""
    mu = value_of(hp["momentum"])
    plain = _functional(xp)  # the update M must not be written into grad
    m = as_scalar_or_array(mu, grad, xp)
    if hp["momentum_mode"] == "ema":
        buf = ema(buf, grad, m, xp)  # torch: buf.lerp_(grad, 1 - momentum)
        if hp["bias_correction"]:
            if hp["nesterov"]:
                after = as_scalar_or_array(bias_correction(mu, step + 1), grad, xp)
                now = as_scalar_or_array(bias_correction(mu, step), grad, xp)
                return buf, m * (buf / after) + (1 - m) * (grad / now)
            return buf, buf / as_scalar_or_array(bias_correction(mu, step), grad, xp)
        return buf, (lerp(grad, buf, m, plain) if hp["nesterov"] else buf)
    buf = decay_add(buf, grad, m, 1.0, xp)  # Keras: m += g + m·(μ - 1)
    return buf, (add(grad, buf, m, plain) if hp["nesterov"] else buf)


def update(param: Any, grad: Any, state: dict, step: Any, hp: dict, xp: Any) -> tuple[Any, dict]:
    if param.ndim != 2:
        raise ValueError(f"muon: params must be matrices; got one of shape {tuple(param.shape)} "
                         "(optimize it with AdamW, as Keras's and optax's Muon do)")
    param, grad = prepare_decoupled(param, grad, hp, xp)  # torch: param.mul_(1 - lr·wd)
    buf, m = _momentum(grad, state["momentum_buffer"], step, hp, xp)
    o = orthogonalize(m, hp, xp)
    if hp["adaptive"]:
        o = xp.sum(m * o) * o
    # torch's tensor lr stays a tensor (torch.optim's lr * ratio), else a number or an array
    lr = hp["lr"] if eager_torch(xp) else as_scalar_or_array(value_of(hp["lr"]), param, xp)
    scale = as_scalar_or_array(shape_scale(tuple(param.shape), hp), param, xp)
    return move(param, o, -(lr * scale), xp), {"momentum_buffer": buf}


MUON = Rule("muon", init, update, TAKES, OVERRIDES, ("momentum_buffer",), counts_steps=False,
            check=_check, elementwise=False)  # the iteration reads the whole matrix


DECLARATIONS = (Declaration(
    MUON, "Muon (Jordan et al.): momentum orthogonalized by a Newton-Schulz iteration, for matrices",
    "momentum", "#A0522D", "2",
    # torch refuses a param that is not a matrix when the class is built (adamkit.torch.muon);
    # optax's bias correction needs a step count, which torch's state does not keep. A whole
    # model (the trainer's) takes MuonWithAdamW: AdamW on what is not a matrix, as Keras and optax
    torch=Api("Muon", "lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, "
              "ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None",
              peer="torch.optim.Muon", base="adamkit.torch.muon:MatricesOnly",
              translate=lambda given: _torch_translate(given),
              traits={"whole_model": "adamkit.torch.muon:MuonWithAdamW"}),
    # Keras's Muon sends what is not a matrix (and embeddings, excluded layers) to its AdamW
    keras=Api("Muon", "learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, "
              "adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004, clipnorm=None, "
              "clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99, "
              "ema_overwrite_frequency=None, loss_scale_factor=None, "
              "gradient_accumulation_steps=None, name=None, exclude_layers=None, "
              "exclude_embeddings=True, muon_a=3.4445, muon_b=-4.775, muon_c=2.0315, "
              "adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2",
              peer="keras.optimizers.Muon", base="adamkit.keras.muon:AdamWBeside",
              translate=lambda given: _keras_translate(given),
              fixed={"momentum_mode": "sum", "eps_clamp": False, "eps": 1e-7, "ns_dtype": "param"}),
    # optax's Muon sends what is not a matrix to its AdamW (adamkit.optax.muon)
    optax=Api("muon", peer="optax.contrib.muon", base="adamkit.optax.muon:muon",
              state={"momentum_buffer": "mu"}),
    numpy=Api("Muon"),
    train_lr=2e-2, shape="matrix"),)


def _torch_translate(given: dict) -> dict:
    from adamkit.torch.muon import translate  # the torch front end's, imported when used

    return translate(given)


def _keras_translate(given: dict) -> dict:
    from adamkit.keras.muon import translate  # the Keras front end's, imported when used

    return translate(given)
