"""The trainer: outputs, determinism, bitwise resume (also mid-epoch and after SIGINT), fallback
from a corrupt checkpoint, every model reducing its loss, diagnostics, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tests.train.conftest import write_cifar_like, write_mnist_like

from adamkit import cli
from adamkit.errors import UsageError
from adamkit.train import TrainConfig, Trainer, checkpoint, recipes, tasks, train
from adamkit.train.trainer import TIMING_FIELDS, StopRequest

FAST_DIGITS = dict(recipes.get("digits"), epochs=2)


def _cfg(**changes) -> TrainConfig:
    return TrainConfig.from_dict({**FAST_DIGITS, **changes})


def _metrics(out: Path) -> list[dict]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING_FIELDS} for line in lines]


def _weights(out: Path) -> dict:
    return torch.load(out / "model.pt", weights_only=True)


def _assert_same_bits(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    assert _metrics(a) == _metrics(b)


class StopAfter(StopRequest):
    """Asks to stop after ``n`` checks (the loop checks once per optimizer step)."""

    def __init__(self, n: int):
        super().__init__()
        self.left = n

    @property
    def requested(self) -> bool:
        self.left -= 1
        if self.left <= 0 and self.signum is None:
            self.signum = signal.SIGINT
        return self.signum is not None


# -- outputs --------------------------------------------------------------------------------------
def test_digits_run_writes_metrics_summary_curves(tmp_path):
    result = train(_cfg(), tmp_path, quiet=True)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    for key in ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr",
                "seconds", "samples_per_second"):
        assert key in first
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("test_accuracy", "test_loss", "epochs", "seconds", "config", "versions"):
        assert key in summary
    assert summary["epochs"] == 2 and summary["config"]["model"] == "digits-cnn"
    assert summary["versions"]["torch"] == torch.__version__
    assert summary["test_accuracy"] == result.history[-1]["test_accuracy"] > 0.5
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    assert (tmp_path / "model.pt").is_file()
    assert len(list((tmp_path / "checkpoints").glob("*.ckpt"))) == 2


def test_same_seed_same_bits_other_seed_other_bits(tmp_path):
    train(_cfg(epochs=1), tmp_path / "a", quiet=True)
    train(_cfg(epochs=1), tmp_path / "b", quiet=True)
    train(_cfg(epochs=1, seed=1), tmp_path / "c", quiet=True)
    _assert_same_bits(tmp_path / "a", tmp_path / "b")
    assert not torch.equal(_weights(tmp_path / "a")["0.weight"], _weights(tmp_path / "c")["0.weight"])


# -- resume ---------------------------------------------------------------------------------------
RESUME_CASES = {
    "digits-adam-onecycle-dropout-diagnostics": dict(diagnostics=True, diagnostics_every=7),
    "digits-sgd-momentum-clip-warmup": dict(optimizer="sgd", lr=0.05, momentum=0.9,
                                            clip_global_norm=1.0, schedule="cosine",
                                            warmup_epochs=0.5),
    "sparse-text-sparse-adam": dict(
        recipe="sparse-text", dataset="sparse-text", model="text-bag", optimizer="sparse_adam",
        lr=1e-2, batch_size=32, schedule="constant", weight_decay=1e-4,
        dataset_options={"vocab_size": 3000, "train_size": 320, "test_size": 64}),
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
@pytest.mark.parametrize("epoch", [1, 2])
def test_resume_mid_epoch_is_bitwise(tmp_path, case, epoch):
    cfg = _cfg(**RESUME_CASES[case])
    straight = train(cfg, tmp_path / "straight", quiet=True)
    steps_per_epoch = straight.summary["steps"] // cfg.epochs
    stop_after = (epoch - 1) * steps_per_epoch + steps_per_epoch // 3 + 1
    first = Trainer(cfg, tmp_path / "resumed", quiet=True).run(stop=StopAfter(stop_after))
    assert first.interrupted and not (tmp_path / "resumed" / "model.pt").exists()
    state, _, _ = checkpoint.load_latest(tmp_path / "resumed" / "checkpoints")
    assert state["epoch"] == epoch - 1 and 0 < state["batch"] < steps_per_epoch
    second = train(cfg, tmp_path / "resumed", resume=True, quiet=True)
    assert not second.interrupted and second.summary["resumed_from"].endswith(".ckpt")
    _assert_same_bits(tmp_path / "straight", tmp_path / "resumed")
    if cfg.diagnostics:
        a = json.loads((tmp_path / "straight" / "diagnostics.json").read_text())
        b = json.loads((tmp_path / "resumed" / "diagnostics.json").read_text())
        assert a == b
    assert straight.summary["test_loss"] == second.summary["test_loss"]


def test_corrupt_newest_checkpoint_falls_back_and_still_matches(tmp_path, capsys):
    cfg = _cfg(epochs=3)
    train(cfg, tmp_path / "straight", quiet=True)
    Trainer(cfg, tmp_path / "run", quiet=True).run(stop=StopAfter(45 * 2 + 10))
    ckpts = sorted((tmp_path / "run" / "checkpoints").glob("*.ckpt"))
    assert len(ckpts) == 2  # end of epoch 2 and the interrupt inside epoch 3
    newest = ckpts[-1]
    newest.write_bytes(newest.read_bytes()[:-1000])  # truncated, as by a crash or a full disk
    result = train(cfg, tmp_path / "run", resume=True, quiet=True)
    assert len(result.warnings) == 1 and str(newest) in result.warnings[0]
    assert "falling back to" in capsys.readouterr().err
    assert result.summary["warnings"] == result.warnings
    _assert_same_bits(tmp_path / "straight", tmp_path / "run")


@pytest.mark.slow
def test_sigint_mid_epoch_then_resume_is_bitwise(tmp_path):
    """A real SIGINT to a real ``adamkit train`` process, mid-epoch; ``--resume`` finishes it."""
    args = ["--recipe", "digits", "--epochs", "2", "--batch-size", "4", "--quiet"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    run = [sys.executable, "-m", "adamkit.cli", "train", *args]
    straight = subprocess.run([*run, "--out", str(tmp_path / "straight")], env=env,
                              capture_output=True, text=True, timeout=120)
    assert straight.returncode == 0, straight.stderr
    proc = subprocess.Popen([*run, "--out", str(tmp_path / "cut"), "--log-every", "1"], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if line.startswith("epoch 2 batch 30/"):  # 360 batches per epoch
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 130, rest
    finally:
        proc.kill()
        proc.stderr.close()
    assert "SIGINT: stopped at epoch 2" in rest and "--resume" in rest
    ckpt = max((tmp_path / "cut" / "checkpoints").glob("*.ckpt"))
    state = checkpoint.load(ckpt)
    assert state["epoch"] == 1 and 30 <= state["batch"] < 360  # mid-epoch 2
    resumed = subprocess.run([*run[:4], "--out", str(tmp_path / "cut"), "--resume", "--quiet"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_bits(tmp_path / "straight", tmp_path / "cut")


# -- every model learns -------------------------------------------------------------------------------
def _loss_drop(cfg: TrainConfig, out: Path, dataset=None) -> tuple[float, float]:
    trainer = Trainer(cfg, out, quiet=True, dataset=dataset)
    ds = trainer.ds
    before = tasks.evaluate(trainer.model, ds.task, ds.x_test, ds.y_test, 256)["loss"]
    result = trainer.run()
    return before, result.summary["test_loss"]


@pytest.mark.parametrize("changes", [
    dict(recipe="shapes", dataset="shapes", model="unet", lr=3e-3, batch_size=16, epochs=3,
         schedule="constant", dataset_options={"image_size": 16, "train_size": 96, "test_size": 32}),
    dict(recipe="sparse-text", dataset="sparse-text", model="text-bag", optimizer="sparse_adam",
         lr=3e-2, batch_size=32, epochs=3, schedule="constant",
         dataset_options={"vocab_size": 3000, "train_size": 400, "test_size": 100}),
    dict(recipe="regression", dataset="regression", model="regression-mlp", lr=3e-3,
         batch_size=32, epochs=5, schedule="constant",
         dataset_options={"train_size": 300, "test_size": 100}),
], ids=["unet", "sparse-text", "regression"])
def test_generated_tasks_reduce_their_loss(tmp_path, changes):
    before, after = _loss_drop(_cfg(**changes), tmp_path)
    assert after < 0.7 * before, (before, after)


def test_cifar_cnn_trains_on_cifar_batches(tmp_path):
    write_cifar_like(tmp_path / "data", per_batch=40)
    cfg = _cfg(recipe="cifar10", dataset="cifar10", model="cifar-cnn", data_dir=str(tmp_path / "data"),
               lr=2e-3, batch_size=20, epochs=4, schedule="constant")
    before, after = _loss_drop(cfg, tmp_path / "out")
    assert after < 0.7 * before, (before, after)


@pytest.mark.parametrize("model", ["mnist-cnn", "seed-cnn", "mlp"])
def test_mnist_models_train_on_idx_files(tmp_path, model):
    write_mnist_like(tmp_path / "data", n_train=200, n_test=50)
    cfg = _cfg(recipe="mnist", dataset="mnist", model=model, data_dir=str(tmp_path / "data"),
               lr=3e-3, batch_size=25, epochs=2, schedule="constant")
    before, after = _loss_drop(cfg, tmp_path / "out")
    assert after < 0.5 * before, (before, after)


# -- diagnostics ------------------------------------------------------------------------------------
def test_diagnostics_first_step_moves_each_coordinate_by_lr(tmp_path):
    """Adam's first step: m_hat/sqrt(v_hat) = g/|g| = ±1, so the effective step is lr (eps aside)."""
    cfg = _cfg(epochs=1, schedule="constant", lr=1e-3, diagnostics=True, diagnostics_every=10)
    train(cfg, tmp_path, quiet=True)
    diag = json.loads((tmp_path / "diagnostics.json").read_text())
    first = diag["records"][0]
    assert first["step"] == 1 and [r["step"] for r in diag["records"][1:3]] == [10, 20]
    for name in ("0.weight", "2.weight", "7.weight"):
        layer = first["layers"][name]
        assert layer["effective_step"][2] == pytest.approx(1e-3, rel=1e-3)  # median
        assert layer["effective_step"][4] <= 1e-3 * (1 + 1e-6)  # never more than lr
        assert 0 <= layer["eps_share"] <= 1 and layer["update_ratio"] > 0
    assert set(first["layers"]) == set(diag["layers"])
    assert (tmp_path / "diagnostics.png").stat().st_size > 10_000


