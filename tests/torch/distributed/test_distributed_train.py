"""``adamkit train --nproc 2`` (DDP) and ``--shard`` (FSDP2) end to end through torch's elastic
launcher (gloo, 127.0.0.1), resume included; flag errors; the data split."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tests.torch.distributed.harness import free_port
from torch.utils.data import DistributedSampler

from adamkit.cli import main
from adamkit.train import checkpoint, datasets, models
from adamkit.train.distributed import Runtime

FAST = ["--recipe", "digits", "--schedule", "constant", "--quiet", "--no-plots", "--threads", "1"]


def adamkit(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "adamkit.cli", "train", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_ddp_two_processes_then_resume_from_the_first_epoch_is_bitwise(tmp_path):
    straight = adamkit(*FAST, "--nproc", "2", "--epochs", "2", "--out", str(tmp_path / "a"),
                       "--master-port", str(free_port()))
    assert straight.returncode == 0, straight.stderr
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["distributed"] == {"world_size": 2, "mode": "ddp", "backend": "gloo"}
    assert len(metrics(tmp_path / "a")) == 2  # written once, by rank 0
    assert summary["test_accuracy"] > 0.8
    # 1437 examples padded to 1438, global batches of 32 split 16 + 16: 45 steps an epoch
    assert summary["steps"] == 90
    # the same run cut after its first epoch: keep only that checkpoint, resume
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "checkpoints" / "step-000000090.ckpt").unlink()
    resumed = adamkit(*FAST, "--nproc", "2", "--epochs", "2", "--out", str(tmp_path / "b"),
                      "--resume")
    assert resumed.returncode == 0, resumed.stderr
    a, b = metrics(tmp_path / "a"), metrics(tmp_path / "b")
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]
    wa = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    wb = torch.load(tmp_path / "b" / "model.pt", weights_only=True)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["resumed_from"]


def test_fsdp2_shard_8bit_states_train_and_resume(tmp_path):
    out = tmp_path / "s"
    common = [*FAST, "--nproc", "2", "--shard", "--state-precision", "8bit", "--out", str(out)]
    first = adamkit(*common, "--epochs", "1")
    assert first.returncode == 0, first.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["distributed"]["mode"] == "fsdp2" and summary["test_accuracy"] > 0.8
    # the checkpoint holds the full (gathered) model: it loads into an unsharded one
    weights = torch.load(out / "model.pt", weights_only=True)
    models.build("digits-cnn", datasets.load("digits", "data")).load_state_dict(weights)
    resumed = adamkit(*common, "--epochs", "2", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert [r["epoch"] for r in metrics(out)] == [1, 2]

def test_a_single_process_cannot_resume_a_distributed_run(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["train", *FAST, "--epochs", "1", "--batch-size", "256", "--out", str(out)]) == 0
    ckpt = checkpoint.list_checkpoints(out / "checkpoints")[0]
    state = checkpoint.load(ckpt)
    state["distributed"] = {"world_size": 2, "mode": "fsdp2", "backend": "gloo"}
    checkpoint.save(state, ckpt)
    capsys.readouterr()
    assert main(["train", *FAST, "--epochs", "2", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "this run is one process" in err and "2 processes (fsdp2)" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--nproc", "0"], "--nproc must be >= 1 (processes per node), got 0"),
    (["--nproc", "-3"], "got -3"),
    (["--shard"], "--shard needs --nproc N"),
    (["--nnodes", "2"], "--nnodes needs --nproc N"),
    (["--nproc", "2", "--batch-size", "33"], "--batch-size 33 is the global batch: it must be a "
                                              "multiple of the world size 2"),
    (["--nproc", "2", "--nnodes", "2", "--batch-size", "34"], "world size 4"),
    (["--nproc", "2", "--master-port", "70000"], "--master-port must be 1..65535, got 70000"),
    (["--nproc", "2", "--rdzv-backend", "etcd"], "valid: static, c10d"),
    (["--nproc", "2", "--shard", "--diagnostics"], "--diagnostics reads whole layers, which "
     "--shard splits over the processes; valid: --diagnostics alone or with --nproc (DDP)"),
])
def test_bad_distributed_flags_are_one_line(tmp_path, capsys, args, message):
    assert main(["train", *args, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("n, world", [(10, 3), (9, 3), (7, 2), (5, 4)])
def test_each_rank_takes_distributed_samplers_share(n, world):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(n))
    for rank in range(world):
        rt = Runtime(rank, world)
        mine = rt.local(rt.pad(order)).tolist()
        sampler = DistributedSampler(order.tolist(), num_replicas=world, rank=rank, shuffle=False)
        assert mine == [order[i].item() for i in sampler]
