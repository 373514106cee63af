"""Tuning on lab functions: batched grids, TPE against the grid, Ctrl-C and --resume, errors."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time

import pytest
from tests.tune.conftest import run_tune, tune_command, tune_env

from adamkit.lab import engine
from adamkit.tune import search, space
from adamkit.tune.study import slot_config

optuna = pytest.importorskip("optuna")
ParameterGrid = pytest.importorskip("sklearn.model_selection").ParameterGrid

SEEDS_GRID = {"learning_rate": [0.001, 0.01, 0.1], "beta_1": [0.9, 0.95], "beta_2": [0.999, 0.9999]}


@pytest.fixture
def engine_calls(monkeypatch):
    """Every call of the batched engine, as the number of configurations it ran."""
    calls: list[int] = []
    real = engine.run

    def counted(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result.configurations)
        return result

    monkeypatch.setattr(engine, "run", counted)
    return calls


def _lines(out):
    return [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]


def test_the_seeds_grid_runs_in_parameter_grids_order_as_one_engine_call(tmp_path, engine_calls):
    report = search(function="rosenbrock", steps=50, optimizers=["adam"], space_spec=SEEDS_GRID,
                    strategy="grid", out=tmp_path / "g", plots=False)
    expected = [{"beta1": p["beta_1"], "beta2": p["beta_2"], "lr": p["learning_rate"]}
                for p in ParameterGrid(SEEDS_GRID)]
    lines = sorted(_lines(tmp_path / "g"), key=lambda r: r["number"])
    assert [r["config"] for r in lines] == expected
    assert [r["slot"] for r in lines] == list(range(12)) and all(r["batched"] for r in lines)
    assert engine_calls == [12]
    assert report.best["config"] in expected


def test_a_large_grid_and_a_random_batch_are_one_engine_call_each(tmp_path, engine_calls):
    search(function="booth", steps=20, optimizers=["adam", "sgd"],
           space_spec={"lr": "1e-4:1:40", "beta1": "0:0.99:50"}, strategy="grid",
           out=tmp_path / "g", plots=False)
    assert engine_calls == [2000, 40]  # sgd has no beta1: its grid is the 40 learning rates
    engine_calls.clear()
    report = search(function="booth", steps=20, optimizers=["adam"], strategy="random",
                    trials=500, out=tmp_path / "r", plots=False)
    assert engine_calls == [500] and len(report.trials) == 500


def test_random_batches_draw_the_configurations_of_one_at_a_time_trials(tmp_path):
    """Slot s's configuration is drawn from (seed, s): batched or not, worker or not."""
    report = search(function="booth", steps=10, optimizers=["adam"], strategy="random",
                    trials=5, seed=3, out=tmp_path / "r", plots=False)
    sp = space.build(["adam"], [{}], "random",
                     {"adam": set(engine.hyperparameter_names("adam"))})["adam"]
    for r in report.trials:
        assert r["config"] == pytest.approx(slot_config(sp, "random", 3, r["slot"]))


def test_tpe_finds_an_lr_within_2x_of_the_grids_best_in_fewer_trials(tmp_path):
    grid = search(function="rosenbrock", optimizers=["adam"], space_spec={"lr": "1e-4:1:50"},
                  strategy="grid", out=tmp_path / "grid", plots=False)
    best_lr = grid.best["config"]["lr"]
    tpe = search(function="rosenbrock", optimizers=["adam"], space_spec={"lr": "1e-4:1"},
                 strategy="tpe", trials=20, seed=0, out=tmp_path / "tpe", plots=False)
    ordered = sorted(tpe.trials, key=lambda r: r["number"])
    within = [r["number"] + 1 for r in ordered if abs(math.log2(r["config"]["lr"] / best_lr)) <= 1]
    # measured over seeds 0-9: 1 to 16 trials (median 9) against the grid's 50
    assert within and within[0] <= 20 < 50
    assert abs(math.log2(tpe.best["config"]["lr"] / best_lr)) <= 1


def _journal_trials(out):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if not (out / "study.journal").exists():
        return []
    storage = JournalStorage(JournalFileBackend(str(out / "study.journal")))
    try:
        return optuna.load_study(study_name="adamkit:adam", storage=storage).get_trials()
    except KeyError:
        return []


