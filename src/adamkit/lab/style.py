"""One fixed look per optimizer, shared by every figure of the lab and by the page (``adamkit serve``).

A colour follows the optimizer's *name*, not its position in a race, so Adam is the same blue in
``race.png``, ``loss.png``, the GIF and the browser. Colours start from the Okabe-Ito palette (safe
for the common colour-vision deficiencies) and family members get neighbouring shades (the Adam
family blues and greens, the SGD family warm colours); every optimizer also has its own marker, so
lines are told apart without colour. Each optimizer's declaration (:mod:`adamkit.rules.registry`) says
its look; the page reads it through ``GET /api/meta``.
"""

from __future__ import annotations

from typing import Any

from adamkit.rules import registry

_FALLBACK = {"color": "#555555", "marker": "."}


def optimizer_style(name: str) -> dict[str, str]:
    """Colour and marker of the optimizer called ``name`` (the same in every figure and the page),
    as its declaration says (:mod:`adamkit.rules.registry`); grey dots for a name not declared."""
    found = registry.variants().get(name.strip().lower())
    return dict(_FALLBACK) if found is None else {"color": found.color, "marker": found.marker}


def __getattr__(name: str) -> Any:
    if name == "OPTIMIZER_STYLES":  # every declared look, read when asked
        return {n: optimizer_style(n) for n in registry.variants()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
