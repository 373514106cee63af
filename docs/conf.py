"""Sphinx configuration of adamkit's documentation site.

Build (README, .ci/run): ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``.
``-W`` makes every warning an error, ``-n`` (nitpicky) makes every cross-reference that does not
resolve one, so a broken internal link or a tutorial that raises fails the build. Links to other
sites are not checked: CI has no internet (no ``linkcheck``, no intersphinx inventories).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

# Before anything imports keras (the API reference of adamkit.keras, the Keras tutorial).
os.environ.setdefault("KERAS_BACKEND", "torch")
# Figures are files; no window is ever opened.
os.environ.setdefault("MPLBACKEND", "Agg")

project = "adamkit"
author = "adamkit contributors"
copyright = "adamkit contributors"

extensions = [
    "myst_nb",  # MyST Markdown pages and text notebooks, executed at build time
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "adamkit_docs",  # docs/_ext: the API pages from __all__, the guide from README.md
]

exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}

html_theme = "furo"
html_title = "adamkit"
html_static_path: list[str] = []
# A smaller code font, so that a tutorial's code and printed tables fit the column without a
# horizontal scroll bar.
html_theme_options = {
    "light_css_variables": {"code-font-size": "var(--font-size--small--2)"},
    "dark_css_variables": {"code-font-size": "var(--font-size--small--2)"},
}

# -- MyST and notebooks ----------------------------------------------------------------------------
# No math markup: formulas are written in Unicode text (m̂ / (√v̂ + ε)), as in the README, so the
# pages need no MathJax from a CDN and read the same offline.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# Every tutorial runs on each build from a fresh clone (CI); locally an unchanged one is taken
# from the cache in docs/_build/.jupyter_cache.
nb_execution_mode = "cache"
nb_execution_raise_on_error = True  # a cell that raises fails the build
nb_execution_show_tb = True  # ... and its traceback is in the log
nb_execution_timeout = 120  # per cell; each tutorial is meant to take under a minute on 2 cores
nb_merge_streams = True
# GIFs (the race animation) are shown as images like PNGs.
nb_mime_priority_overrides = [("html", "image/gif", 25)]

# -- autodoc ------------------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
# Signatures come from the code; no docstring here starts with one (a dataclass's generated
# ``Name(field: 'type', ...)`` text would be misread as one).
autodoc_docstring_signature = False
autosummary_generate = False  # the reference pages are written by adamkit_docs, one per package
add_module_names = False

# Nitpicky mode checks every reference; names of other libraries have no inventory here (no
# intersphinx without internet), so only they are let through. adamkit's own names must resolve.
nitpick_ignore_regex = [
    ("py:.*", r"(numpy|np|torch|jax|jnp|keras|optax|optuna|matplotlib|chex|typing|collections)"
              r"(\..*)?"),
    ("py:.*", r"(Any|Callable|Iterable|Iterator|Sequence|Mapping|NamedTuple|Path|Protocol|Literal|"
              r"ArrayLike|Array|Tensor|PyTree|Params|Updates)"),
    ("py:class", r"(int|float|str|bool|dict|list|tuple|object|type|None|bytes|complex)"),
    ("py:class", r"(pathlib|argparse|dataclasses|enum|abc)\..*"),
    # torch's own docstring of add_param_group, inherited by adamkit.torch.RuleOptimizer
    ("py:class", r"Optimizer"),
]
