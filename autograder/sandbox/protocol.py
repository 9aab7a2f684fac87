"""Wire format between harness and sandbox worker: JSON headers and ``.npy`` blobs, never pickle.

A frame is ``u32 header length, u32 blob count, header (UTF-8 JSON), then per
blob a u64 length and the bytes``.  Values nest as JSON with three tagged
objects: ``{"$nd": i}`` (blob ``i`` is an ``.npy`` file), ``{"$tuple": [...]}``
and ``{"$dict": {...}}``.

Decoding trusts nothing: the reader stops at a byte budget, headers are
bounded and may not nest deeper than :data:`MAX_DEPTH`, integers must fit in 64
bits, and an ``.npy`` blob is parsed by hand (numeric dtypes only, no pickle,
the declared shape must match the bytes present) before NumPy sees its data.
Strings longer than :data:`MAX_STRING_CHARS` are refused.
What comes out is built from ``None``, ``bool``, ``int``, ``float``, ``str``,
``list``, ``tuple``, ``dict`` and plain ``np.ndarray`` only, so no object of
the sender's making, with its own ``__eq__``, ever reaches a check.

This module is copied into the sandbox and imported by the worker, so it may
import only the standard library and NumPy.
"""

from __future__ import annotations

import ast
import json
import math
import re
import struct
from typing import Any, BinaryIO

import numpy as np

_HEAD = struct.Struct("<II")
_BLOB = struct.Struct("<Q")
#: Array dtypes allowed across the boundary: bool, signed/unsigned int, float, complex.
ARRAY_KINDS = "biufc"
MAX_DEPTH = 32
#: Largest JSON header read, bytes (values are mostly in blobs; stdout is capped).
MAX_HEADER_BYTES = 16 * 1024 * 1024
#: Most blobs (arrays) in one frame.
MAX_BLOBS = 4096
MAX_NDIM = 32
#: Longest string (value or dict key) a decoded value may hold: no graded function returns
#: more text, and every string that reaches a report or a cache is bounded here first.
MAX_STRING_CHARS = 1 << 20
_INT_BOUND = 2**63
#: The header :func:`_npy` writes, read without ``ast`` (``literal_eval`` is 10x slower);
#: any other header goes through ``literal_eval`` and the same validation.
_PLAIN_HEADER = re.compile(
    r"\{'descr': '([<>|=]?[a-zA-Z]\d{0,3})', 'fortran_order': (True|False), "
    r"'shape': \(((?:\d{1,19}, )*(?:\d{1,19},?)?)\)\} *\n"
)


class ProtocolError(Exception):
    """A frame or value that does not follow the wire format."""


class EncodeError(ProtocolError):
    """A value of a type that cannot cross the boundary."""


