"""The IDX file format of MNIST and Fashion-MNIST: read (raw or gzip) and write.

Layout (big-endian), as published with MNIST:

    bytes 0-1   0x0000
    byte  2     element type: 0x08 unsigned byte (the only type MNIST uses), 0x09 signed byte,
                0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    then d      uint32 sizes, big-endian
    then        the data, C order, big-endian

So ``train-images-idx3-ubyte`` starts with magic 0x00000803 (2051) and sizes (60000, 28, 28);
``train-labels-idx1-ubyte`` with 0x00000801 (2049) and (60000,). A file whose length disagrees with
its header (truncated, or trailing bytes) is rejected with its name in the message.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from adamkit.errors import UsageError

_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}


def read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it is a gzip file (detected by its magic bytes)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise UsageError(f"{path}: corrupt or truncated gzip file ({exc})") from None
    return data


def parse(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """An IDX byte string as a native-endian array, checked against its header."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise UsageError(f"{name}: not an IDX file (magic bytes {data[:4].hex() or 'missing'})")
    code, ndim = data[2], data[3]
    if code not in _DTYPES:
        raise UsageError(
            f"{name}: unknown IDX element type 0x{code:02x}; valid: "
            + ", ".join(f"0x{c:02x}" for c in _DTYPES)
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UsageError(f"{name}: truncated IDX header ({len(data)} bytes)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise UsageError(
            f"{name}: IDX header says shape {shape} ({expected} bytes) but the file has "
            f"{len(data)} bytes (truncated or corrupt)"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read(path: str | Path) -> np.ndarray:
    """Read an IDX file, raw or gzipped."""
    path = Path(path)
    return parse(read_bytes(path), str(path))


def write(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip it when ``compress`` (default: the name ends in .gz)."""
    path = Path(path)
    array = np.ascontiguousarray(array)
    code = _CODES.get(array.dtype)
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; valid: {sorted(map(str, _CODES))}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path
