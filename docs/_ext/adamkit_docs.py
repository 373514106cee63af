"""Pages this site generates from the code and the README each time it builds.

Why generated: the API reference follows each package's ``__all__`` (optimizers that the registry
adds appear without an edit here), and the guide is the README cut at its ``##`` headings (one
text, so the site and the README cannot drift apart). Both land in ``docs/api/`` and
``docs/guide/`` (git-ignored) when the builder starts, before Sphinx reads its sources; a file is
rewritten only when its text changed, so an unchanged page is not rebuilt.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

# The packages of the reference, in reading order: the math, the front ends, the tools.
PACKAGES = [
    "adamkit.rules",
    "adamkit.numpy",
    "adamkit.torch",
    "adamkit.keras",
    "adamkit.optax",
    "adamkit.schedules",
    "adamkit.clipping",
    "adamkit.lab",
    "adamkit.tune",
]


def public_names(module: Any) -> list[str]:
    """``__all__``, or for a module without one (schedules, clipping) the classes and functions
    defined in it whose names do not start with an underscore, in source order."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [n for n, v in vars(module).items()
            if not n.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v))
            and getattr(v, "__module__", None) == module.__name__]


def describe_data(value: Any) -> str:
    """One generated line for a constant: its type and, for a mapping or sequence, what it holds
    (autodoc would show the docstring of ``dict`` itself, and the repr of these tables is pages
    long)."""
    kind = type(value).__name__
    if isinstance(value, dict):
        keys = ", ".join(f"``{k}``" for k in list(value)[:24])
        more = ", ..." if len(value) > 24 else ""
        return f"A ``{kind}`` of {len(value)} entries, keyed by {keys}{more}."
    if isinstance(value, (tuple, list, frozenset, set)):
        items = ", ".join(f"``{v!r}``" for v in list(value)[:24])
        return f"A ``{kind}`` of {len(value)}: {items}."
    return f"A ``{kind}``."


def api_page(package: str) -> str:
    module = importlib.import_module(package)
    names = public_names(module)
    title = f"``{package}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {package}", "    :no-members:", "",
             f".. currentmodule:: {package}", ""]
    callables = [n for n in names if callable(getattr(module, n))]
    if callables:
        lines += [".. autosummary::", "    :nosignatures:", ""] + [f"    {n}" for n in callables]
        lines += [""]
    for name in names:
        obj = getattr(module, name)
        if inspect.isclass(obj):
            lines += [f".. autoclass:: {name}", "    :members:", "    :show-inheritance:", ""]
        elif callable(obj):
            lines += [f".. autofunction:: {name}", ""]
        else:
            lines += [f".. py:data:: {name}", "", f"    {describe_data(obj)}", ""]
    return "\n".join(lines)


def api_index() -> str:
    lines = ["API reference", "=============", "",
             "Every public name of each package, as its ``__all__`` lists it (for a module without",
             "one, its public classes and functions), generated from the docstrings at build time.",
             "", ".. toctree::", "    :maxdepth: 1", ""]
    return "\n".join(lines + [f"    {p.split('.')[-1]}" for p in PACKAGES]) + "\n"


_FENCE = re.compile(r"^\s*(```+|~~~+)")
# A README link to a file of the repository ([the benchmark](benchmarks/x.py)) works on a forge
# but has no page here: it is shown as text naming the path rather than failing the build.
_REPO_LINK = re.compile(r"\[([^\]]+)\]\((?!https?:|mailto:|#)([^)\s]+)\)")


def readme_sections(text: str) -> list[tuple[str, str]]:
    """(title, body) for the README's introduction and each ``##`` section, headings one level up
    (``##`` becomes the page's ``#``); fenced code is left alone (a ``##`` inside it is not a
    heading)."""
    sections: list[tuple[str, list[str]]] = [("Overview", [])]
    fence = None
    for line in text.splitlines():
        m = _FENCE.match(line)
        if m:
            mark = m.group(1)[0] * 3
            fence = None if fence == mark else (fence or mark)
        if fence is None and line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            if level == 1:
                continue  # the README's own title: the site has its own
            if level == 2:
                sections.append((line[2:].strip(), []))
                continue
            line = line[1:]
        if fence is None:
            line = _REPO_LINK.sub(r"\1 (`\2`)", line)
        sections[-1][1].append(line)
    return [(title, "\n".join(body).strip() + "\n") for title, body in sections]


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:48].strip("-")


