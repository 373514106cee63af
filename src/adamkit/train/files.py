"""Where the file-based data sets live on disk, their standard names and published checksums.

MD5 values are those published with the data sets and used by torchvision (``MNIST.resources``,
``FashionMNIST.resources``, ``CIFAR10.train_list``); they identify the *gzipped* IDX files and the
*extracted* CIFAR-10 python batches. Raw (gunzipped) IDX files have no published checksum: for
them, and for any file, the header and the byte length are checked instead (see ``idx.parse``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from adamkit.errors import UsageError


@dataclass(frozen=True)
class FileSpec:
    """One standard file: its name, its published MD5 (None if none is published), its role."""

    name: str
    md5: str | None
    role: str


IDX_ROLES = ("train_images", "train_labels", "test_images", "test_labels")

MNIST_FILES = (
    FileSpec("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "train_images"),
    FileSpec("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", "train_labels"),
    FileSpec("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", "test_images"),
    FileSpec("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", "test_labels"),
)
FASHION_MNIST_FILES = (
    FileSpec("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "train_images"),
    FileSpec("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", "train_labels"),
    FileSpec("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", "test_images"),
    FileSpec("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", "test_labels"),
)
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_ARCHIVE = FileSpec("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", "archive")
CIFAR10_FILES = (
    FileSpec("data_batch_1", "c99cafc152244af753f735de768cd75f", "train"),
    FileSpec("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec", "train"),
    FileSpec("data_batch_3", "54ebc095f3ab1f0389bbae665268c751", "train"),
    FileSpec("data_batch_4", "634d18415352ddfa80567beed471001a", "train"),
    FileSpec("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb", "train"),
    FileSpec("test_batch", "40351d587109b95175f43aff81a1287e", "test"),
)

# Where a download helper fetches from (https; the MNIST mirror is the one torchvision uses).
MIRRORS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "cifar10": "https://www.cs.toronto.edu/~kriz/",
}
# Number of examples in the standard splits: a file with these counts must match its checksum.
STANDARD_COUNTS = {"train": 60000, "test": 10000}


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_idx_files(data_dir: Path, specs: tuple[FileSpec, ...], dataset: str) -> dict[str, Path]:
    """Each role's file in ``data_dir`` (gzipped standard name, or the same name without .gz).

    Looks in ``data_dir`` and in ``data_dir/<dataset>`` and ``data_dir/<dataset>/raw``
    (torchvision's layout). Missing files: one error listing all of them and where it looked.
    """
    places = [data_dir, data_dir / dataset, data_dir / dataset / "raw"]
    found: dict[str, Path] = {}
    missing = []
    for spec in specs:
        raw_name = spec.name.removesuffix(".gz")
        hit = next(
            (p / n for p in places for n in (spec.name, raw_name) if (p / n).is_file()), None
        )
        if hit is None:
            missing.append(f"{spec.name} (or {raw_name})")
        else:
            found[spec.role] = hit
    if missing:
        raise UsageError(
            f"{dataset}: missing file(s) {', '.join(missing)}; looked in "
            f"{', '.join(str(p) for p in places)}; get them with "
            f"'adamkit data get {dataset} --to {data_dir}' on a machine with internet"
        )
    return found


def verify_md5(path: Path, spec: FileSpec) -> bool:
    """Check ``path`` against its published MD5; True if checked, False if no checksum applies.

    Only the gzipped file's checksum is published, so a raw file returns False (its header and
    length are checked by the loader instead).
    """
    if spec.md5 is None or path.name != spec.name:
        return False
    actual = md5_of(path)
    if actual != spec.md5:
        raise UsageError(
            f"{path}: MD5 {actual} does not match the published {spec.md5} of {spec.name} "
            "(corrupt or not the standard file)"
        )
    return True