def test_diagnostics_for_non_adam_optimizers_record_update_ratio(tmp_path):
    cfg = _cfg(epochs=1, optimizer="sgd", lr=0.05, momentum=0.9, diagnostics=True)
    train(cfg, tmp_path, quiet=True)
    diag = json.loads((tmp_path / "diagnostics.json").read_text())
    assert not diag["adam_internals"]
    layer = diag["records"][-1]["layers"]["0.weight"]
    assert layer["update_ratio"] > 0 and "effective_step" not in layer
    assert (tmp_path / "diagnostics.png").is_file()


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, message", [
    (dict(epochs=0), "--epochs must be >= 1, got 0"),
    (dict(batch_size=0), "--batch-size must be >= 1"),
    (dict(threads=0), "--threads must be >= 1"),
    (dict(threads=1.5), "--threads must be a positive integer, got 1.5"),
    (dict(optimizer="adamx"), r"unknown optimizer 'adamx'; valid: (\w+, )*adagrad, adam, "),
    (dict(momentum=0.9), "--momentum does not apply to optimizer adam; valid for: .*rmsprop, sgd"),
    (dict(model="unet"), "model unet needs a segmentation data set"),
    (dict(model="text-bag"), "model text-bag needs a text data set"),
    (dict(model="seed-cnn"), "seed-cnn needs images of at least 16x16"),
    (dict(model="resnet"), "unknown model 'resnet'; valid:"),
    (dict(model="regression-mlp"), "model regression-mlp does not fit data set 'digits'"),
    (dict(dataset="regression", model="mlp"), "model mlp does not fit data set 'regression'"),
    (dict(schedule="cosinus"), "unknown schedule 'cosinus'; valid:"),
    (dict(schedule="step:x"), "is not a number"),
    (dict(warmup_epochs=5), "covers the whole run"),
    (dict(lr=-1.0), "lr"),
    (dict(dataset="mnist", data_dir="/nonexistent"), "missing file"),
])
def test_bad_configs_are_one_line_errors(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message) as info:
        train(_cfg(**changes), tmp_path, quiet=True)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, UsageError)  # what the CLI shows as one line


