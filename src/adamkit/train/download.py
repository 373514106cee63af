"""``adamkit data get``: fetch a data set's standard files, verify their published MD5s.

For machines with internet; nothing in adamkit downloads on its own. Each file is streamed into
a temporary file next to its target, its MD5 checked against the published value, then renamed
into place, so a failed or partial download never leaves a file that looks complete. CIFAR-10's
archive is extracted member by member, refusing any path outside ``cifar-10-batches-py/``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from adamkit import outdir
from adamkit.errors import UsageError
from adamkit.train import files
from adamkit.train.names import GETTABLE


def _specs(name: str) -> tuple[files.FileSpec, ...]:
    if name == "mnist":
        return files.MNIST_FILES
    if name == "fashion-mnist":
        return files.FASHION_MNIST_FILES
    return (files.CIFAR10_ARCHIVE,)


def fetch(url: str, target: Path, md5: str | None, quiet: bool = True) -> str:
    """Download ``url`` to ``target`` atomically; returns the MD5; mismatch: UsageError, no file."""
    try:
        scheme = urllib.parse.urlparse(url).scheme
    except ValueError:  # urllib's word for a malformed URL, e.g. an unclosed '[' of an IPv6 host
        scheme = None
    if scheme not in ("http", "https"):
        raise UsageError(f"--mirror must be an http(s) URL, got {url!r}")
    tmp = target.with_name(f".{target.name}.part-{os.getpid()}")
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as fh:
            total = int(response.headers.get("Content-Length") or 0) or None
            from tqdm import tqdm

            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name, file=sys.stderr,
                      disable=quiet or not sys.stderr.isatty(), leave=False) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    fh.write(block)
                    digest.update(block)
                    bar.update(len(block))
            fh.flush()
            os.fsync(fh.fileno())
        actual = digest.hexdigest()
        if md5 is not None and actual != md5:
            raise UsageError(f"{url}: MD5 {actual} does not match the published {md5}; "
                             f"not saved to {target}")
        os.replace(tmp, target)
        return actual
    except urllib.error.HTTPError as exc:
        raise UsageError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise UsageError(f"{url}: cannot connect ({exc.reason})") from None
    except TimeoutError:
        raise UsageError(f"{url}: timed out") from None
    finally:
        tmp.unlink(missing_ok=True)


def _extract_cifar(archive: Path, to: Path) -> list[str]:
    names = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if (member.name.startswith("/") or ".." in parts or not parts
                    or parts[0] != files.CIFAR10_DIR or not (member.isfile() or member.isdir())):
                raise UsageError(f"{archive}: unexpected member {member.name!r}; refusing to extract")
        tar.extractall(to, filter="data")
        names = [m.name for m in tar.getmembers() if m.isfile()]
    return names


def get(name: str, to: Path, mirror: str | None = None, quiet: bool = False,
        checksums: dict[str, str] | None = None) -> dict:
    """Fetch data set ``name`` into ``to``; returns ``{"files": {file name: md5}, ...}``.

    ``checksums`` replaces the published MD5s (for a private mirror of another version, and for
    tests against a local server); by default the published ones must match.
    """
    if name not in GETTABLE:
        from adamkit.errors import choice

        raise choice("data set", name, GETTABLE)
    base = mirror or files.MIRRORS[name]
    if not base.endswith("/"):
        base += "/"
    to = outdir.make(to, "--to")
    fetched = {}
    for spec in _specs(name):
        target = to / spec.name
        md5 = (checksums or {}).get(spec.name, spec.md5)
        if target.is_file() and md5 is not None and files.md5_of(target) == md5:
            fetched[spec.name] = md5  # already there and intact
            continue
        fetched[spec.name] = fetch(base + spec.name, target, md5, quiet=quiet)
    result = {"name": name, "to": str(to), "mirror": base, "files": fetched}
    if name == "cifar10":
        result["extracted"] = _extract_cifar(to / files.CIFAR10_ARCHIVE.name, to)
    return result
