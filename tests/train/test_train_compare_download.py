"""``adamkit compare`` and ``adamkit data get`` (against a local HTTP server on 127.0.0.1 only)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import tarfile
import threading

import pytest
import torch
from tests.train.conftest import write_cifar_like, write_mnist_like

from adamkit import cli
from adamkit.errors import UsageError
from adamkit.train import TrainConfig, Trainer, datasets, download, files, recipes


# -- compare ----------------------------------------------------------------------------------------
def test_compare_writes_table_curves_and_runs(tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", "--optimizers", "adam,sgd", "--epochs", "1", "--out", str(out), "--quiet"]
    assert cli.main(argv) == 0
    table = capsys.readouterr().out
    assert "optimizer" in table and "adam" in table and "sgd" in table
    result = json.loads((out / "compare.json").read_text())
    assert [r["optimizer"] for r in result["table"]] == ["adam", "sgd"]
    assert result["table"][1]["lr"] == 0.05  # sgd's comparison default, with momentum 0.9
    sgd_cfg = json.loads((out / "sgd" / "summary.json").read_text())["config"]
    assert sgd_cfg["momentum"] == 0.9 and sgd_cfg["optimizer"] == "sgd"
    assert (out / "compare.png").stat().st_size > 10_000
    for name in ("adam", "sgd"):
        assert (out / name / "metrics.jsonl").is_file()


def test_compare_shares_initial_weights():
    base = {**recipes.get("digits"), "epochs": 1}
    a = Trainer(TrainConfig.from_dict({**base, "optimizer": "adam"}), "unused", quiet=True)
    b = Trainer(TrainConfig.from_dict({**base, "optimizer": "rmsprop"}), "unused", quiet=True)
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(),
                                  strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_compare_json_and_lr_override(tmp_path, capsys):
    argv = ["compare", "--optimizers", "adagrad", "--lr", "0.02", "--epochs", "1", "--out",
            str(tmp_path), "--quiet", "--json"]
    assert cli.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["table"][0]["lr"] == 0.02


def test_compare_option_flags_go_to_the_optimizers_that_take_them(tmp_path, capsys):
    argv = ["compare", "--optimizers", "adam,rmsprop", "--momentum", "0.5", "--epochs", "1",
            "--out", str(tmp_path), "--quiet", "--no-plots"]
    assert cli.main(argv) == 0
    cfg = {n: json.loads((tmp_path / n / "summary.json").read_text())["config"]
           for n in ("adam", "rmsprop")}
    assert cfg["rmsprop"]["momentum"] == 0.5 and cfg["adam"]["momentum"] is None
    argv = ["compare", "--optimizers", "adam,adamw", "--momentum", "0.5", "--out", str(tmp_path)]
    assert cli.main(argv) == 2
    assert "--momentum applies to none of adam, adamw" in capsys.readouterr().err


# -- data get ---------------------------------------------------------------------------------------
@pytest.fixture
def server(tmp_path):
    """A static HTTP server on 127.0.0.1 serving ``tmp_path / 'site'``."""
    site = tmp_path / "site"
    site.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _md5(path):
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def test_get_mnist_from_a_mirror_then_load(server, tmp_path):
    site, url = server
    write_mnist_like(site, n_train=30, n_test=10)
    sums = {p.name: _md5(p) for p in site.iterdir()}
    result = download.get("mnist", tmp_path / "data", mirror=url, quiet=True, checksums=sums)
    assert result["files"] == sums
    assert len(datasets.load("mnist", tmp_path / "data").x_train) == 30
    # a second call finds the files intact and fetches nothing
    for p in site.iterdir():
        p.unlink()
    assert download.get("mnist", tmp_path / "data", mirror=url, quiet=True, checksums=sums)


def test_get_refuses_a_file_that_does_not_match_the_published_md5(server, tmp_path, capsys):
    site, url = server
    write_mnist_like(site, n_train=30, n_test=10)
    argv = ["data", "get", "mnist", "--to", str(tmp_path / "data"), "--mirror", url, "--quiet"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and "does not match the published" in err
    assert files.MNIST_FILES[0].md5 in err
    assert list((tmp_path / "data").iterdir()) == []  # nothing half-downloaded left behind


def test_get_missing_file_is_an_http_error(server, tmp_path):
    _, url = server
    with pytest.raises(UsageError, match="HTTP 404.*train-images|train-images.*HTTP 404"):
        download.get("fashion-mnist", tmp_path, mirror=url, quiet=True)


def test_get_unreachable_and_bad_scheme(tmp_path):
    with pytest.raises(UsageError, match="cannot connect"):
        download.get("mnist", tmp_path, mirror="http://127.0.0.1:9/", quiet=True)
    with pytest.raises(UsageError, match="must be an http\\(s\\) URL"):
        download.get("mnist", tmp_path, mirror="file:///etc/", quiet=True)
    with pytest.raises(UsageError, match="must be an http\\(s\\) URL"):
        download.get("mnist", tmp_path, mirror="http://[oops", quiet=True)  # urllib: ValueError


def _tar(site, members):
    with tarfile.open(site / files.CIFAR10_ARCHIVE.name, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return _md5(site / files.CIFAR10_ARCHIVE.name)


def test_get_cifar_extracts_and_loads(server, tmp_path):
    site, url = server
    base = write_cifar_like(tmp_path / "made", per_batch=4, test=4)
    md5 = _tar(site, {f"{files.CIFAR10_DIR}/{p.name}": p.read_bytes() for p in base.iterdir()})
    result = download.get("cifar10", tmp_path / "data", mirror=url, quiet=True,
                          checksums={files.CIFAR10_ARCHIVE.name: md5})
    assert len(result["extracted"]) == 6
    assert len(datasets.load("cifar10", tmp_path / "data").x_train) == 20


@pytest.mark.parametrize("bad", ["../evil", "/abs/evil", "other-dir/file"])
def test_get_cifar_refuses_paths_outside_its_directory(server, tmp_path, bad):
    site, url = server
    md5 = _tar(site, {bad: b"x"})
    with pytest.raises(UsageError, match="refusing to extract"):
        download.get("cifar10", tmp_path / "data", mirror=url, quiet=True,
                     checksums={files.CIFAR10_ARCHIVE.name: md5})
    assert not (tmp_path / "evil").exists()


def test_data_get_help_and_unknown_name(capsys):
    assert cli.main(["data", "get", "imagenet"]) == 2
    assert "invalid choice: 'imagenet'" in capsys.readouterr().err
