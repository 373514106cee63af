"""Every hyperparameter, declared once: name, default, valid range or choices, kind, doc.

Validation (every front end), the command lines' flags and help, the trainer's config, the lab's
sweeps and the tuner's search spaces all read these declarations; nothing else spells them.
Defaults here are torch.optim's for Adam; a rule overrides the few it sets differently (Adamax's
``lr=2e-3``, Adagrad's ``eps=1e-10``, ...), see :class:`adamkit.rules.Rule`.

``betas`` is torch's pair ``(beta1, beta2)``; ``beta1`` and ``beta2`` are declared too, as its
parts, because sweeps, sliders and Keras (``beta_1``) name them one by one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from adamkit.errors import HyperparameterError


@dataclass(frozen=True)
class Range:
    """A numeric hyperparameter's valid interval; arrays are checked element by element."""

    low: float = 0.0
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: Any) -> bool:
        v = numbers(value)
        if v is None:
            return False
        ok_low = v > self.low if self.low_open else v >= self.low
        ok_high = v < self.high if self.high_open else v <= self.high
        return bool(np.all(ok_low & ok_high))

    def __str__(self) -> str:
        lo = ("(" if self.low_open else "[") + f"{self.low:g}"
        hi = ("inf)" if self.high == math.inf else f"{self.high:g}" + (")" if self.high_open else "]"))
        return f"{lo}, {hi}"