def test_resume_errors(tmp_path):
    with pytest.raises(UsageError, match="no checkpoint"):
        train(_cfg(), tmp_path / "none", resume=True, quiet=True)
    train(_cfg(epochs=1), tmp_path / "a", quiet=True)
    with pytest.raises(UsageError, match="lr=0.5 differs from the checkpoint's 0.003"):
        train(_cfg(epochs=1, lr=0.5), tmp_path / "a", resume=True, quiet=True)


def test_cli_resume_takes_the_checkpoints_config_and_more_epochs(tmp_path, capsys):
    out = str(tmp_path / "r")
    assert cli.main(["train", "--epochs", "1", "--lr", "0.002", "--out", out, "--quiet"]) == 0
    assert cli.main(["train", "--out", out, "--resume", "--epochs", "2", "--quiet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs"] == 2 and summary["config"]["lr"] == 0.002
    assert cli.main(["train", "--out", out, "--resume", "--lr", "0.1"]) == 2
    assert "differs from the checkpoint's 0.002" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["train", "--optimizer", "adamx"], "argument --optimizer: invalid choice: 'adamx'"),
    (["train", "--recipe", "mnits"], "unknown recipe 'mnits'; valid:"),
    (["train", "--momentum", "0.9", "--epochs", "1"], "--momentum does not apply to optimizer adam"),
    (["train", "--epochs", "x"], "invalid int value: 'x'"),
    (["train", "--lr", "-1", "--epochs", "1"], "adam: Invalid learning rate: -1.0"),
    (["train", "--clip-global-norm", "0", "--epochs", "1"], "invalid clip_global_norm 0.0"),
    (["compare", "--optimizers", "adam,nope", "--epochs", "1"], "unknown optimizer 'nope'"),
    (["compare", "--optimizers", ","], "--optimizers is empty"),
    (["train", "--schedule", "step:0,0.5"], "schedule step: step_size=0 is out of range; valid: >= 1"),
    (["train", "--threads", "0"], "--threads must be >= 1 and <= 256, got 0"),
    (["train", "--threads", "100000"], "--threads must be >= 1 and <= 256, got 100000"),
    (["train", "--threads", "two"], "argument --threads: must be a positive integer, got 'two'"),
    (["train", "--threads", "1.5"], "argument --threads: must be a positive integer, got '1.5'"),
    (["train", "--log-every", "-1"], "--log-every -1 must be >= 1 (a line every N batches) or 0"),
    (["train", "--resume", "--overwrite"], "--resume continues the run in OUT, --overwrite"),
])
def test_cli_bad_values_exit_2_with_one_line(tmp_path, capsys, argv, message):
    assert cli.main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_help_explains(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "seed-adaptive-lr" in text and "--resume" in text and "--diagnostics" in text


def test_recipe_flags_override_and_optimizer_switch_drops_foreign_fields():
    from types import SimpleNamespace

    from adamkit.train.cli import CONFIG_FLAGS, resolve_config

    args = SimpleNamespace(recipe="seed-cifar-cnn", **{k: None for k in CONFIG_FLAGS})
    cfg, _ = resolve_config(args)
    assert cfg.eps == 1e-7 and cfg.batch_size == 32
    args.optimizer, args.lr = "sgd", 0.1
    cfg, given = resolve_config(args)
    assert cfg.optimizer == "sgd" and cfg.eps is None and cfg.lr == 0.1 and "eps" not in given


def test_every_recipe_builds(tmp_path):
    """Each named recipe resolves to a valid model/optimizer/schedule (file sets from test files)."""
    write_mnist_like(tmp_path, n_train=20, n_test=10)
    write_cifar_like(tmp_path, per_batch=4, test=4)
    for name in recipes.RECIPES:
        cfg = TrainConfig.from_dict({**recipes.get(name), "data_dir": str(tmp_path)})
        opts = dict(cfg.dataset_options)
        if cfg.dataset == "shapes":
            opts.update(train_size=4, test_size=2)
        if cfg.dataset == "sparse-text":
            opts.update(vocab_size=1000, train_size=8, test_size=4)
        cfg.dataset_options = opts
        trainer = Trainer(cfg, tmp_path / name, quiet=True)
        assert trainer.total_steps > 0, name


def test_progress_bar_shows_loss_rate_and_eta(tmp_path, capsys):
    train(_cfg(epochs=1), tmp_path, quiet=False, progress=True, plots=False)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "samples/s" in err and "loss=" in err and "<" in err  # ETA
    assert "epoch 1/1: train loss" in err  # the per-epoch line


def test_sigterm_is_handled_like_sigint(tmp_path, capsys):
    class TermAfter(StopAfter):
        @property
        def requested(self) -> bool:
            self.left -= 1
            if self.left <= 0 and self.signum is None:
                self.signum = signal.SIGTERM
            return self.signum is not None

    result = Trainer(_cfg(), tmp_path, quiet=True).run(stop=TermAfter(5))
    assert result.interrupted and result.summary["interrupted"] is True
    assert "SIGTERM: stopped at epoch 1 batch 5" in capsys.readouterr().err


def test_stop_request_turns_a_second_signal_into_keyboard_interrupt():
    stop = StopRequest()
    stop(signal.SIGINT, None)
    assert stop.requested
    with pytest.raises(KeyboardInterrupt):
        stop(signal.SIGINT, None)


def test_no_plots_flag(tmp_path):
    assert cli.main(["train", "--epochs", "1", "--out", str(tmp_path), "--quiet", "--no-plots"]) == 0
    assert (tmp_path / "summary.json").is_file() and not (tmp_path / "curves.png").exists()


def test_adamkit_train_with_no_flags_reaches_97_5_percent(tmp_path, capsys, monkeypatch):
    """The main job: ``adamkit train`` alone (digits) must reach >= 97.5% test accuracy.
    (Its time, ~2 s of training, is measured in benchmarks/train_overhead.py, not here.)"""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--quiet", "--json", "--no-plots"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"]["recipe"] == "digits" and summary["epochs"] == 12
    assert summary["test_accuracy"] >= 0.975
    assert (tmp_path / "runs" / "digits" / "summary.json").is_file()


