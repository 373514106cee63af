"""adamkit train/compare/tune with the matrix optimizers on models with biases: Muon takes AdamW
beside it (MuonWithAdamW, the declaration's ``whole_model`` trait), Adafactor takes vectors itself;
a Muon run resumed mid-epoch is bitwise a straight run."""

from __future__ import annotations

import json
import math

import pytest
from tests.train.test_train_trainer import StopAfter, _assert_same_bits, _cfg

from adamkit import cli
from adamkit.train import TrainConfig, Trainer, checkpoint, optim_factory, train


def test_cli_trains_muon_on_a_model_with_biases(tmp_path, capsys):
    out = tmp_path / "muon"
    argv = ["train", "--optimizer", "muon", "--dataset", "digits", "--model", "mlp", "--epochs", "1",
            "--out", str(out), "--quiet", "--no-plots", "--json"]
    assert cli.main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert math.isfinite(summary["test_loss"]) and summary["test_accuracy"] > 0.1


def test_the_trainer_builds_muon_with_adamw_for_a_whole_model(tmp_path):
    trainer = Trainer(_cfg(optimizer="muon", model="mlp", epochs=1), tmp_path, quiet=True, plots=False)
    opt = trainer.optimizer
    assert type(opt).__name__ == "MuonWithAdamW"
    kinds = {g["use_muon"]: {p.ndim for p in g["params"]} for g in opt.param_groups}
    assert kinds == {True: {2}, False: {1}}  # the weights Muon's, the biases AdamW's
    assert optim_factory.optimizer_class("adafactor").__name__ == "Adafactor"  # takes vectors itself


@pytest.mark.parametrize("name", ["muon", "adafactor"])
def test_one_epoch_reduces_the_loss(tmp_path, name):
    cfg = _cfg(optimizer=name, model="mlp", epochs=1)
    result = train(cfg, tmp_path, quiet=True, plots=False)
    assert math.isfinite(result.summary["test_loss"])
    assert result.summary["test_loss"] < math.log(10)  # below chance's cross-entropy


def test_resume_mid_epoch_is_bitwise(tmp_path):
    cfg: TrainConfig = _cfg(optimizer="muon", model="mlp", lr=2e-2, weight_decay=0.05)
    straight = train(cfg, tmp_path / "straight", quiet=True, plots=False)
    steps_per_epoch = straight.summary["steps"] // cfg.epochs
    first = Trainer(cfg, tmp_path / "resumed", quiet=True, plots=False).run(
        stop=StopAfter(steps_per_epoch + steps_per_epoch // 3))
    assert first.interrupted
    state, _, _ = checkpoint.load_latest(tmp_path / "resumed" / "checkpoints")
    assert 0 < state["batch"] < steps_per_epoch
    assert [g["use_muon"] for g in state["optimizer"]["param_groups"]] == [True, False]
    train(cfg, tmp_path / "resumed", resume=True, quiet=True, plots=False)
    _assert_same_bits(tmp_path / "straight", tmp_path / "resumed")


def test_compare_and_its_check_take_muon(tmp_path, capsys):
    argv = ["compare", "--optimizers", "muon,adam", "--dataset", "digits", "--model", "mlp",
            "--epochs", "1", "--out", str(tmp_path / "cmp"), "--quiet", "--no-plots", "--json"]
    assert cli.main(argv) == 0
    table = {row["optimizer"]: row for row in json.loads(capsys.readouterr().out)["table"]}
    assert set(table) == {"muon", "adam"} and math.isfinite(table["muon"]["test_loss"])


def test_tune_with_a_training_objective_takes_muon(tmp_path):
    pytest.importorskip("optuna")
    out = tmp_path / "tune"
    argv = ["tune", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--optimizers", "muon",
            "--trials", "1", "--out", str(out), "--quiet", "--no-plots"]
    assert cli.main(argv) == 0
    best = json.loads((out / "best.json").read_text())
    assert best["optimizer"] == "muon" and best["per_optimizer"]["muon"]["complete"] == 1