def test_ctrl_c_then_resume_completes_the_study_losing_and_repeating_nothing(tmp_path):
    out = tmp_path / "t"
    args = ["--function", "rosenbrock", "--steps", "6000", "--lr", "1e-4:1", "--trials", "16",
            "--out", str(out), "--quiet", "--no-plots"]
    worker = subprocess.Popen(tune_command(*args), cwd=tmp_path, env=tune_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and worker.poll() is None:
            if len([t for t in _journal_trials(out) if t.state.is_finished()]) >= 4:
                break
            time.sleep(0.05)
        worker.send_signal(signal.SIGINT)
        _, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:  # leave no process or pipe behind, whatever failed
            worker.kill()
            worker.communicate()
    assert worker.returncode == 130, err
    assert f"adamkit tune --out {out} --resume" in err
    before = {t.number: t for t in _journal_trials(out) if t.state.name == "COMPLETE"}
    assert 4 <= len(before) < 16

    done = run_tune("--out", str(out), "--resume", "--quiet", "--no-plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    trials = _journal_trials(out)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert sorted(t.user_attrs["slot"] for t in complete) == list(range(16))  # none lost or twice
    for number, t in before.items():  # finished trials were kept, not run again
        assert trials[number].value == t.value
        assert trials[number].datetime_complete == t.datetime_complete
    for failed in (t for t in trials if t.state.name == "FAIL"):  # the trial Ctrl-C stopped
        retried = [t for t in complete if t.user_attrs.get("retry_of") == failed.number]
        assert len(retried) == 1 and retried[0].user_attrs["slot"] == failed.user_attrs["slot"]
        if failed.params:  # (none when Ctrl-C came before its parameters were drawn)
            assert retried[0].params == failed.params
        assert retried[0].user_attrs["retry_reason"] == "interrupted"
    assert len(_lines(out)) == len(trials)


def test_resume_needs_a_study_and_a_new_run_will_not_mix_into_one(tmp_path):
    done = run_tune("--out", str(tmp_path / "none"), "--resume", cwd=tmp_path)
    assert done.returncode == 2 and "no study in" in done.stderr
    out = str(tmp_path / "t")
    assert run_tune("--function", "booth", "--trials", "2", "--steps", "5", "--out", out,
                    "--quiet", "--no-plots", cwd=tmp_path).returncode == 0
    again = run_tune("--function", "booth", "--trials", "2", "--out", out, cwd=tmp_path)
    assert again.returncode == 2 and "already holds a study" in again.stderr


@pytest.mark.parametrize("flags, words", [
    (["--space", "SPACE"], ["unknown hyperparameter 'learning_rat'"]),
    (["--lr", "1:1e-3"], ["empty range '1:1e-3' for lr"]),
    (["--beta1", "2"], ["2.0", "valid range of beta1: [0, 1)"]),
    (["--strategy", "bayes"], ["unknown strategy 'bayes'"]),
    (["--optimizers", "adamm"], ["unknown optimizer 'adamm'"]),
    (["--momentum", "0.9"], ["momentum does not apply to adam"]),
    (["--storage", "ftp://x/y"], ["malformed storage URL 'ftp://x/y'"]),
    (["--heartbeat", "0"], ["--heartbeat 0 must be >= 1"]),
    (["--out", "FILE"], ["is a file, not a folder"]),
])
def test_bad_input_is_one_line_naming_the_value(tmp_path, flags, words):
    (tmp_path / "space.json").write_text(json.dumps({"learning_rat": [0.1]}))
    files = {"SPACE": str(tmp_path / "space.json"), "FILE": str(tmp_path / "space.json")}
    flags = [files.get(f, f) for f in flags]
    done = run_tune("--function", "booth", "--out", str(tmp_path / "t"), *flags, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("adamkit: error: ")
    assert all(w in done.stderr for w in words), done.stderr
    # a refused run writes nothing, so the corrected command is not told to --resume
    assert not (tmp_path / "t").exists()


def test_timeout_stops_starting_trials_and_says_so(tmp_path):
    report = search(function="rosenbrock", steps=2000, optimizers=["adam"], trials=1000,
                    timeout=1.0, out=tmp_path / "t", plots=False)
    assert report.stopped == "timeout" and report.best["stopped"] == "timeout"
    assert 1 <= len(report.trials) < 1000