@pytest.mark.parametrize("n", [1, 2, 7, 4096])
def test_diagnostics_quantiles_equal_numpy(n):
    import numpy as np

    from adamkit.train.diagnostics import QUANTILES, _quantiles

    x = torch.randn(n, generator=torch.Generator().manual_seed(n))
    np.testing.assert_allclose(_quantiles(x), np.quantile(x.double().numpy(), QUANTILES), rtol=1e-12)


def test_run_restores_process_wide_settings(tmp_path):
    from adamkit.train.trainer import flushes_denormals

    threads = torch.get_num_threads()
    assert not flushes_denormals()
    train(_cfg(epochs=1, threads=threads + 1), tmp_path, quiet=True, plots=False)
    assert torch.get_num_threads() == threads and not flushes_denormals()


def _threads_per_epoch(cfg, out, **kwargs):
    """Run ``cfg``; the thread count torch had at the end of each epoch, and the result."""
    seen: list[int] = []
    result = Trainer(cfg, out, quiet=True, plots=False,
                     on_epoch=lambda record: seen.append(torch.get_num_threads())).run(**kwargs)
    return seen, result


def test_default_threads_are_torchs_and_recorded(tmp_path):
    default = torch.get_num_threads()
    seen, result = _threads_per_epoch(_cfg(epochs=1), tmp_path / "default")
    assert seen == [default] and result.summary["threads"] == default
    assert result.summary["config"]["threads"] is None
    assert json.loads((tmp_path / "default" / "summary.json").read_text())["threads"] == default
    seen, result = _threads_per_epoch(_cfg(epochs=1, threads=default + 1), tmp_path / "more")
    assert seen == [default + 1] and result.summary["threads"] == default + 1
    assert torch.get_num_threads() == default


