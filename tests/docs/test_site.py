"""The documentation site's generated pages (docs/_ext/adamkit_docs.py), checked without Sphinx.

The full build (``python -m sphinx -W -n ... docs``, run by .ci/run) executes every tutorial; these
tests are the quick part: every public name gets an entry, the README is cut where a reader sees
headings (not inside code), and every tutorial is a text notebook myst-nb will execute.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports keras, as docs/conf.py

import adamkit_docs  # noqa: E402


@pytest.mark.parametrize("package", adamkit_docs.PACKAGES)
def test_every_public_name_has_an_entry(package):
    page = adamkit_docs.api_page(package)
    names = adamkit_docs.public_names(importlib.import_module(package))
    assert names, f"{package} has no public names"
    for name in names:
        assert re.search(rf"^\.\. (autoclass|autofunction|py:data):: {re.escape(name)}$", page, re.M), name


def test_module_without_all_lists_its_own_classes_and_functions():
    names = adamkit_docs.public_names(importlib.import_module("adamkit.schedules"))
    assert {"Cosine", "Warmup", "parse", "torch_scheduler"} <= set(names)
    assert not any(n.startswith("_") for n in names)
    assert "UsageError" not in names  # imported from adamkit.errors, documented there if anywhere


def test_readme_cut_at_headings_outside_code():
    text = "# title\nintro\n## First\n```bash\n## a comment, not a heading\n```\n### Sub\n## Second\nx\n"
    sections = adamkit_docs.readme_sections(text)
    assert [t for t, _ in sections] == ["Overview", "First", "Second"]
    first = sections[1][1]
    assert "## a comment, not a heading" in first and "\n## Sub" in first


def test_repository_links_become_text_and_web_links_stay():
    (_, body), = adamkit_docs.readme_sections("see [x](benchmarks/a.py) and [p](https://e.org/)\n")
    assert "x (`benchmarks/a.py`)" in body and "[p](https://e.org/)" in body


def test_guide_pages_of_the_real_readme_have_unique_names():
    pages = adamkit_docs.guide_pages((ROOT / "README.md").read_text())
    toc = re.search(r"```\{toctree\}\n:maxdepth: 2\n\n(.*?)\n```", pages["index.md"], re.S).group(1)
    names = toc.split()
    assert len(names) == len(set(names)) == len(pages) - 1
    assert all(f"{n}.md" in pages for n in names)


@pytest.mark.parametrize("path", sorted((ROOT / "docs" / "tutorials").glob("[0-9]*.md")),
                         ids=lambda p: p.stem)
def test_tutorials_are_text_notebooks(path):
    text = path.read_text()
    assert text.startswith("---\njupytext:"), "a jupytext header, so myst-nb executes it"
    assert "kernelspec:" in text.split("---")[1]
    assert "```{code-cell} ipython3" in text