def encode(value: Any) -> tuple[Any, list[bytes]]:
    """Turn ``value`` into a JSON-able tree and a list of ``.npy`` blobs.

    Only exact built-in types and plain numeric ``np.ndarray``/NumPy scalars are
    accepted: subclasses (which could carry their own ``__eq__``) raise EncodeError.
    """
    blobs: list[bytes] = []

    def enc(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise EncodeError("a value nested too deeply")
        t = type(v)
        if v is None or t is bool or t is str:
            return v
        if t is int:
            if not -_INT_BOUND <= v < _INT_BOUND:
                raise EncodeError("an integer beyond 64 bits")
            return v
        if t is float:
            return v
        if t is np.ndarray:
            if v.dtype.kind not in ARRAY_KINDS or v.dtype.fields is not None:
                raise EncodeError(f"an array of dtype {v.dtype} (only numeric arrays can be graded)")
            blobs.append(_npy(v))
            return {"$nd": len(blobs) - 1}
        if isinstance(v, np.generic) and t.__module__ == "numpy" and v.dtype.kind in ARRAY_KINDS:
            return enc(np.asarray(v), depth + 1)
        if t is tuple:
            return {"$tuple": [enc(x, depth + 1) for x in v]}
        if t is list:
            return [enc(x, depth + 1) for x in v]
        if t is dict:
            if not all(type(k) is str for k in v):
                raise EncodeError("a dict with non-string keys")
            return {"$dict": {k: enc(x, depth + 1) for k, x in v.items()}}
        raise EncodeError(f"an object of type {t.__name__}")

    return enc(value, 0), blobs


def _npy(arr: np.ndarray) -> bytes:
    """``arr`` in ``.npy`` format (version 1.0), with a single copy of its data; 0-d stays 0-d."""
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")
    key = (arr.dtype.str, arr.shape)
    head = _NPY_HEADS.get(key)
    if head is None:
        header = repr(
            {
                "descr": np.lib.format.dtype_to_descr(arr.dtype),
                "fortran_order": False,
                "shape": tuple(int(n) for n in arr.shape),
            }
        ).encode("latin1")
        header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
        head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
        _remember(_NPY_HEADS, key, head)
    return b"".join([head, arr.reshape(-1).data.cast("B") if arr.size else b""])


#: ``.npy`` headers made (by dtype and shape) and read (by their bytes, once validated): the
#: calls of a grading pass the same few shapes again and again.  Each holds at most
#: :data:`KNOWN_HEADERS` entries.
_NPY_HEADS: dict[tuple[str, tuple[int, ...]], bytes] = {}
_READ_HEADS: dict[bytes, tuple[np.dtype[Any], tuple[int, ...], bool]] = {}
KNOWN_HEADERS = 1024
#: Longest header text (bytes) kept once read.
MAX_KNOWN_HEADER = 256


def _remember(known: dict[Any, Any], key: Any, value: Any) -> None:
    """Keep ``value`` under ``key`` in ``known``, emptied first when full."""
    if len(known) >= KNOWN_HEADERS:
        known.clear()
    known[key] = value


def decode(tree: Any, blobs: list[bytes]) -> Any:
    """Inverse of :func:`encode`; validates every node and never unpickles."""

    def dec(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply")
        t = type(v)
        if t is str:
            return _bounded(v)
        if v is None or t is bool or t is float:
            return v
        if t is int:
            if not -_INT_BOUND <= v < _INT_BOUND:
                raise ProtocolError("an integer beyond 64 bits")
            return v
        if t is list:
            return [dec(x, depth + 1) for x in v]
        if t is dict and len(v) == 1:
            ((tag, inner),) = v.items()
            if tag == "$nd" and type(inner) is int and 0 <= inner < len(blobs):
                return load_array(blobs[inner])
            if tag == "$tuple" and type(inner) is list:
                return tuple(dec(x, depth + 1) for x in inner)
            if tag == "$dict" and type(inner) is dict:
                return {_bounded(str(k)): dec(x, depth + 1) for k, x in inner.items()}
        raise ProtocolError(f"malformed value node {str(v)[:80]!r}")

    return dec(tree, 0)


def _bounded(text: str) -> str:
    if len(text) > MAX_STRING_CHARS:
        raise ProtocolError(f"a string of {len(text):,} characters (at most {MAX_STRING_CHARS:,} can be graded)")
    return text


def load_array(blob: bytes) -> np.ndarray:
    """Read an ``.npy`` blob: numeric dtype, exact size, a fresh array owning its data.

    The header is parsed without NumPy's reader, so a header that declares a
    huge shape cannot make the reader allocate it, and no dtype that needs
    pickle is ever considered.
    """
    if len(blob) < 10 or blob[:6] != b"\x93NUMPY":
        raise ProtocolError("array blob is not in .npy format")
    major = blob[6]
    if major == 1:
        (hlen,), start = struct.unpack("<H", blob[8:10]), 10
    elif major in (2, 3) and len(blob) >= 12:
        (hlen,), start = struct.unpack("<I", blob[8:12]), 12
    else:
        raise ProtocolError(f"array blob of unknown .npy version {major}")
    if hlen > 65536 or start + hlen > len(blob):
        raise ProtocolError("array blob with a malformed header")
    # Headers of the size _npy writes are kept once validated; a sender's outsized ones
    # are neither kept nor used as a key.
    key = blob[6 : start + hlen] if hlen <= MAX_KNOWN_HEADER else None
    known = _READ_HEADS.get(key) if key is not None else None
    if known is None:
        known = _read_header(blob[start : start + hlen].decode("latin1"))
        if key is not None:
            _remember(_READ_HEADS, key, known)
    dtype, shape, fortran_order = known
    count = math.prod(shape)
    data = memoryview(blob)[start + hlen :]
    if count * dtype.itemsize != len(data):
        raise ProtocolError(
            f"array blob of shape {shape} and dtype {dtype} holds {len(data)} bytes, not {count * dtype.itemsize}"
        )
    try:
        flat = np.frombuffer(data, dtype=dtype, count=count)
        if fortran_order:
            return flat.reshape(shape[::-1]).T.copy(order="C")
        return flat.reshape(shape).copy()
    except (ValueError, MemoryError) as exc:
        raise ProtocolError(f"array blob that cannot be read: {str(exc)[:200]}") from None


def _read_header(text: str) -> tuple[np.dtype[Any], tuple[int, ...], bool]:
    """(dtype, shape, Fortran order) of an ``.npy`` header's text, every part validated."""
    plain = _PLAIN_HEADER.fullmatch(text)
    try:
        header = (
            {
                "descr": plain[1],
                "fortran_order": plain[2] == "True",
                "shape": tuple(int(n) for n in plain[3].replace(",", " ").split()),
            }
            if plain
            else ast.literal_eval(text)
        )
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ProtocolError("array blob with a malformed header") from None
    if (
        type(header) is not dict
        or set(header) != {"descr", "fortran_order", "shape"}
        or type(header["descr"]) is not str
        or type(header["fortran_order"]) is not bool
        or type(header["shape"]) is not tuple
        or len(header["shape"]) > MAX_NDIM
        or not all(type(n) is int and 0 <= n < _INT_BOUND for n in header["shape"])
    ):
        raise ProtocolError("array blob with a malformed header")
    try:
        dtype = np.dtype(header["descr"])
    except (TypeError, ValueError):
        raise ProtocolError(f"array blob of unknown dtype {header['descr'][:40]!r}") from None
    if (
        dtype.kind not in ARRAY_KINDS
        or dtype.fields is not None
        or dtype.subdtype is not None
        or dtype.hasobject
        or dtype.itemsize == 0
    ):
        raise ProtocolError(f"array blob of a non-numeric dtype {dtype}")
    return dtype, header["shape"], header["fortran_order"]


def write_frame(stream: BinaryIO, header: dict[str, Any], blobs: list[bytes]) -> None:
    """Write one frame, part by part (no copy of the blobs), and flush."""
    head = json.dumps(header, allow_nan=True).encode()
    stream.write(_HEAD.pack(len(head), len(blobs)) + head)
    for blob in blobs:
        stream.write(_BLOB.pack(len(blob)))
        stream.write(blob)
    stream.flush()


def frame_bytes(header: dict[str, Any], blobs: list[bytes]) -> bytes:
    """One frame as bytes."""
    head = json.dumps(header, allow_nan=True).encode()
    parts = [_HEAD.pack(len(head), len(blobs)), head]
    for blob in blobs:
        parts += [_BLOB.pack(len(blob)), blob]
    return b"".join(parts)


def read_frame(read: Any, limit: int, header_limit: int = MAX_HEADER_BYTES) -> tuple[dict[str, Any], list[bytes]]:
    """Read one frame with ``read(n) -> bytes`` (exactly n bytes or fewer at EOF).

    Raises EOFError on a closed stream and ProtocolError on anything malformed,
    on a header over ``header_limit`` bytes or on more than ``limit`` bytes in
    total; it never reads past the byte it refuses at.
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
    if head_len > header_limit:
        raise ProtocolError(f"reply header of {head_len} bytes (limit {header_limit})")
    if n_blobs > MAX_BLOBS:
        raise ProtocolError(f"reply with {n_blobs} arrays (limit {MAX_BLOBS})")
    try:
        header = json.loads(take(head_len), parse_constant=_parse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError(f"malformed header: {str(exc)[:200]}") from None
    if type(header) is not dict:
        raise ProtocolError("header is not an object")
    blobs = [take(_BLOB.unpack(take(_BLOB.size))[0]) for _ in range(n_blobs)]
    return header, blobs


def _parse_constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]
