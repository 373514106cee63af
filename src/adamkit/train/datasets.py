"""The data sets ``adamkit train --dataset`` knows, loaded whole into memory as tensors.

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1797 real images, no download),
  split 80/20, stratified, with a fixed split seed so every run tests on the same 360 images.
- ``mnist``, ``fashion-mnist``: the standard IDX files (gzipped or raw) in ``--data-dir``.
- ``cifar10``: the python batches (``cifar-10-batches-py/data_batch_1..5``, ``test_batch``).
- ``shapes`` (segmentation), ``sparse-text`` (bag of words, large vocabulary), ``regression``:
  generated (see ``synthetic``), deterministic for a given data seed.

Images are float32 in (N, C, H, W), standardized with the data set's usual mean and std;
class labels are int64. The integrity checks (headers, sizes, published checksums for files of the
standard size) and what was verified are recorded in ``Dataset.provenance``.
"""

from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from adamkit.errors import UsageError, choice
from adamkit.train import files, idx, names, synthetic

CLASSIFICATION, SEGMENTATION, REGRESSION = "classification", "segmentation", "regression"


@dataclass
class Dataset:
    """Train and test tensors plus what the trainer needs to know about them."""

    name: str
    task: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int | None = None
    provenance: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # e.g. vocabulary size for text

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def summary(self) -> dict:
        return {
            "name": self.name,
            "task": self.task,
            "train_size": len(self.x_train),
            "test_size": len(self.x_test),
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            **self.provenance,
        }


def _standardize(images: np.ndarray, mean, std) -> torch.Tensor:
    """uint8 images (N, C, H, W) -> float32 ((x/255) - mean) / std per channel."""
    mean = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return torch.from_numpy((images.astype(np.float32) / 255.0 - mean) / std)


