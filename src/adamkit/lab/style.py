"""One fixed look per optimizer, shared by every figure of the lab and by the page (``adamkit serve``).

A colour follows the optimizer's *name*, not its position in a race, so Adam is the same blue in
``race.png``, ``loss.png``, the GIF and the browser. Colours start from the Okabe-Ito palette (safe
for the common colour-vision deficiencies) and family members get neighbouring shades (the Adam
family blues and greens, the SGD family warm colours); every optimizer also has its own marker, so
lines are told apart without colour. The page reads this table through ``GET /api/meta``.
"""

from __future__ import annotations

OPTIMIZER_STYLES: dict[str, dict[str, str]] = {
    "adam": {"color": "#0072B2", "marker": "o"},
    "adamw": {"color": "#56B4E9", "marker": "s"},
    "amsgrad": {"color": "#1B3A8C", "marker": "^"},
    "adamax": {"color": "#CC79A7", "marker": "D"},
    "nadam": {"color": "#009E73", "marker": "v"},
    "radam": {"color": "#7A5C00", "marker": "P"},
    "sgd": {"color": "#000000", "marker": "X"},
    "momentum": {"color": "#D55E00", "marker": "*"},
    "nesterov": {"color": "#E69F00", "marker": "<"},
    "rmsprop": {"color": "#8E44AD", "marker": ">"},
    "adagrad": {"color": "#8B8B00", "marker": "h"},
}
_FALLBACK = {"color": "#555555", "marker": "."}


def optimizer_style(name: str) -> dict[str, str]:
    """Colour and marker of the optimizer called ``name`` (the same in every figure and the page)."""
    return dict(OPTIMIZER_STYLES.get(name.strip().lower(), _FALLBACK))
