"""The named optimizers people race and tune, each declared once as (rule, fixed settings).

"Momentum" in the source documents is SGD with momentum 0.9; "AMSGrad" is Adam with
``amsgrad=True``. Everything not fixed here keeps the rule's (torch.optim's) defaults. The lab,
the trainer, the page and the tuner take their optimizer names from this table.

``family`` groups optimizers whose learning rates live on the same scale (plain gradient steps,
adaptive steps of about ``lr`` per coordinate, Adagrad's shrinking steps, RAdam's warm-up), so a
tool can pick a sensible default lr per family.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adamkit.errors import choice


@dataclass(frozen=True)
class Variant:
    name: str
    rule: str
    doc: str
    family: str
    settings: Mapping[str, Any] = field(default_factory=dict)


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("sgd", "sgd", "plain gradient descent", "sgd"),
    Variant("momentum", "sgd", "SGD with heavy-ball momentum 0.9", "sgd", {"momentum": 0.9}),
    Variant("nesterov", "sgd", "SGD with Nesterov momentum 0.9", "sgd",
            {"momentum": 0.9, "nesterov": True}),
    Variant("rmsprop", "rmsprop", "RMSprop (Hinton)", "adaptive"),
    Variant("adagrad", "adagrad", "Adagrad (Duchi et al.)", "adagrad"),
    Variant("adam", "adam", "Adam (Kingma & Ba)", "adaptive"),
    Variant("adamw", "adamw", "Adam with decoupled weight decay 1e-2 (Loshchilov & Hutter)",
            "adaptive"),
    Variant("amsgrad", "adam", "Adam dividing by the running max of v (Reddi et al.)", "adaptive",
            {"amsgrad": True}),
    Variant("adamax", "adamax", "Adam with the infinity norm", "adaptive"),
    Variant("nadam", "nadam", "Adam with Nesterov momentum (Dozat)", "adaptive"),
    Variant("radam", "radam", "Adam with variance rectification (Liu et al.)", "radam"),
)}


def variant(name: str) -> Variant:
    """The variant called ``name`` (case-insensitive); a UsageError lists the valid names."""
    key = name.strip().lower()
    if key not in VARIANTS:
        raise choice("optimizer", name, VARIANTS)
    return VARIANTS[key]
