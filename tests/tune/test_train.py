"""Tuning a training recipe: per-epoch reports, pruning, the ready command, the plots."""

from __future__ import annotations

import json
import shlex

import pytest

pytest.importorskip("torch")
optuna = pytest.importorskip("optuna")

from adamkit import cli  # noqa: E402
from adamkit.tune import search  # noqa: E402

# digits with the small MLP: about 0.1 s an epoch on one thread
DIGITS = {"dataset": "digits", "model": "mlp", "epochs": 3}


@pytest.fixture(scope="module")
def pruned_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune") / "digits"
    # lr over 1e-5..1: the first trials set the median, hopeless ones are then cut early
    report = search(train=DIGITS, optimizers=["adam"], space_spec={"lr": "1e-5:1"},
                    strategy="random", trials=10, seed=1, pruner="median", out=out)
    return report, out


def test_poor_trials_are_pruned_after_an_epoch_report(pruned_study):
    report, out = pruned_study
    pruned = [r for r in report.trials if r["state"] == "pruned"]
    complete = [r for r in report.trials if r["state"] == "complete"]
    assert pruned, [r["intermediate"] for r in report.trials]
    assert all(len(r["intermediate"]) < DIGITS["epochs"] for r in pruned)
    assert all(len(r["intermediate"]) == DIGITS["epochs"] for r in complete)
    assert len(pruned) + len(complete) == 10
    for r in complete:  # the value is the last epoch's test loss, as the trainer wrote it
        metrics = (out / "trials" / f"adam-{r['number']:05d}" / "metrics.jsonl").read_text()
        last = json.loads(metrics.splitlines()[-1])
        assert r["value"] == pytest.approx(last["test_loss"])
        assert r["intermediate"][str(DIGITS["epochs"])] == pytest.approx(last["test_loss"])


def test_best_json_holds_a_ready_adamkit_train_command(pruned_study, tmp_path):
    report, out = pruned_study
    best = json.loads((out / "best.json").read_text())
    assert best["metric"] == "test_loss" and best["direction"] == "minimize"
    winner = min((r for r in report.trials if r["state"] == "complete"), key=lambda r: r["value"])
    assert best["config"] == winner["config"]
    argv = shlex.split(best["command"])
    assert argv[:2] == ["adamkit", "train"] and f"{winner['config']['lr']:.6g}" in argv
    argv[argv.index("--epochs") + 1] = "1"
    assert cli.main([*argv[1:], "--out", str(tmp_path / "run"), "--quiet", "--no-plots"]) == 0


def test_the_plots_are_written(pruned_study):
    report, out = pruned_study
    names = {p.name for p in report.plots}
    assert {"adam-history.png", "adam-parallel.png", "lr.png"} <= names
    assert all(p.stat().st_size > 10_000 for p in report.plots)


def test_hyperband_prunes_and_every_slot_finishes(tmp_path):
    report = search(train={**DIGITS, "epochs": 4}, optimizers=["adam"],
                    space_spec={"lr": "1e-5:1", "beta2": "0.9:0.9999"}, strategy="tpe",
                    trials=8, pruner="hyperband", out=tmp_path / "h", plots=False)
    finished = [r for r in report.trials if r["state"] in ("complete", "pruned")]
    assert sorted(r["slot"] for r in finished) == list(range(8))
    assert any(r["state"] == "pruned" for r in finished)  # measured: 10 of 16 on this recipe


def test_several_optimizers_get_the_same_budget_and_their_own_space(tmp_path):
    report = search(train={**DIGITS, "epochs": 1}, optimizers=["adam", "sgd"],
                    space_spec={"lr": "1e-3,1e-2", "beta1": "0.8,0.9", "momentum": "0,0.9"},
                    strategy="grid", out=tmp_path / "g", plots=False, pruner="none")
    by = {o: [r["config"] for r in report.trials if r["optimizer"] == o] for o in ("adam", "sgd")}
    assert by["adam"] == [{"beta1": b, "lr": lr} for b in (0.8, 0.9) for lr in (1e-3, 1e-2)]
    assert by["sgd"] == [{"lr": lr, "momentum": m} for lr in (1e-3, 1e-2) for m in (0.0, 0.9)]
