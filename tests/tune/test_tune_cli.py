"""The command: light to register, the tune extra named when missing, results on the terminal."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from tests.tune.conftest import run_tune, tune_env

pytest.importorskip("optuna")


def _python(code: str, *argv: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *argv], cwd=cwd,
                          env=tune_env(), capture_output=True, text=True, timeout=120)


def test_help_loads_neither_optuna_nor_torch(tmp_path):
    done = _python("""
        import sys
        import adamkit.cli
        for argv in (["--help"], ["tune", "--help"]):
            try:
                adamkit.cli.main(argv)
            except SystemExit as exc:
                assert exc.code == 0, argv
        loaded = sorted(m for m in ("optuna", "torch", "sqlalchemy") if m in sys.modules)
        assert not loaded, loaded
        """, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # argparse wraps lines at the terminal's width
    assert "--lr SPEC learning rate" in text and "log scale, default range 1e-05:10" in text
    assert "--beta2 SPEC" in text and "one_minus_log scale, default range 0.9:0.9999" in text


@pytest.mark.parametrize("blocked, package", [("optuna", "optuna"), ("psycopg2", "psycopg2-binary")])
def test_a_missing_tune_dependency_names_the_tune_extra(tmp_path, blocked, package):
    done = _python(f"""
        import sys
        sys.modules[{blocked!r}] = None  # as if not installed
        import adamkit.cli
        sys.exit(adamkit.cli.main(sys.argv[1:]))
        """, "tune", "--function", "booth", "--storage", "postgresql://u@127.0.0.1:1/db",
        "--out", "t", cwd=tmp_path)
    assert done.returncode == 2
    hint = 'pip install -c constraints.txt -e ".[tune]"'
    assert done.stderr == (f"adamkit: error: 'adamkit tune' needs {package}, which is not "
                           f"installed; install it with: {hint}\n")


def test_the_leaderboard_and_the_best_command_are_printed(tmp_path):
    done = run_tune("--function", "booth", "--steps", "50", "--optimizers", "adam,sgd",
                    "--strategy", "random", "--trials", "20", "--out", str(tmp_path / "t"),
                    "--no-plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["#", "optimizer", "trial", "log10(f_final"]
    assert "40 complete, 0 pruned, 0 failed" in done.stdout
    assert lines[-1].startswith("best: adamkit race --function booth --optimizers ")


def test_the_best_race_command_reproduces_the_best_score(tmp_path):
    import json
    import math
    import shlex

    from adamkit import cli
    from adamkit.tune import search

    report = search(function="rosenbrock", steps=300, optimizers=["adam"], strategy="random",
                    trials=30, out=tmp_path / "t", plots=False)
    argv = shlex.split(report.best["command"])
    assert argv[:2] == ["adamkit", "race"]
    assert cli.main([*argv[1:], "--out", str(tmp_path / "race"), "--quiet"]) == 0
    final = json.loads((tmp_path / "race" / "race.json").read_text())["optimizers"]["adam"]
    # the command prints 6 significant digits of each value: the score agrees to ~1e-3
    assert math.log10(max(final["final_loss"], 1e-16)) == pytest.approx(report.best["value"],
                                                                          abs=0.05)


def test_a_best_command_with_flags_and_choices_runs_and_names_what_race_cannot_set(tmp_path):
    import shlex

    from adamkit import cli
    from adamkit.tune.objectives import LabObjective

    command = LabObjective("booth", 50, [-1.5, 2.0]).command(
        "adam", {"lr": 0.1, "amsgrad": True, "eps_mode": "hat"})
    assert "--set amsgrad=1" in command and "--start=-1.5,2" in command  # race's spellings
    assert command.endswith("# not exact: eps_mode=hat has no race flag")
    argv = shlex.split(command, comments=True)
    assert cli.main([*argv[1:], "--out", str(tmp_path / "race"), "--quiet"]) == 0


def test_every_raceable_optimizer_is_tuned_on_a_test_function(tmp_path):
    """The registry's optimizers (Lion, LAMB, ADOPT, AdEMAMix, Adafactor, ...) beside AdamW, with
    pair parts (Rprop's etas) filled from each rule's own defaults."""
    from adamkit.rules import registry

    names = [n for n, v in registry.variants().items() if v.shape == "any"]
    done = run_tune("--function", "rosenbrock", "--steps", "50", "--optimizers", ",".join(names),
                    "--strategy", "random", "--trials", "3", "--out", str(tmp_path / "t"),
                    "--no-plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{3 * len(names)} complete, 0 pruned, 0 failed" in done.stdout


def test_tune_plots_leave_matplotlib_style_as_it_was(tmp_path):
    """optuna's plots switch the process to ggplot; a tune in a notebook must not restyle the
    figures drawn after it (the lab's, the page's exports)."""
    import matplotlib

    from adamkit import cli

    def style():  # every setting but the backend's, which importing pyplot settles
        return {k: v for k, v in matplotlib.rcParams.items() if not k.startswith("backend")}

    before = style()
    assert cli.main(["tune", "--function", "booth", "--steps", "30", "--optimizers", "adam",
                     "--strategy", "random", "--trials", "4", "--out", str(tmp_path / "t")]) == 0
    assert list((tmp_path / "t" / "plots").glob("adam-*.png"))
    assert style() == before


def test_muon_on_a_test_function_says_why_in_one_line(tmp_path):
    done = run_tune("--function", "booth", "--optimizers", "muon", "--trials", "2",
                    "--out", str(tmp_path / "t"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("adamkit: error: muon acts on weight matrices") and \
        done.stderr.count("\n") == 1
