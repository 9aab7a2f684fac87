"""Wire format between harness and sandbox worker: JSON headers and ``.npy`` blobs, never pickle.

A frame is ``u32 header length, u32 blob count, header (UTF-8 JSON), then per
blob a u64 length and the bytes``.  Values nest as JSON with three tagged
objects: ``{"$nd": i}`` (blob ``i`` is an ``.npy`` file, read with
``allow_pickle=False``), ``{"$tuple": [...]}`` and ``{"$dict": {...}}``.

This module is copied into the sandbox and imported by the worker, so it may
import only the standard library and NumPy.
"""

from __future__ import annotations

import io
import json
import math
import struct
from typing import Any, BinaryIO

import numpy as np

_HEAD = struct.Struct("<II")
_BLOB = struct.Struct("<Q")
#: Array dtypes allowed across the boundary: bool, signed/unsigned int, float, complex.
ARRAY_KINDS = "biufc"
MAX_DEPTH = 32


class ProtocolError(Exception):
    """A frame or value that does not follow the wire format."""


class EncodeError(ProtocolError):
    """A value of a type that cannot cross the boundary."""


def encode(value: Any) -> tuple[Any, list[bytes]]:
    """Turn ``value`` into a JSON-able tree and a list of ``.npy`` blobs."""
    blobs: list[bytes] = []

    def enc(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise EncodeError("value nested too deeply")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, (int, float)) and type(v) in (int, float):
            return v
        if isinstance(v, np.ndarray) and type(v) is np.ndarray:
            if v.dtype.kind not in ARRAY_KINDS:
                raise EncodeError(f"an array of dtype {v.dtype} (only numeric arrays can be graded)")
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(v), allow_pickle=False)
            blobs.append(buf.getvalue())
            return {"$nd": len(blobs) - 1}
        if isinstance(v, np.generic) and v.dtype.kind in ARRAY_KINDS:
            return enc(np.asarray(v), depth + 1)
        if type(v) is tuple:
            return {"$tuple": [enc(x, depth + 1) for x in v]}
        if type(v) is list:
            return [enc(x, depth + 1) for x in v]
        if type(v) is dict:
            if not all(type(k) is str for k in v):
                raise EncodeError("a dict with non-string keys")
            return {"$dict": {k: enc(x, depth + 1) for k, x in v.items()}}
        raise EncodeError(f"an object of type {type(v).__name__}")

    return enc(value, 0), blobs


def decode(tree: Any, blobs: list[bytes]) -> Any:
    """Inverse of :func:`encode`; validates every node and never unpickles."""

    def dec(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply")
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            return [dec(x, depth + 1) for x in v]
        if isinstance(v, dict) and len(v) == 1:
            (tag, inner), = v.items()
            if tag == "$nd" and type(inner) is int and 0 <= inner < len(blobs):
                return _load_array(blobs[inner])
            if tag == "$tuple" and isinstance(inner, list):
                return tuple(dec(x, depth + 1) for x in inner)
            if tag == "$dict" and isinstance(inner, dict):
                return {str(k): dec(x, depth + 1) for k, x in inner.items()}
        raise ProtocolError(f"malformed value node {str(v)[:80]!r}")

    return dec(tree, 0)


def _load_array(blob: bytes) -> np.ndarray:
    try:
        arr = np.load(io.BytesIO(blob), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any failure is a malformed blob
        raise ProtocolError(f"malformed array blob: {exc}") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in ARRAY_KINDS:
        raise ProtocolError("array blob of a non-numeric dtype")
    return arr


def write_frame(stream: BinaryIO, header: dict[str, Any], blobs: list[bytes]) -> None:
    """Write one frame and flush."""
    head = json.dumps(header, allow_nan=True).encode()
    parts = [_HEAD.pack(len(head), len(blobs)), head]
    for blob in blobs:
        parts += [_BLOB.pack(len(blob)), blob]
    stream.write(b"".join(parts))
    stream.flush()


def read_frame(read: Any, limit: int) -> tuple[dict[str, Any], list[bytes]]:
    """Read one frame with ``read(n) -> bytes`` (exactly n bytes or fewer at EOF).

    Raises EOFError on a closed stream and ProtocolError on anything malformed or
    on more than ``limit`` bytes in total.
    """
    budget = [limit]

    def take(n: int) -> bytes:
        if n > budget[0]:
            raise ProtocolError(f"reply larger than the {limit} byte limit")
        budget[0] -= n
        data = read(n)
        if len(data) < n:
            raise EOFError("stream closed")
        return data

    head_len, n_blobs = _HEAD.unpack(take(_HEAD.size))
    try:
        header = json.loads(take(head_len), parse_constant=_parse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"malformed header: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    blobs = [take(_BLOB.unpack(take(_BLOB.size))[0]) for _ in range(n_blobs)]
    return header, blobs


def _parse_constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]