def _digits_file() -> Path | None:
    """scikit-learn's bundled ``digits.csv.gz`` (found without importing scikit-learn, which
    takes about a second), or None when this scikit-learn keeps it elsewhere."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")
    for base in spec.submodule_search_locations or ():
        path = Path(base) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    return None


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng) -> np.ndarray:
    """scikit-learn's ``utils.extmath._approximate_mode`` (how many of each class to draw)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def stratified_split(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices, the same as scikit-learn's ``train_test_split(...,
    test_size=test_size, stratify=y, random_state=seed)`` (its StratifiedShuffleSplit, written
    out here so the split neither loads scikit-learn nor changes with its version; a test
    checks it against scikit-learn)."""
    n_test = int(np.ceil(test_size * len(y)))
    n_train = len(y) - n_test
    rng = np.random.RandomState(seed)
    _, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list = []
    test: list = []
    for i, members in enumerate(class_indices):
        shuffled = members.take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(shuffled[: n_i[i]])
        test.extend(shuffled[n_i[i] : n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def load_digits(split_seed: int = 0) -> Dataset:
    path = _digits_file()
    if path is not None:  # what sklearn.datasets.load_digits reads, read the same way
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            table = np.loadtxt(fh, delimiter=",")
        data, target = table[:, :-1], table[:, -1].astype(int)
    else:
        from sklearn.datasets import load_digits as sk_load_digits

        bunch = sk_load_digits()
        data, target = bunch.data, bunch.target
    x = (data.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    x = (x - x.mean()) / x.std()
    y = target.astype(np.int64)
    train, test = stratified_split(y, 0.2, split_seed)
    return Dataset(
        "digits",
        CLASSIFICATION,
        torch.from_numpy(np.ascontiguousarray(x[train])),
        torch.from_numpy(y[train]),
        torch.from_numpy(np.ascontiguousarray(x[test])),
        torch.from_numpy(y[test]),
        num_classes=10,
        provenance={"source": "sklearn.datasets.load_digits", "split": "80/20 stratified"},
    )


_IDX_SETS = {
    "mnist": (files.MNIST_FILES, (0.1307,), (0.3081,)),
    "fashion-mnist": (files.FASHION_MNIST_FILES, (0.2860,), (0.3530,)),
}


def load_idx_dataset(name: str, data_dir: Path) -> Dataset:
    """MNIST or Fashion-MNIST from the four standard IDX files (see ``files.find_idx_files``)."""
    specs, mean, std = _IDX_SETS[name]
    paths = files.find_idx_files(Path(data_dir), specs, name)
    arrays, verified = {}, {}
    for spec in specs:
        path = paths[spec.role]
        array = idx.read(path)
        kind = "images" if spec.role.endswith("images") else "labels"
        want_ndim = 3 if kind == "images" else 1
        if array.ndim != want_ndim or array.dtype != np.uint8:
            raise UsageError(
                f"{path}: expected {kind} as uint8 with {want_ndim} dimension(s), "
                f"got {array.dtype} with shape {array.shape}"
            )
        split = spec.role.split("_")[0]
        standard = len(array) == files.STANDARD_COUNTS[split]
        # Published checksums identify the full standard files; a subset cannot match them.
        verified[path.name] = (
            "md5 ok" if standard and files.verify_md5(path, spec) else "header and size ok"
        )
        arrays[spec.role] = array
    for split in ("train", "test"):
        n_img, n_lab = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_img != n_lab:
            raise UsageError(
                f"{paths[f'{split}_images']}: {n_img} images but "
                f"{paths[f'{split}_labels']} has {n_lab} labels"
            )
    labels = np.concatenate([arrays["train_labels"], arrays["test_labels"]])
    if labels.max(initial=0) > 9:
        raise UsageError(f"{name}: labels must be 0..9, found {int(labels.max())}")
    return Dataset(
        name,
        CLASSIFICATION,
        _standardize(arrays["train_images"][:, None], mean, std),
        torch.from_numpy(arrays["train_labels"].astype(np.int64)),
        _standardize(arrays["test_images"][:, None], mean, std),
        torch.from_numpy(arrays["test_labels"].astype(np.int64)),
        num_classes=10,
        provenance={"source": str(data_dir), "files": verified},
    )


def _unpickle_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as fh:
            entry = pickle.load(fh, encoding="bytes")  # the batches were pickled by Python 2
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise UsageError(f"{path}: not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(entry, dict):
        raise UsageError(f"{path}: not a CIFAR-10 python batch (a {type(entry).__name__})")
    entry = {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}
    if "data" not in entry or "labels" not in entry:
        raise UsageError(f"{path}: CIFAR-10 batch without 'data' and 'labels' keys")
    data = np.asarray(entry["data"], dtype=np.uint8)
    labels = np.asarray(entry["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise UsageError(
            f"{path}: expected data of shape (N, 3072) and N labels, "
            f"got {data.shape} and {len(labels)}"
        )
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10(data_dir: Path) -> Dataset:
    data_dir = Path(data_dir)
    places = [data_dir / files.CIFAR10_DIR, data_dir, data_dir / "cifar10" / files.CIFAR10_DIR]
    base = next((p for p in places if (p / "test_batch").is_file()), None)
    missing = [s.name for s in files.CIFAR10_FILES if base is None or not (base / s.name).is_file()]
    if missing or base is None:
        raise UsageError(
            f"cifar10: missing file(s) {', '.join(missing)}; looked in "
            f"{', '.join(str(p) for p in places)}; get them with "
            f"'adamkit data get cifar10 --to {data_dir}' on a machine with internet"
        )
    parts: dict[str, list] = {"train": [], "test": []}
    verified = {}
    for spec in files.CIFAR10_FILES:
        path = base / spec.name
        data, labels = _unpickle_cifar_batch(path)
        standard = len(data) == 10000
        verified[spec.name] = (
            "md5 ok" if standard and files.verify_md5(path, spec) else "structure ok"
        )
        parts[spec.role].append((data, labels))
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    x_tr = np.concatenate([d for d, _ in parts["train"]])
    x_te = np.concatenate([d for d, _ in parts["test"]])
    return Dataset(
        "cifar10",
        CLASSIFICATION,
        _standardize(x_tr, mean, std),
        torch.from_numpy(np.concatenate([lab for _, lab in parts["train"]])),
        _standardize(x_te, mean, std),
        torch.from_numpy(np.concatenate([lab for _, lab in parts["test"]])),
        num_classes=10,
        provenance={"source": str(base), "files": verified},
    )


def load_shapes(image_size: int = 32, train_size: int = 512, test_size: int = 128) -> Dataset:
    x_tr, y_tr = synthetic.shapes(train_size, image_size, seed=1)
    x_te, y_te = synthetic.shapes(test_size, image_size, seed=2)
    return Dataset(
        "shapes", SEGMENTATION, x_tr, y_tr, x_te, y_te, num_classes=2,
        provenance={"source": "generated: ellipses and rectangles on noise, masks"},
    )


def load_sparse_text(vocab_size: int = 20000, train_size: int = 4000, test_size: int = 1000) -> Dataset:
    x_tr, y_tr, x_te, y_te = synthetic.sparse_text(vocab_size, train_size, test_size, seed=3)
    return Dataset(
        "sparse-text", CLASSIFICATION, x_tr, y_tr, x_te, y_te, num_classes=synthetic.TEXT_CLASSES,
        provenance={"source": f"generated: Zipf bag of words, vocabulary {vocab_size}"},
        extra={"vocab_size": vocab_size},
    )


def load_regression(train_size: int = 1000, test_size: int = 250, features: int = 10) -> Dataset:
    x_tr, y_tr, x_te, y_te = synthetic.regression(train_size, test_size, features, seed=4)
    return Dataset(
        "regression", REGRESSION, x_tr, y_tr, x_te, y_te,
        provenance={"source": "generated: y = teacher MLP(x) + noise, x ~ N(0, I)"},
    )


DATASETS = names.DATASETS
FILE_DATASETS = ("mnist", "fashion-mnist", "cifar10")


def load(name: str, data_dir: str | Path | None = None, **options) -> Dataset:
    """Load data set ``name``; file-based ones read ``data_dir`` (default ``./data``)."""
    data_dir = Path(data_dir) if data_dir is not None else Path("data")
    if name == "digits":
        return load_digits()
    if name in _IDX_SETS:
        return load_idx_dataset(name, data_dir)
    if name == "cifar10":
        return load_cifar10(data_dir)
    if name == "shapes":
        return load_shapes(**options)
    if name == "sparse-text":
        return load_sparse_text(**options)
    if name == "regression":
        return load_regression(**options)
    raise choice("dataset", name, DATASETS)
