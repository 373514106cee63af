"""Fixtures for the training tests: data set files written in their real formats."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from adamkit.train import idx


def write_mnist_like(directory, n_train=240, n_test=60, gz=True, seed=0, size=28):
    """The four standard IDX files with learnable content: class k is a bright k-th stripe."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, size, size)).astype(np.uint8)
        for i, k in enumerate(labels):
            images[i, 2 + 2 * k : 4 + 2 * k, 4:24] = 250
        suffix = ".gz" if gz else ""
        paths[f"{split}_images"] = idx.write(
            directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
        paths[f"{split}_labels"] = idx.write(
            directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return paths


def write_cifar_like(directory, per_batch=40, test=40, seed=0):
    """cifar-10-batches-py with five small training batches and a test batch (python pickles)."""
    rng = np.random.default_rng(seed)
    base = directory / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = test if name == "test_batch" else per_batch
        labels = rng.integers(0, 10, n)
        data = rng.integers(0, 80, (n, 3, 32, 32)).astype(np.uint8)
        for i, k in enumerate(labels):  # class k: a bright patch in the k-th column band
            data[i, k % 3, 4:28, 3 * k : 3 * k + 3] = 240
        entry = {b"batch_label": name.encode(), b"labels": labels.tolist(),
                 b"data": data.reshape(n, 3072), b"filenames": [b"x.png"] * n}
        with open(base / name, "wb") as fh:
            pickle.dump(entry, fh, protocol=2)
    return base


@pytest.fixture
def mnist_dir(tmp_path):
    write_mnist_like(tmp_path / "mnist")
    return tmp_path / "mnist"


@pytest.fixture
def cifar_dir(tmp_path):
    write_cifar_like(tmp_path / "cifar")
    return tmp_path / "cifar"