UNIT_OPEN_HIGH = Range(0.0, 1.0, high_open=True)  # betas, momentum averages: 0 <= b < 1
NONNEG = Range()


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter. ``kind`` is ``"float"``, ``"bool"``, ``"choice"`` or ``"pair"``.

    ``valid`` is a :class:`Range` (floats), the tuple of choices (choices), or for a pair the names
    of its two parts. ``scale`` and ``search`` say how a sweep or a slider spans it: ``"log"``
    (lr, ε), ``"one_minus_log"`` (1 - value log-uniform: averages near 1) or ``"linear"``, over the
    interval ``search``. ``aliases`` are other libraries' names for it (Keras's ``learning_rate``,
    ``beta_1``, ``epsilon``), accepted where a front end speaks their language.
    """

    name: str
    default: Any
    kind: str
    doc: str
    valid: Range | tuple = ()
    scale: str = "linear"
    search: tuple[float, float] | None = None
    aliases: tuple[str, ...] = ()
    optional: bool = False  # None is valid and means "off" (clipping)
    # An invalid value's message begins as torch.optim's does (torch's tests match it), then
    # adamkit adds the valid range: "adam: Invalid learning rate: -1.0; valid range of lr: [0, inf)".
    invalid: str = "Invalid {label} value: {value}"

    @property
    def choices(self) -> tuple:
        """The valid values of a choice, or the parts of a pair."""
        if not isinstance(self.valid, tuple):
            raise TypeError(f"{self.name} is a {self.kind}, not a choice")
        return self.valid

    @property
    def range(self) -> Range:
        """The valid interval of a number."""
        if not isinstance(self.valid, Range):
            raise TypeError(f"{self.name} is a {self.kind}, not a number")
        return self.valid

    @property
    def flag(self) -> str:
        """The command-line flag: ``--weight-decay``."""
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any, owner: str, label: str | None = None) -> None:
        """A HyperparameterError naming ``owner``, the value and the valid ones, unless valid."""
        label = label or self.name
        if value is None and self.optional:
            return
        if self.kind == "choice" and value not in self.choices:
            shown = ", ".join(map(str, self.choices))
            raise HyperparameterError(f"{owner}: invalid {label} {value!r}; valid: {shown}")
        if self.kind == "float" and not self.range.contains(value):
            phrase = self.invalid.format(label=label, value=_show(value))
            if numbers(value) is None:  # None, a string: torch's comparison raises a TypeError
                raise HyperparameterTypeError(f"{owner}: {phrase}; {label} must be a number in "
                                              f"{self.range}")
            raise HyperparameterError(f"{owner}: {phrase}; valid range of {label}: {self.range}")


def _declare(*items: Hyperparameter) -> dict[str, Hyperparameter]:
    return {h.name: h for h in items}


HYPERPARAMETERS: dict[str, Hyperparameter] = _declare(
    Hyperparameter("lr", 1e-3, "float", "learning rate α: the step size", NONNEG, "log",
                   (1e-5, 10.0), ("learning_rate",), invalid="Invalid learning rate: {value}"),
    Hyperparameter("betas", (0.9, 0.999), "pair",
                   "(β1, β2): decay rates of the averages of the gradient and of its square",
                   ("beta1", "beta2")),
    Hyperparameter("beta1", 0.9, "float", "β1: decay rate of the gradient's average m (momentum)",
                   UNIT_OPEN_HIGH, "one_minus_log", (0.0, 0.99), ("beta_1", "b1"),
                   invalid="Invalid beta parameter at index 0: {value}"),
    Hyperparameter("beta2", 0.999, "float", "β2: decay rate of the squared gradient's average v",
                   UNIT_OPEN_HIGH, "one_minus_log", (0.9, 0.9999), ("beta_2", "b2"),
                   invalid="Invalid beta parameter at index 1: {value}"),
    Hyperparameter("eps", 1e-8, "float", "ε: added to the denominator for numerical stability",
                   NONNEG, "log", (1e-10, 1e-3), ("epsilon",), invalid="Invalid epsilon value: {value}"),
    Hyperparameter("weight_decay", 0.0, "float",
                   "weight decay coefficient (applied as weight_decay_mode says)", NONNEG, "log",
                   (1e-6, 1e-1)),
    Hyperparameter("weight_decay_mode", "l2", "choice",
                   "l2: grad += wd·p (torch Adam); decoupled: p *= 1 - lr·wd (AdamW); "
                   "independent: p *= 1 - (lr/initial lr)·wd (Loshchilov & Hutter)",
                   ("l2", "decoupled", "independent")),
    Hyperparameter("decoupled_weight_decay", False, "bool",
                   "torch's spelling of weight_decay_mode='decoupled'"),
    Hyperparameter("eps_mode", "paper", "choice",
                   "where ε goes (paper is PyTorch's in every rule). Adam: paper: sqrt(v̂)+ε "
                   "(Algorithm 1); hat: sqrt(v)+ε, bias correction in the step size (TF/Keras); "
                   "root: sqrt(v̂+ε) (optax eps_root). RMSprop, Adagrad: paper: sqrt(v)+ε; root: "
                   "sqrt(v+ε) (Keras, optax). Adamax: paper: max(β2·u, |g|+ε); hat: m/(u+ε) "
                   "with u = max(β2·u, |g|) (Keras)",
                   ("paper", "hat", "root")),
    Hyperparameter("eps_root", 0.0, "float", "added inside the square root, optax's eps_root",
                   NONNEG, "log", (1e-16, 1e-6)),
    Hyperparameter("amsgrad", False, "bool",
                   "divide by the running maximum of v (AMSGrad, Reddi et al. 2018)"),
    Hyperparameter("maximize", False, "bool", "maximize the objective (step along +grad)"),
    Hyperparameter("momentum", 0.0, "float", "momentum factor (heavy ball)", NONNEG,
                   "one_minus_log", (0.0, 0.99)),
    Hyperparameter("dampening", 0.0, "float", "dampening of the momentum's new gradient",
                   Range(0.0, 1.0)),
    Hyperparameter("nesterov", False, "bool", "Nesterov momentum (needs momentum > 0, dampening 0)"),
    # AdEMAMix (Pagliardini et al., arXiv:2409.03137): a slow average of the gradient beside Adam's.
    Hyperparameter("beta3", 0.9999, "float", "β3: decay rate of AdEMAMix's slow average of the "
                   "gradient m2 (the fast one, m1, decays with β1)", UNIT_OPEN_HIGH,
                   "one_minus_log", (0.99, 0.99999), ("beta_3", "b3"),
                   invalid="Invalid beta parameter at index 2: {value}"),
    Hyperparameter("mix_alpha", 5.0, "float", "α: weight of AdEMAMix's slow average in the step, "
                   "(m̂1 + α·m2)/(sqrt(v̂)+ε) (torch's and optax's alpha; not RMSprop's alpha)",
                   NONNEG, "linear", (0.0, 10.0), invalid="Invalid alpha value: {value}"),
    Hyperparameter("alpha_warmup", None, "float", "AdEMAMix: steps over which α grows linearly "
                   "from 0 (None: α from the first step)", Range(0.0, low_open=True), "log",
                   (1e2, 1e6), optional=True),
    Hyperparameter("beta3_warmup", None, "float", "AdEMAMix: steps over which β3 grows from β1, "
                   "linearly in the average's half-life (None: β3 from the first step)",
                   Range(0.0, low_open=True), "log", (1e2, 1e6), optional=True),
    # ADOPT (Taniguchi et al., arXiv:2411.02853), as optax.contrib.adopt.
    Hyperparameter("use_clipping", True, "bool", "ADOPT: clip the normalized gradient "
                   "g/max(sqrt(v), ε) to ±(t-1)^(1/4) (optax's default clip_value_fn)"),
    Hyperparameter("clip_bound", None, "float", "ADOPT: this step's clip bound instead of "
                   "(t-1)^(1/4) (optax's clip_value_fn(count), evaluated step by step)",
                   NONNEG, optional=True),
    # LAMB (You et al., arXiv:1904.00962).
    Hyperparameter("decay_in_trust_ratio", True, "bool", "LAMB: the decoupled decay wd·p joins the "
                   "update before the trust ratio ||p||/||u|| (paper, optax); False: p *= 1 - lr·wd "
                   "first, the ratio of the Adam direction alone (Keras)"),
    Hyperparameter("alpha", 0.99, "float", "decay rate of the squared-gradient average: RMSprop's "
                   "α (Keras's rho), Adadelta's ρ (which decays its squared-update average too)",
                   NONNEG, "one_minus_log", (0.9, 0.999), ("rho",)),
    Hyperparameter("centered", False, "bool", "divide by the gradient's estimated variance "
                   "instead of its second moment (Graves 2013)"),
    Hyperparameter("warmup_steps", 0, "float", "schedule-free: linear warmup, the step's lr is "
                   "lr·min(t/warmup_steps, 1) (0: none)", NONNEG, "linear", (0.0, 1000.0)),
    Hyperparameter("r", 0.0, "float", "schedule-free: polynomial averaging, the iterate of step t "
                   "weighs t^r in the average x", NONNEG, "linear", (0.0, 2.0)),
    Hyperparameter("weight_lr_power", 2.0, "float", "schedule-free: the iterate of step t weighs "
                   "lr_max^power in the average x (lr_max: the largest lr so far; warmup's "
                   "small-lr iterates count less)", NONNEG, "linear", (0.0, 4.0)),
    Hyperparameter("weight_decay_on", "z", "choice", "schedule-free: z: wd·y joins the normalized "
                   "gradient of the z step (the paper's code, schedulefree, optax); y: y *= "
                   "1 - lr·wd before the step, z untouched (Keras)", ("z", "y")),
    Hyperparameter("warmup_lag", False, "bool", "schedule-free: the z step's warmup one step "
                   "behind the average weight's, lr·min((t-1)/warmup_steps, 1) (optax's "
                   "schedule_free_adamw)"),
    Hyperparameter("lr_decay", 0.0, "float", "Adagrad's learning-rate decay: lr/(1+(t-1)·lr_decay)",
                   NONNEG),
    # Rprop (Riedmiller & Braun 1993), as torch.optim.Rprop and optax.rprop. torch checks the pair
    # as a whole, 0 < eta_minus < 1 < eta_plus ("Invalid eta values: a, b"), so the rule's check
    # does, and the parts accept any number here; the search intervals are the meaningful ones.
    Hyperparameter("etas", (0.5, 1.2), "pair", "Rprop's (η-, η+): the factors a coordinate's step "
                   "size is multiplied by when its gradient's sign flips / stays "
                   "(0 < η- < 1 < η+)", ("eta_minus", "eta_plus")),
    Hyperparameter("eta_minus", 0.5, "float", "Rprop's η-: step-size factor on a sign flip (< 1)",
                   Range(-math.inf), "linear", (0.1, 0.9)),
    Hyperparameter("eta_plus", 1.2, "float", "Rprop's η+: step-size factor while the sign stays "
                   "(> 1)", Range(-math.inf), "linear", (1.05, 2.0)),
    Hyperparameter("step_sizes", (1e-6, 50.0), "pair", "Rprop's (min, max) step size: each "
                   "coordinate's step size is clamped into it", ("min_step_size", "max_step_size")),
    Hyperparameter("min_step_size", 1e-6, "float", "Rprop's smallest step size", NONNEG, "log",
                   (1e-9, 1e-3)),
    Hyperparameter("max_step_size", 50.0, "float", "Rprop's largest step size", NONNEG, "log",
                   (1e-2, 1e2)),
    # ASGD (averaged SGD, Polyak & Juditsky 1992: a decaying step and the iterates' average), as
    # torch.optim.ASGD: η_t = lr/(1 + λ·lr·t)^α, param *= 1 - λ·η, ax averages the iterates from t0.
    Hyperparameter("lambd", 1e-4, "float", "ASGD's λ (torch's lambd): the decay term, "
                   "param *= 1 - λ·η each step, and η_t = lr/(1 + λ·lr·t)^α", NONNEG, "log",
                   (1e-6, 1e-1)),
    Hyperparameter("eta_power", 0.75, "float", "ASGD's α (torch's ASGD alpha, not RMSprop's): the "
                   "power of the step size's decay, η_t = lr/(1 + λ·lr·t)^α", NONNEG, "linear",
                   (0.5, 1.0)),
    Hyperparameter("t0", 1e6, "float", "ASGD's t0: the step from which ax averages the iterates "
                   "(before it ax is the last iterate)", NONNEG, "log", (1.0, 1e6)),
    Hyperparameter("initial_accumulator_value", 0.0, "float",
                   "starting value of Adagrad's sum of squared gradients", NONNEG),
    Hyperparameter("momentum_decay", 4e-3, "float", "NAdam's momentum schedule ψ", NONNEG),
    # Adafactor (Shazeer & Stern, arXiv:1804.04235), as torch.optim, keras and optax spell it.
    Hyperparameter("beta2_decay", -0.8, "float", "Adafactor: the second moment averages with "
                   "1 - β2_t = t^beta2_decay (optax's decay_rate is its negative)",
                   Range(-math.inf, 0.0), "linear", (-1.0, -0.5), ("beta_2_decay",),
                   invalid="beta2_decay should be <= 0 but is: {value}"),
    Hyperparameter("eps1", None, "float", "Adafactor: ε1, keeps the second moment away from 0 "
                   "(see eps_clamp); None: the param dtype's machine epsilon (torch)", NONNEG,
                   "log", (1e-30, 1e-6), ("epsilon_1",), optional=True,
                   invalid="epsilon1 should be >= 0 but is: {value}"),
    Hyperparameter("eps2", 1e-3, "float", "Adafactor: ε2, the least param RMS the step scales "
                   "by, max(ε2, RMS(p))", NONNEG, "log", (1e-5, 1e-2), ("epsilon_2",),
                   invalid="epsilon2 should be >= 0 but is: {value}"),
    Hyperparameter("d", 1.0, "float", "Adafactor: update clipping threshold, U / max(1, RMS(U)/d) "
                   "(inf: no clipping)", Range(1.0), "log", (1.0, 10.0),
                   ("clip_threshold", "clipping_threshold"),
                   invalid="Clipping threshold d should be >= 1 but is: {value}"),
    Hyperparameter("relative_step", True, "bool", "Adafactor: step size min(lr, 1/sqrt(t)) "
                   "(torch, Keras) rather than lr itself (optax)"),
    Hyperparameter("param_scale", True, "bool", "Adafactor: scale the step by max(ε2, RMS(p)) "
                   "(optax's multiply_by_parameter_scale)", aliases=("multiply_by_parameter_scale",)),
    Hyperparameter("rms_after_decay", False, "bool", "Adafactor: RMS(p) of the step's scale is "
                   "taken after the decoupled weight decay (Keras) rather than before it (torch)"),
    Hyperparameter("eps_clamp", True, "bool", "torch's ε placement as a clamp. Adafactor: "
                   "max(mean R, ε1) and max(V̂, ε1²) (torch); False: ε1 added to g² (paper, Keras, "
                   "optax). Muon: X/max(||X||, ε) (torch); False: X/(||X|| + ε) (Keras, optax)"),
    Hyperparameter("decay_offset", 0.0, "float", "Adafactor: the second moment's schedule counts "
                   "steps from here (optax's decay_offset, for fine-tuning)", NONNEG),
    Hyperparameter("min_dim_size_to_factor", 0.0, "float", "Adafactor: factor the second moment "
                   "only when both factored axes are at least this long (optax: 128; torch: any)",
                   NONNEG),
    Hyperparameter("factor_axes", "last", "choice", "Adafactor: which two axes the second moment "
                   "is factored over: last (torch, Keras) or largest (optax)", ("last", "largest")),
    # Muon (Jordan et al., 2024): momentum orthogonalized by a Newton-Schulz iteration.
    Hyperparameter("ns_coefficients", (3.4445, -4.7750, 2.0315), "tuple", "Muon: (a, b, c) of "
                   "the Newton-Schulz step aX + (b·A + c·A²)X, A = XXᵀ; or one triple per step "
                   "(optax)", aliases=("ns_coeffs",)),
    Hyperparameter("ns_steps", 5, "float", "Muon: Newton-Schulz iterations", Range(0.0, 100.0,
                   high_open=True), "linear", (1.0, 10.0),
                   invalid="Number of steps must be less than 100: {value}"),
    Hyperparameter("ns_dtype", "bfloat16", "choice", "Muon: the Newton-Schulz iteration's "
                   "precision: bfloat16 (torch) or the param's (Keras, optax)",
                   ("bfloat16", "param")),
    Hyperparameter("adjust_lr_fn", None, "choice", "Muon: lr scale by shape (rows, cols): "
                   "None/original sqrt(max(1, rows/cols)) (torch); original_transposed "
                   "sqrt(max(1, cols/rows)) (optax); match_rms_adamw rms_rate·sqrt(max(rows, "
                   "cols)) (Moonlight; Keras); unscaled 1",
                   (None, "original", "original_transposed", "match_rms_adamw", "unscaled")),
    Hyperparameter("rms_rate", 0.2, "float", "Muon: the update RMS that match_rms_adamw aims at "
                   "(torch fixes 0.2)", NONNEG, "linear", (0.05, 0.5), ("consistent_rms",)),
    Hyperparameter("momentum_mode", "ema", "choice", "Muon: ema: buf = μ·buf + (1-μ)·g (torch, "
                   "optax); sum: buf = μ·buf + g (Keras); Nesterov takes one more such step",
                   ("ema", "sum")),
    Hyperparameter("bias_correction", False, "bool", "Muon: divide the momentum by 1-μ^t "
                   "(optax)"),
    Hyperparameter("adaptive", False, "bool", "Muon: scale the orthogonalized update by <M, O> "
                   "(optax, Bernstein & Newhouse arXiv:2409.20325)"),
    Hyperparameter("preconditioning", "frobenius", "choice", "Muon: how X is scaled before the "
                   "iteration: frobenius (torch, Keras, optax), spectral, aol or schatten (optax)",
                   ("frobenius", "spectral", "aol", "schatten")),
)

# The torch front end's own options: not the rule's math, but set the same ways (constructor,
# flags), so declared the same way.
OPTIONS: dict[str, Hyperparameter] = _declare(
    Hyperparameter("state_precision", "fp32", "choice",
                   "how Adam's moments are stored: fp32 8, bf16 4, 8bit ~2 bytes/param",
                   ("fp32", "bf16", "8bit")),
    Hyperparameter("nonfinite", None, "choice",
                   "non-finite gradients: None propagates them (torch); skip skips the step; "
                   "raise raises naming the parameter", (None, "skip", "raise")),
    Hyperparameter("clip_value", None, "float", "clip each gradient element into [-value, value]",
                   Range(0.0, low_open=True), "log", (1e-3, 1e2), optional=True),
    Hyperparameter("clip_norm", None, "float", "clip each gradient tensor's L2 norm to at most this",
                   Range(0.0, low_open=True), "log", (1e-3, 1e2), optional=True),
    Hyperparameter("clip_global_norm", None, "float",
                   "clip the gradients' joint L2 norm to at most this (torch's clip_grad_norm_)",
                   Range(0.0, low_open=True), "log", (1e-3, 1e2), optional=True),
)

EPS_MODES: tuple[str, ...] = HYPERPARAMETERS["eps_mode"].choices
WEIGHT_DECAY_MODES: tuple[str, ...] = HYPERPARAMETERS["weight_decay_mode"].choices

# Other libraries' names (the source documents write Keras's) -> ours.
ALIASES = {alias: h.name for h in HYPERPARAMETERS.values() for alias in h.aliases}


def canonical(given: Mapping[str, Any], owner: str, takes: Iterable[str]) -> dict[str, Any]:
    """``given`` with aliases renamed and a pair's parts folded into the pair (``beta1``/``beta2``
    into ``betas``, Rprop's ``eta_minus``/``eta_plus`` into ``etas``) where ``takes`` has the pair.

    ``learning_rate=0.01, beta_1=0.8`` becomes ``lr=0.01, betas=(0.8, <default or given β2>)``.
    A name given twice (``lr`` and ``learning_rate``) is an error.
    """
    takes = tuple(takes)
    out: dict[str, Any] = {}
    for key, value in given.items():
        name = ALIASES.get(key, key)
        if name in out:
            raise HyperparameterError(f"{owner}: {name} given twice (as {key} and another name)")
        out[name] = value
    for pair in (HYPERPARAMETERS[n] for n in takes if n in HYPERPARAMETERS
                 and HYPERPARAMETERS[n].kind == "pair"):
        parts = [p for p in pair.choices if p in out]
        if not parts:
            continue
        if pair.name in out:
            raise HyperparameterError(f"{owner}: give {pair.name} or {' and '.join(parts)}, not both")
        out[pair.name] = tuple(out.pop(p, HYPERPARAMETERS[p].default) for p in pair.choices)
    return out


def validate(owner: str, takes: Iterable[str], defaults: Mapping[str, Any],
             given: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``given``, every value checked against its declaration.

    A HyperparameterError (a ValueError) names ``owner``, the argument and its valid values.
    """
    takes = tuple(takes)
    unknown = set(given) - set(takes)
    if unknown:
        raise HyperparameterError(f"{owner}: unknown hyperparameter(s) {', '.join(sorted(unknown))}; "
                                  f"valid: {', '.join(sorted(takes))}")
    out = {**defaults, **given}
    _translate_torch_decoupled_flag(out, given)
    for name in takes:
        spec = HYPERPARAMETERS[name]
        if spec.kind != "pair":
            spec.check(out[name], owner)
            continue
        value = out[name]
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise HyperparameterError(f"{owner}: {name} must be a pair ({', '.join(spec.choices)}), "
                                      f"got {value!r}")
        for i, (part, v) in enumerate(zip(spec.choices, value, strict=True)):
            HYPERPARAMETERS[part].check(v, owner, f"{name}[{i}]")
    return out