def guide_pages(readme: str) -> dict[str, str]:
    pages = {}
    order = []
    for title, body in readme_sections(readme):
        # named by its title alone, so a page keeps its address when sections are added before it
        name = base = slug(title) or "section"
        k = 2
        while name in order:
            name, k = f"{base}-{k}", k + 1
        order.append(name)
        pages[name + ".md"] = f"# {title}\n\n{body}"
    pages["index.md"] = ("# Guide\n\nThe README's topics, one page each (generated from `README.md` "
                         "at build time).\n\n```{toctree}\n:maxdepth: 2\n\n" + "\n".join(order)
                         + "\n```\n")
    return pages


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _sync(folder: Path, pages: dict[str, str]) -> None:
    """Write ``pages`` into ``folder`` and remove the generated files no longer among them (a
    README section renamed leaves no orphan page behind)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file() and old.name not in pages:
            old.unlink()
    for name, text in pages.items():
        _write(folder / name, text)


def generate(app: Any) -> None:
    src = Path(app.srcdir)
    _sync(src / "api", {f"{p.split('.')[-1]}.rst": api_page(p) for p in PACKAGES}
          | {"index.rst": api_index()})
    _sync(src / "guide", guide_pages((src.parent / "README.md").read_text()))


def _import_dotted(name: str) -> tuple[bool, Any]:
    """(True, the object) that the dotted ``name`` names, importing its longest module prefix."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:  # noqa: BLE001 - not a module (or not importable): try a shorter prefix
            continue
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError:
            return False, None
        return True, obj
    return False, None


def _documented(app: Any, env: Any) -> dict[int, str]:
    """id(object) -> the full name under which the reference documents it (classes, functions,
    modules: objects whose identity means something)."""
    cache = getattr(app, "_adamkit_documented", None)
    if cache is None:
        cache = {}
        for fullname in env.get_domain("py").objects:
            found, obj = _import_dotted(fullname)
            if found and (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj)):
                cache.setdefault(id(obj), fullname)
        app._adamkit_documented = cache
    return cache


def resolve_elsewhere(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """A Python cross-reference that Sphinx could not find, given a second chance.

    Docstrings name objects where they are defined (``adamkit.torch._base.RuleOptimizer``) while
    the reference documents them where users import them (``adamkit.torch.RuleOptimizer``): a
    target that imports to an object documented under another name links there. A target that
    imports but is documented nowhere (a private module, another library's class) is shown as
    text. Only a target that does not exist at all stays a warning, so ``-n -W`` fails the build
    on a real broken reference.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    modname, classname = node.get("py:module"), node.get("py:class")
    candidates = [target]
    if modname and classname:
        candidates.append(f"{modname}.{classname}.{target}")
    if modname:
        candidates.append(f"{modname}.{target}")
        # a docstring of a name re-exported by a package, naming a sibling in its own module
        # (``adamkit.optax.state_type`` -> ``state_fields`` of ``adamkit.optax._transform``)
        candidates += sorted(f"{sub}.{target}" for sub in list(sys.modules)
                             if sub.startswith(f"{modname}.") and "." not in target)
    for full in candidates:
        found, obj = _import_dotted(full)
        if not found:
            continue
        documented = _documented(app, env).get(id(obj))
        if documented is not None and documented != full:
            ref = env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                                    documented, node, contnode)
            if ref is not None:
                return ref
        return contnode
    return None


def drop_generated_docstring(app: Any, what: str, name: str, obj: Any, options: Any,
                             lines: list[str]) -> None:
    """A dataclass without a docstring gets ``Name(field: 'type', ...)`` as one from Python; the
    signature above it already says that, so the text is dropped rather than shown twice."""
    if (what == "class" and dataclasses.is_dataclass(obj) and lines
            and lines[0].startswith(f"{obj.__name__}(")):
        lines.clear()


def factory_defaults(app: Any, what: str, name: str, obj: Any, options: Any, signature: str | None,
                     return_annotation: str | None) -> tuple[str | None, str | None] | None:
    """A dataclass field with ``default_factory`` shows as ``= <factory>`` in the generated
    ``__init__``'s signature, which is not Python: Sphinx then cannot parse the signature and
    misreads its annotations. Shown as ``= ...`` (a default made per instance) instead."""
    if signature and "<factory>" in signature:
        return signature.replace("<factory>", "..."), return_annotation
    return None


def setup(app: Any) -> dict:
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-signature", factory_defaults)
    app.connect("autodoc-process-docstring", drop_generated_docstring)
    app.connect("missing-reference", resolve_elsewhere)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
