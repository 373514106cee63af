"""Data: IDX format, MNIST/Fashion-MNIST/CIFAR-10 loaders on files written in the real formats,
digits, generated sets, and every bad-input path."""

from __future__ import annotations

import gzip
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch
from tests.train.conftest import write_cifar_like, write_mnist_like

from adamkit.errors import UsageError
from adamkit.train import datasets, files, idx, synthetic


# -- IDX --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_idx_round_trip_raw_and_gzip(tmp_path, name):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = idx.write(tmp_path / name, array)
    assert idx.read(path).tolist() == array.tolist()
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")


def test_idx_header_is_the_published_layout(tmp_path):
    path = idx.write(tmp_path / "x", np.zeros((5, 28, 28), np.uint8))
    data = path.read_bytes()
    assert struct.unpack(">I", data[:4])[0] == 2051  # MNIST's image magic 0x00000803
    assert struct.unpack(">3I", data[4:16]) == (5, 28, 28)
    assert len(data) == 16 + 5 * 28 * 28
    labels = idx.write(tmp_path / "y", np.zeros(5, np.uint8)).read_bytes()
    assert struct.unpack(">II", labels[:8]) == (2049, 5)


def test_idx_big_endian_multibyte_types(tmp_path):
    array = np.array([[1, -2], [300000, 7]], dtype=np.int32)
    path = idx.write(tmp_path / "i", array)
    assert path.read_bytes()[4 + 8 : 4 + 8 + 4] == struct.pack(">i", 1)
    assert idx.read(path).tolist() == array.tolist()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x01\x00\x08\x01", "not an IDX file"),
        (b"", "not an IDX file"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX element type 0x07"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "truncated or corrupt"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "truncated or corrupt"),
    ],
)
def test_idx_bad_files_are_named_errors(tmp_path, data, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(data)
    with pytest.raises(UsageError, match=message) as info:
        idx.read(path)
    assert str(path) in str(info.value)


def test_idx_truncated_gzip(tmp_path):
    path = idx.write(tmp_path / "t.gz", np.zeros((50, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(UsageError, match="corrupt or truncated gzip"):
        idx.read(path)


def test_idx_refuses_unstorable_dtype(tmp_path):
    with pytest.raises(ValueError, match="cannot store dtype"):
        idx.write(tmp_path / "z", np.zeros(3, np.complex64))


# -- MNIST / Fashion-MNIST ----------------------------------------------------------------------
@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_dataset_loads_and_standardizes(tmp_path, gz, name):
    write_mnist_like(tmp_path, n_train=50, n_test=20, gz=gz)
    ds = datasets.load(name, tmp_path)
    assert ds.x_train.shape == (50, 1, 28, 28) and ds.x_train.dtype == torch.float32
    assert ds.y_train.shape == (50,) and ds.y_train.dtype == torch.int64
    assert ds.x_test.shape == (20, 1, 28, 28)
    raw = idx.read(next(tmp_path.glob("train-images*")))
    mean, std = (0.1307, 0.3081) if name == "mnist" else (0.2860, 0.3530)
    expected = (raw[3].astype(np.float32) / 255 - mean) / std
    np.testing.assert_allclose(ds.x_train[3, 0].numpy(), expected, rtol=1e-6)
    assert set(ds.provenance["files"].values()) == {"header and size ok"}


def test_idx_dataset_in_torchvision_layout(tmp_path):
    write_mnist_like(tmp_path / "mnist" / "raw", n_train=20, n_test=10)
    assert len(datasets.load("mnist", tmp_path).x_train) == 20


def test_missing_files_listed_with_where_looked(tmp_path):
    paths = write_mnist_like(tmp_path, n_train=20, n_test=10)
    paths["test_labels"].unlink()
    paths["train_images"].unlink()
    with pytest.raises(UsageError) as info:
        datasets.load("mnist", tmp_path)
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert "train-labels" not in msg and str(tmp_path) in msg and "adamkit data get" in msg


def test_full_size_file_must_match_published_checksum(tmp_path):
    """A file claiming the standard 60000 images is checked against the published MD5."""
    write_mnist_like(tmp_path, n_train=20, n_test=10)
    idx.write(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((60000, 28, 28), np.uint8))
    idx.write(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(60000, np.uint8))
    with pytest.raises(UsageError, match="does not match the published f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        datasets.load("mnist", tmp_path)


def test_published_checksums_are_the_known_ones():
    md5 = {s.name: s.md5 for s in files.MNIST_FILES}
    assert md5["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert md5["t10k-labels-idx1-ubyte.gz"] == "ec29112dd5afa0611ce80d1b7f02629c"
    assert {s.name: s.md5 for s in files.CIFAR10_FILES}["test_batch"] == (
        "40351d587109b95175f43aff81a1287e")


def test_verify_md5_accepts_a_matching_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"hello")
    spec = files.FileSpec(path.name, files.md5_of(path), "train_images")
    assert files.verify_md5(path, spec) is True
    assert files.verify_md5(tmp_path / "train-images-idx3-ubyte", spec) is False  # raw: no md5


def test_image_label_count_mismatch(tmp_path):
    write_mnist_like(tmp_path, n_train=20, n_test=10)
    idx.write(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(UsageError, match="10 images but .* has 9 labels"):
        datasets.load("mnist", tmp_path)


def test_wrong_kind_of_idx_file(tmp_path):
    write_mnist_like(tmp_path, n_train=20, n_test=10)
    idx.write(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros((20, 2), np.uint8))
    with pytest.raises(UsageError, match="expected labels as uint8 with 1 dimension"):
        datasets.load("mnist", tmp_path)


def test_labels_out_of_range(tmp_path):
    write_mnist_like(tmp_path, n_train=20, n_test=10)
    idx.write(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(10, 12, np.uint8))
    with pytest.raises(UsageError, match="labels must be 0..9, found 12"):
        datasets.load("mnist", tmp_path)


def test_gzip_and_raw_give_the_same_data(tmp_path):
    write_mnist_like(tmp_path / "a", n_train=30, n_test=10, gz=True, seed=5)
    write_mnist_like(tmp_path / "b", n_train=30, n_test=10, gz=False, seed=5)
    a, b = datasets.load("mnist", tmp_path / "a"), datasets.load("mnist", tmp_path / "b")
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert gzip.decompress((tmp_path / "a" / "train-labels-idx1-ubyte.gz").read_bytes()) == (
        tmp_path / "b" / "train-labels-idx1-ubyte").read_bytes()


# -- CIFAR-10 -------------------------------------------------------------------------------------
def test_cifar_batches_load(cifar_dir):
    ds = datasets.load("cifar10", cifar_dir)
    assert ds.x_train.shape == (200, 3, 32, 32) and ds.x_test.shape == (40, 3, 32, 32)
    assert ds.y_train.dtype == torch.int64 and int(ds.y_train.max()) <= 9
    with open(cifar_dir / "cifar-10-batches-py" / "data_batch_1", "rb") as fh:
        entry = pickle.load(fh, encoding="bytes")
    raw = np.asarray(entry[b"data"][0], np.float32).reshape(3, 32, 32) / 255
    np.testing.assert_allclose(ds.x_train[0, 0].numpy(), (raw[0] - 0.4914) / 0.2470, rtol=1e-5)


def test_cifar_missing_batches(tmp_path):
    base = write_cifar_like(tmp_path)
    (base / "data_batch_3").unlink()
    with pytest.raises(UsageError, match="missing file.*data_batch_3"):
        datasets.load("cifar10", tmp_path)
    with pytest.raises(UsageError, match="missing file.*test_batch"):
        datasets.load("cifar10", tmp_path / "empty")


@pytest.mark.parametrize("content, message", [
    (b"not a pickle", "not a CIFAR-10 python batch"),
    (pickle.dumps([1, 2]), "not a CIFAR-10 python batch \\(a list\\)"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}), "without 'data' and 'labels'"),
    (pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [1, 2]}), "shape \\(N, 3072\\)"),
])
def test_cifar_bad_batch(tmp_path, content, message):
    base = write_cifar_like(tmp_path)
    (base / "data_batch_2").write_bytes(content)
    with pytest.raises(UsageError, match=message) as info:
        datasets.load("cifar10", tmp_path)
    assert "data_batch_2" in str(info.value)


# -- digits and generated sets -------------------------------------------------------------------
def test_digits_is_real_and_split_fixed():
    a, b = datasets.load("digits"), datasets.load("digits")
    assert a.x_train.shape == (1437, 1, 8, 8) and a.x_test.shape == (360, 1, 8, 8)
    assert torch.equal(a.y_test, b.y_test)
    assert torch.bincount(a.y_test).min() >= 35  # stratified: every class ~36 times


def test_digits_are_sklearns_data_and_split_without_loading_sklearn():
    """The loader reads sklearn's bundled file itself and splits as train_test_split does."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    ours = datasets.load("digits")
    bunch = load_digits()
    x = (bunch.data.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    x = (x - x.mean()) / x.std()
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    for theirs, mine in ((x_tr, ours.x_train), (x_te, ours.x_test), (y_tr, ours.y_train),
                         (y_te, ours.y_test)):
        assert np.array_equal(theirs, mine.numpy())
    index = np.arange(len(y))
    for seed in range(4):
        for test_size in (0.1, 0.2, 0.33):
            train, test = train_test_split(index, test_size=test_size, stratify=y,
                                           random_state=seed)
            mine_train, mine_test = datasets.stratified_split(y, test_size, seed)
            assert np.array_equal(train, mine_train) and np.array_equal(test, mine_test)
    code = ("import sys; from adamkit.train import datasets; datasets.load('digits'); "
            "print('sklearn' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_generated_sets_are_deterministic_and_structured():
    x1, m1 = synthetic.shapes(8, 16, seed=3)
    x2, m2 = synthetic.shapes(8, 16, seed=3)
    assert torch.equal(x1, x2) and torch.equal(m1, m2)
    assert 0.02 < float(m1.mean()) < 0.9 and set(m1.unique().tolist()) == {0.0, 1.0}
    assert float(x1[m1 > 0].mean()) > float(x1[m1 == 0].mean()) + 0.4
    xt, yt, xs, ys = synthetic.sparse_text(2000, 50, 10, seed=1)
    assert xt.shape == (50, synthetic.TEXT_MAX_LEN) and xt.dtype == torch.int64
    assert int(xt.max()) < 2000 and int(xt.min()) == synthetic.PAD
    assert set(yt.unique().tolist()) <= set(range(synthetic.TEXT_CLASSES))
    xr, yr, _, _ = synthetic.regression(100, 10, 10, seed=4)
    assert xr.shape == (100, 10) and yr.shape == (100, 1)


def test_sparse_text_needs_a_large_vocabulary():
    with pytest.raises(ValueError, match="vocab_size must be >= 1000"):
        synthetic.sparse_text(10, 5, 5, seed=0)


def test_unknown_dataset():
    with pytest.raises(UsageError, match="unknown dataset 'mnits'; valid: cifar10, digits"):
        datasets.load("mnits")