def _translate_torch_decoupled_flag(out: dict, given: Mapping[str, Any]) -> None:
    """torch spells AdamW-style decay ``decoupled_weight_decay=True``; adamkit names the mode.

    Both spellings are accepted and kept consistent, so either reads correctly afterwards.
    """
    if "decoupled_weight_decay" not in out:
        return
    if given.get("decoupled_weight_decay") and "weight_decay_mode" not in given:
        out["weight_decay_mode"] = "decoupled"
    elif given.get("decoupled_weight_decay") and out["weight_decay_mode"] != "decoupled":
        raise HyperparameterError(
            f"decoupled_weight_decay=True contradicts weight_decay_mode="
            f"{out['weight_decay_mode']!r}; pass one of them"
        )
    out["decoupled_weight_decay"] = out["weight_decay_mode"] == "decoupled"


class HyperparameterTypeError(HyperparameterError, TypeError):
    """A hyperparameter that is not a number at all (None, a string): a TypeError, as torch.optim
    raises for it, and a HyperparameterError (a ValueError) like every invalid value."""


def numbers(value: Any) -> np.ndarray | None:
    """``value`` as float64 (a number, a 0-dim tensor, an array), or None when it is not numeric.

    None and strings are not numbers (NumPy would read None as nan and '0.1' as 0.1); a tensor that
    requires grad is read through ``detach()``; a traced array has no value here (None).
    """
    if value is None or isinstance(value, str | bytes):
        return None
    detach = getattr(value, "detach", None)  # a torch tensor (one that requires grad included)
    if callable(detach):
        value = detach()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError):  # not a number, or a traced array
        return None


def _show(v: Any) -> str:
    """A value as torch.optim's messages write it (``f"{v}"``: ``-1``, ``1.0``, ``nan``, ``None``);
    arrays shortened."""
    if isinstance(v, np.ndarray) and v.ndim > 0:
        return np.array2string(v, threshold=6)
    try:
        return f"{v}"
    except (TypeError, ValueError, RuntimeError):
        return repr(v)