def test_resume_uses_the_thread_count_the_run_used(tmp_path, capsys):
    default = torch.get_num_threads()
    out = tmp_path / "run"
    first = Trainer(_cfg(), out, quiet=True, plots=False).run(stop=StopAfter(50))
    assert first.interrupted and first.summary["threads"] == default
    torch.set_num_threads(default + 1)  # as on a machine with another default
    try:
        seen, second = _threads_per_epoch(_cfg(), out, resume=True)
        assert seen == [default] and second.summary["threads"] == default
        with pytest.raises(UsageError, match=f"threads={default + 1} differs from the {default} "):
            train(_cfg(threads=default + 1), out, resume=True, quiet=True, plots=False)
        argv = ["train", "--out", str(out), "--resume", "--quiet", "--no-plots"]
        capsys.readouterr()  # the first run's line about its stop
        assert cli.main([*argv, "--threads", str(default + 1)]) == 2
        err = capsys.readouterr().err
        assert f"--threads {default + 1} differs from the {default} the checkpointed run" in err
        assert err.count("\n") == 1
        assert cli.main([*argv, "--threads", str(default), "--epochs", "3", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["threads"] == default
    finally:
        torch.set_num_threads(default)


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_train_twice_into_the_default_folder_keeps_the_first_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--epochs", "1", "--quiet", "--no-plots"]
    assert cli.main(argv) == 0
    out = tmp_path / "runs" / "digits"
    first = _files(out)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "--out runs/digits holds an earlier run (checkpoints, metrics.jsonl, model.pt, " in err
    assert "--resume to continue it, --overwrite to replace it" in err and err.count("\n") == 1
    assert _files(out) == first
    # a mistake found after the folder check (here --epochs) leaves the run in place too
    assert cli.main([*argv, "--overwrite", "--epochs", "0"]) == 2
    assert _files(out) == first
    (out / "notes.txt").write_text("mine")
    assert cli.main([*argv, "--overwrite", "--seed", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["seed"] == 1 and (out / "notes.txt").read_text() == "mine"


def test_an_interrupted_runs_checkpoints_are_not_deleted_by_a_fresh_run(tmp_path, capsys):
    out = tmp_path / "cut"
    ckpt = out / "checkpoints" / "step-000000007.ckpt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"the interrupted run")
    assert cli.main(["train", "--epochs", "1", "--out", str(out), "--quiet"]) == 2
    assert "holds an earlier run (checkpoints)" in capsys.readouterr().err
    assert ckpt.read_bytes() == b"the interrupted run"


def test_compare_checks_every_optimizer_before_the_first_trains(tmp_path, capsys):
    out = tmp_path / "c"
    argv = ["compare", "--optimizers", "sgd,adagrad,adam", "--betas", "0.9", "1.5", "--epochs",
            "1", "--out", str(out), "--quiet"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "adam: Invalid beta parameter at index 1: 1.5" in err and err.count("\n") == 1
    assert not out.exists()  # nothing trained


def test_compare_refuses_an_earlier_comparison(tmp_path, capsys):
    argv = ["compare", "--optimizers", "adam", "--epochs", "1", "--out", str(tmp_path), "--quiet",
            "--no-plots"]
    assert cli.main(argv) == 0
    first = _files(tmp_path)
    assert cli.main([*argv[:2], "sgd", *argv[3:]]) == 2
    assert "holds an earlier run (adam, compare.json)" in capsys.readouterr().err
    assert _files(tmp_path) == first
    assert cli.main([*argv[:2], "sgd", *argv[3:], "--overwrite"]) == 0
    assert not (tmp_path / "adam").exists() and (tmp_path / "sgd" / "summary.json").is_file()
