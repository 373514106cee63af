"""Checkpoint files: atomic, verified, the last two kept, damage named and skipped."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from adamkit.errors import UsageError
from adamkit.train import checkpoint


def _payload(step):
    return {"step": step, "weights": torch.arange(5.0) * step, "nested": {"a": [1, 2.5, "x"]}}


def test_round_trip_and_naming(tmp_path):
    path = checkpoint.save(_payload(3), checkpoint.path_for(tmp_path, 3))
    assert path.name == "step-000000003.ckpt"
    loaded = checkpoint.load(path)
    assert loaded["step"] == 3 and torch.equal(loaded["weights"], torch.arange(5.0) * 3)
    assert loaded["nested"] == {"a": [1, 2.5, "x"]}
    assert path.read_bytes().startswith(checkpoint.MAGIC)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_keeps_the_last_two(tmp_path):
    for step in (1, 5, 12, 30):
        checkpoint.save(_payload(step), checkpoint.path_for(tmp_path, step))
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == [
        "step-000000030.ckpt", "step-000000012.ckpt"]


@pytest.mark.parametrize("damage, reason", [
    (lambda b: b[: len(b) // 2], "SHA-256 mismatch"),
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "SHA-256 mismatch"),
    (lambda b: b"garbage" + b, "not an adamkit checkpoint"),
    (lambda b: b[: len(checkpoint.MAGIC) + 10], "truncated"),
    (lambda b: b"", "not an adamkit checkpoint"),
])
def test_damage_is_reported_by_name(tmp_path, damage, reason):
    path = checkpoint.save(_payload(1), checkpoint.path_for(tmp_path, 1))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(checkpoint.CorruptCheckpoint, match=reason) as info:
        checkpoint.load(path)
    assert str(path) in str(info.value)


def test_falls_back_to_the_previous_good_checkpoint(tmp_path):
    checkpoint.save(_payload(1), checkpoint.path_for(tmp_path, 1))
    newest = checkpoint.save(_payload(2), checkpoint.path_for(tmp_path, 2))
    newest.write_bytes(newest.read_bytes()[:100])
    messages = []
    state, path, warnings = checkpoint.load_latest(tmp_path, warn=messages.append)
    assert state["step"] == 1 and path.name == "step-000000001.ckpt"
    assert len(warnings) == 1 and str(newest) in warnings[0] and "falling back to" in warnings[0]
    assert messages == warnings


def test_no_good_checkpoint_lists_them(tmp_path):
    for step in (1, 2):
        p = checkpoint.save(_payload(step), checkpoint.path_for(tmp_path, step))
        p.write_bytes(b"x")
    with pytest.raises(UsageError, match="no usable checkpoint.*step-000000002.*step-000000001"):
        checkpoint.load_latest(tmp_path, warn=lambda m: None)
    with pytest.raises(UsageError, match="no checkpoint"):
        checkpoint.load_latest(tmp_path / "nothing")


class Arbitrary:
    """Any class: unpickling it could run code, so a checkpoint holding one must be refused."""


def test_payload_cannot_run_code(tmp_path):
    """Loaded with weights_only: a checkpoint holding an arbitrary object is refused, not run."""
    path = checkpoint.save({"x": Arbitrary()}, checkpoint.path_for(tmp_path, 1))
    with pytest.raises(checkpoint.CorruptCheckpoint, match="does not load"):
        checkpoint.load(path)


def test_rng_states_round_trip_every_generator():
    states = checkpoint.rng_states()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.rand(10), np.random.rand(10), random.random()
    checkpoint.set_rng_states(states)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0])
    assert np.array_equal(expected[1], again[1]) and expected[2] == again[2]


def test_rng_states_survive_a_file(tmp_path):
    path = checkpoint.save({"rng": checkpoint.rng_states()}, checkpoint.path_for(tmp_path, 1))
    expected = torch.rand(2), np.random.rand(2)
    checkpoint.set_rng_states(checkpoint.load(path)["rng"])
    assert torch.equal(torch.rand(2), expected[0]) and np.array_equal(np.random.rand(2), expected[1])
