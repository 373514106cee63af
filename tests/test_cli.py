"""The ``adamkit`` dispatcher's edges: which errors become one line, and what loads without torch."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from adamkit import cli
from adamkit.errors import HyperparameterError, UsageError
from adamkit.lab import cli as lab_cli


def _python(code: str, tmp_path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (so that sys.modules starts empty) inside tmp_path."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


# -- which errors are one line ----------------------------------------------------------------------
@pytest.mark.parametrize("error", [UsageError("bad value 'x'; valid: a, b"),
                                   HyperparameterError("adam: invalid lr -1; valid range [0, inf)")])
def test_a_user_error_is_one_line_and_status_2(monkeypatch, capsys, error):
    def command(args):
        raise error

    monkeypatch.setattr(lab_cli, "functions_command", command)
    assert cli.main(["functions"]) == 2
    assert capsys.readouterr().err == f"adamkit: error: {error}\n"


def test_a_value_error_from_a_bug_keeps_its_traceback(monkeypatch):
    def command(args):
        raise ValueError("an internal invariant broke")

    monkeypatch.setattr(lab_cli, "functions_command", command)
    with pytest.raises(ValueError, match="an internal invariant broke"):
        cli.main(["functions"])


def test_a_missing_module_that_is_not_an_optional_dependency_keeps_its_traceback(monkeypatch):
    def command(args):
        raise ModuleNotFoundError("No module named 'adamkit.nothing'", name="adamkit.nothing")

    monkeypatch.setattr(lab_cli, "functions_command", command)
    with pytest.raises(ModuleNotFoundError):
        cli.main(["functions"])


def test_a_missing_optional_dependency_is_one_line_naming_the_extra(monkeypatch, capsys):
    def command(args):
        raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn.datasets")

    monkeypatch.setattr(lab_cli, "functions_command", command)
    assert cli.main(["functions"]) == 2
    assert capsys.readouterr().err == (
        "adamkit: error: 'adamkit functions' needs scikit-learn, which is not installed; "
        f"install it with: {cli.INSTALL_EXTRA}\n")


def test_ctrl_c_while_the_tools_load_is_one_line_and_status_130(monkeypatch, capsys):
    def register(subparsers):
        raise KeyboardInterrupt

    monkeypatch.setattr(lab_cli, "register", register)
    assert cli.main(["functions"]) == 130
    assert capsys.readouterr().err == "adamkit: interrupted\n"


def test_the_optional_dependencies_are_the_torch_and_tune_extras():
    tomllib = pytest.importorskip("tomllib")
    with open(Path(__file__).parents[1] / "pyproject.toml", "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    for name in ("torch", "tune"):
        packages = {spec.split(">")[0].split("=")[0].split("<")[0].strip() for spec in extras[name]}
        named = {p for p in cli.OPTIONAL_DEPENDENCIES.values() if cli.EXTRA_OF.get(p, "torch") == name}
        assert named == packages, name
        assert all(f'".[{name}]"' in cli.install_hint(p) for p in packages)
    assert '".[torch]"' in cli.INSTALL_EXTRA


# -- what loads torch -------------------------------------------------------------------------------
def test_help_and_the_numpy_commands_load_no_torch(tmp_path):
    done = _python("""
        import sys
        import adamkit.cli
        for argv in (["--help"], ["race", "--help"], ["phase", "--help"], ["train", "--help"],
                     ["compare", "--help"], ["bench", "--help"], ["data", "get", "--help"]):
            try:
                adamkit.cli.main(argv)
            except SystemExit as exc:
                assert exc.code == 0, argv
        assert adamkit.cli.main(["functions"]) == 0
        assert adamkit.cli.main(["race", "--steps", "5", "--optimizers", "adam,sgd", "--quiet",
                                 "--out", "race"]) == 0
        assert adamkit.cli.main(["phase", "--steps", "5", "--x", "lr=0.01:0.1:2",
                                 "--y", "beta1=0.5:0.9:2", "--quiet", "--out", "phase"]) == 0
        loaded = sorted(m for m in ("torch", "numba", "sklearn") if m in sys.modules)
        assert not loaded, loaded
        """, tmp_path)
    assert done.returncode == 0, done.stderr


BLOCK_THE_TORCH_EXTRA = """
    import sys
    for name in ("torch", "numba", "sklearn"):
        sys.modules[name] = None  # as if not installed: importing it raises ModuleNotFoundError
    import adamkit.cli
    sys.exit(adamkit.cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("argv", [
    ["functions"],
    ["race", "--steps", "5", "--quiet", "--out", "race"],
    ["race", "--function", "x**2 + y**2", "--steps", "5", "--quiet", "--out", "race"],
    ["phase", "--steps", "5", "--x", "lr=0.01:0.1:2", "--quiet", "--out", "phase"],
    ["train", "--help"],
])
def test_the_numpy_commands_work_without_the_torch_extra(tmp_path, argv):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(BLOCK_THE_TORCH_EXTRA), *argv],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("argv", [
    ["train", "--epochs", "1"],
    ["compare", "--optimizers", "adam,sgd"],
    ["bench", "--quick"],
])
def test_the_torch_commands_say_in_one_line_what_to_install(tmp_path, argv):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(BLOCK_THE_TORCH_EXTRA), *argv],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr == (f"adamkit: error: 'adamkit {argv[0]}' needs torch, which is not "
                           f"installed; install it with: {cli.INSTALL_EXTRA}\n")
