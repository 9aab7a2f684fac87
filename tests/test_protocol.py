"""The wire protocol (sandbox/protocol.py) and the harness's reading of replies: nothing sent is trusted.

The first half feeds crafted bytes to the decoder directly.  The second half
makes a real worker write them into the grader's channel (student code can
always find the channel, the run's nonce and the call's id in its own process)
and checks that the call fails cleanly, that the harness read no more than its
limit, and that the next call works in a fresh worker.
"""

from __future__ import annotations

import io
import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.sandbox import protocol
from autograder.sandbox.client import SandboxConfig, WorkerSandbox
from autograder.sandbox.isolation import Isolation, bwrap_problem
from autograder.sandbox.protocol import EncodeError, ProtocolError

LEVELS = [
    "rlimits",
    pytest.param(
        "bwrap",
        marks=pytest.mark.skipif(
            bwrap_problem() is not None, reason=f"strict isolation unavailable: {bwrap_problem()}"
        ),
    ),
]


def roundtrip(value: Any) -> Any:
    tree, blobs = protocol.encode(value)
    json.dumps(tree)  # the tree is plain JSON
    return protocol.decode(tree, blobs)


def npy(header: str, data: bytes = b"", version: int = 1) -> bytes:
    head = header.encode("latin1")
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head + data
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(head)) + head + data


def frame_reader(data: bytes) -> Any:
    stream = io.BytesIO(data)
    consumed = [0]

    def read(n: int) -> bytes:
        chunk = stream.read(n)
        consumed[0] += len(chunk)
        return chunk

    read.consumed = consumed  # type: ignore[attr-defined]
    return read


# -- values ------------------------------------------------------------------------


def test_plain_values_and_numeric_arrays_round_trip() -> None:
    value = {
        "a": [1, 2.5, None, True, "s"],
        "t": (np.arange(6.0).reshape(2, 3), 3),
        "scalar": np.float32(1.5),
        "zero_d": np.array(7),
        "empty": np.zeros((0, 4)),
        "fortran": np.asfortranarray(np.arange(12).reshape(3, 4)),
        "big_endian": np.arange(5, dtype=">i4"),
        "complex": np.array([1 + 2j]),
        "bools": np.array([True, False]),
        "strided": np.arange(10.0)[::3],
    }
    back = roundtrip(value)
    assert back.keys() == value.keys()
    assert back["a"] == [1, 2.5, None, True, "s"] and isinstance(back["t"], tuple)
    for key in ("scalar", "zero_d", "empty", "fortran", "big_endian", "complex", "bools", "strided"):
        want = np.asarray(value[key])
        assert type(back[key]) is np.ndarray
        assert back[key].shape == want.shape and back[key].dtype == want.dtype, key
        assert np.array_equal(back[key], want), key
    assert math.isnan(roundtrip(float("nan"))) and roundtrip(-math.inf) == -math.inf


class Equal:
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


class EqualFloat(float):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = float.__hash__


class EqualArray(np.ndarray):
    pass


class Str(str):
    pass


class FakeStr:
    """An object that claims to be a str to isinstance()."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return str


@pytest.mark.parametrize(
    "value",
    [
        Equal(),
        EqualFloat(1.0),
        np.zeros(3).view(EqualArray),
        Str("x"),
        FakeStr(),
        np.array([Equal()], dtype=object),
        np.zeros(2, dtype=[("a", "f8")]),
        np.array(["s"]),
        {1: 2},
        {"k": Equal()},
        [1, (2, Equal())],
        2**64,
        {1, 2},
        b"bytes",
    ],
    ids=lambda value: type(value).__name__,
)
def test_only_exact_plain_types_can_be_encoded(value: Any) -> None:
    with pytest.raises(EncodeError):
        protocol.encode(value)


def test_nesting_is_bounded_both_ways() -> None:
    deep: Any = 1.0
    for _ in range(protocol.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(EncodeError, match="nested too deeply"):
        protocol.encode(deep)
    with pytest.raises(ProtocolError, match="nested too deeply"):
        protocol.decode(json.loads("[" * 100 + "]" * 100), [])


@pytest.mark.parametrize(
    "tree",
    [
        {"$nd": 0},
        {"$nd": -1},
        {"$nd": "0"},
        {"$nd": True},
        {"$pickle": "..."},
        {"a": 1, "b": 2},
        {"$tuple": "x"},
        {"$dict": []},
        2**70,
        -(2**70),
    ],
)
def test_malformed_value_nodes_are_refused(tree: Any) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode(tree, [])


# -- .npy blobs ---------------------------------------------------------------------


def test_a_pickled_array_is_refused_without_unpickling_it(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"

    class Boom:
        def __reduce__(self) -> Any:
            return (Path.touch, (marker,))

    buf = io.BytesIO()
    np.save(buf, np.array([Boom()], dtype=object), allow_pickle=True)
    with pytest.raises(ProtocolError, match="non-numeric dtype"):
        protocol.load_array(buf.getvalue())
    with pytest.raises(ProtocolError):
        protocol.decode({"$nd": 0}, [buf.getvalue()])
    assert not marker.exists()


@pytest.mark.parametrize(
    "blob, match",
    [
        (b"not npy at all", "not in .npy format"),
        (
            npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", b"\0" * 8),
            "holds 8 bytes, not 8000000000000",
        ),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (10**12,), }", b"\0" * 8), "malformed header"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", b"\0" * 25), "holds 25"),
        (npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8), "non-numeric"),
        (npy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", b"\0" * 8), "malformed header"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"), "malformed header"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}"), "malformed header"),
        (npy("__import__('os').system('touch /tmp/x')"), "malformed header"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 200 + ")" * 200 + "}"), "malformed header"),
        (npy("{'descr': 'nonsense', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8), "unknown dtype"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }", version=9), "unknown .npy version"),
        (npy("{'descr': '<V8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8), "non-numeric"),
    ],
    ids=lambda v: "npy" if isinstance(v, bytes) else v,
)
def test_array_blobs_are_checked_before_numpy_reads_them(blob: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        protocol.load_array(blob)


def test_npy_written_by_numpy_is_read_including_version_2() -> None:
    for version in ((1, 0), (2, 0)):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.arange(6.0).reshape(2, 3), version=version)
        assert np.array_equal(protocol.load_array(buf.getvalue()), np.arange(6.0).reshape(2, 3))


def test_known_headers_read_and_write_exactly_as_fresh_ones() -> None:
    arrays = [
        np.arange(6.0).reshape(2, 3),
        np.ones(3),
        np.arange(6, dtype=">i4").reshape(3, 2),
        np.asfortranarray(np.arange(6.0, dtype=np.float32).reshape(2, 3)),
        np.array(7, np.int8),
        np.zeros((0, 4), np.complex64),
        np.array([True, False]),
    ]
    protocol._NPY_HEADS.clear()
    protocol._READ_HEADS.clear()
    fresh = [protocol._npy(arr) for arr in arrays]
    for _ in range(2):  # from the known headers now
        for arr, blob, first in zip(arrays, map(protocol._npy, arrays), fresh, strict=True):
            assert blob == first
            assert np.array_equal(np.load(io.BytesIO(blob), allow_pickle=False), arr)
            back = protocol.load_array(blob)
            assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr)
            with pytest.raises(ProtocolError, match="holds"):  # a known header, the wrong data
                protocol.load_array(blob + b"\0")
    assert protocol._READ_HEADS and protocol._NPY_HEADS
    for text in ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "nonsense"):
        for _ in range(2):  # a refused header is refused again, never kept
            with pytest.raises(ProtocolError):
                protocol.load_array(npy(text, b"\0" * 8))
    kept = len(protocol._READ_HEADS)
    padded = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }" + " " * 300 + "\n"
    assert np.array_equal(protocol.load_array(npy(padded, b"\0" * 16)), np.zeros(2))
    assert len(protocol._READ_HEADS) == kept  # an outsized header is read, not kept
    for n in range(protocol.KNOWN_HEADERS + 10):  # more shapes than either cache holds
        assert protocol.load_array(protocol._npy(np.zeros((1, n + 1)))).shape == (1, n + 1)
    assert 0 < len(protocol._NPY_HEADS) <= protocol.KNOWN_HEADERS
    assert 0 < len(protocol._READ_HEADS) <= protocol.KNOWN_HEADERS


# -- frames ----------------------------------------------------------------------------


def test_frame_round_trip_with_blobs() -> None:
    tree, blobs = protocol.encode((np.ones((2, 2)), "x"))
    read = frame_reader(protocol.frame_bytes({"value": tree, "nonce": "n"}, blobs))
    header, got = protocol.read_frame(read, 1 << 20)
    assert header["nonce"] == "n"
    assert protocol.decode(header["value"], got)[1] == "x"


@pytest.mark.parametrize(
    "data, match",
    [
        (struct.pack("<II", 2**32 - 1, 0), "reply header of 4294967295 bytes"),
        (struct.pack("<II", 2, 10**6) + b"{}", "reply with 1000000 arrays"),
        (struct.pack("<II", 2, 1) + b"{}" + struct.pack("<Q", 2**63), "larger than the"),
        (struct.pack("<II", 3, 0) + b"[1]", "not an object"),
        (struct.pack("<II", 4, 0) + b"\xff\xfe{}", "malformed header"),
        (struct.pack("<II", 4, 0) + b"{x:1", "malformed header"),
    ],
)
def test_frames_are_bounded_and_validated(data: bytes, match: str) -> None:
    read = frame_reader(data + b"\0" * 64)
    with pytest.raises(ProtocolError, match=match):
        protocol.read_frame(read, 1 << 20, header_limit=1 << 16)
    assert read.consumed[0] <= len(data)  # nothing read past the refusal


def test_deeply_nested_json_is_a_protocol_error_not_a_crash() -> None:
    head = b'{"v": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with pytest.raises(ProtocolError, match="malformed header"):
        protocol.read_frame(frame_reader(struct.pack("<II", len(head), 0) + head), 1 << 22)


def test_truncated_stream_is_eof() -> None:
    with pytest.raises(EOFError):
        protocol.read_frame(frame_reader(struct.pack("<II", 10, 0) + b"{}"), 1 << 20)
    with pytest.raises(EOFError):
        protocol.read_frame(frame_reader(b""), 1 << 20)


# -- a real worker writing into the grader's channel ---------------------------------

CHANNEL = """
import io, json, os, struct, sys, time
import numpy as np


def _channel():
    frame = sys._getframe()
    while frame is not None:
        if "nonce" in frame.f_locals and "replies" in frame.f_locals:
            return frame.f_locals
        frame = frame.f_back


def _frame(header, blobs=()):
    head = json.dumps(header).encode()
    out = struct.pack("<II", len(head), len(blobs)) + head
    for blob in blobs:
        out += struct.pack("<Q", len(blob)) + blob
    return out


def _npy(header, data):
    head = header.encode()
    return b"\\x93NUMPY\\x01\\x00" + struct.pack("<H", len(head)) + head + data


def send(kind):
    found = _channel()
    out, nonce, call_id = found["replies"], found["nonce"], found["call_id"]
    ok = {"op": "result", "ok": True, "stdout": "", "nonce": nonce, "id": call_id}
    if kind == "garbage":
        out.write(b"\\x00garbage" * 100)
    elif kind == "header_too_long":
        out.write(struct.pack("<II", 2**31, 0))
    elif kind == "endless":
        out.write(struct.pack("<II", 2, 1) + b"{}" + struct.pack("<Q", 2**40))
        chunk = b"\\x7f" * (1 << 20)
        while True:
            out.write(chunk)
    elif kind == "wrong_nonce":
        out.write(_frame({**ok, "value": 2.0, "nonce": "0" * 32}))
    elif kind == "wrong_id":
        out.write(_frame({**ok, "value": 2.0, "id": "f" * 16}))
    elif kind == "deep_json":
        head = b'{"v": ' + b"[" * 100000 + b"]" * 100000 + b"}"
        out.write(struct.pack("<II", len(head), 0) + head)
    elif kind == "shape_lie":
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }"
        blob = _npy(header, b"\\0" * 8)
        out.write(_frame({**ok, "value": {"$nd": 0}}, [blob]))
    elif kind == "pickle":
        blob = _npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"\\x80\\x04N.")
        out.write(_frame({**ok, "value": {"$nd": 0}}, [blob]))
    elif kind == "bad_tag":
        out.write(_frame({**ok, "value": {"$eval": "__import__('os')"}}))
    elif kind == "huge_int":
        out.write(_frame({**ok, "value": 10**100}))
    out.flush()
    time.sleep(60)


def send_ahead():
    # A well-formed reply to this very call, left unflushed: the worker's own reply follows it.
    found = _channel()
    ok = {"op": "result", "ok": True, "stdout": "", "nonce": found["nonce"], "id": found["call_id"]}
    found["replies"].write(_frame({**ok, "value": 7.0}))
    return 7.0


def arange(n):
    return np.arange(n, dtype=np.float64)


def ok():
    return 42
"""

#: What the worker writes -> what the harness must report about the call.
CRAFTED = {
    "garbage": "malformed",
    "header_too_long": "reply header of 2147483648 bytes",
    "endless": "larger than the 1048576 byte limit",
    "wrong_nonce": "reply it did not expect",
    "wrong_id": "reply it did not expect",
    "deep_json": "malformed header",
    "shape_lie": "holds 8 bytes, not 800000000000",
    "pickle": "non-numeric dtype",
    "bad_tag": "malformed value node",
    "huge_int": "beyond 64 bits",
}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("kind", sorted(CRAFTED))
def test_crafted_replies_fail_the_call_and_the_next_call_works(kind: str, level: str) -> None:
    cfg = SandboxConfig(
        isolation=Isolation(level),  # type: ignore[arg-type]
        call_timeout=10,
        reply_bytes=1 << 20,
    )
    with WorkerSandbox({"m.py": CHANNEL.encode()}, ("m.py",), cfg) as box:
        outcome = box.call("send", (kind,), {})
        assert outcome.kind == "error", (outcome.kind, outcome.message)
        assert CRAFTED[kind] in outcome.message, outcome.message
        after = box.call("ok", (), {})
        assert after.ok and after.value == 42


@pytest.mark.parametrize("level", LEVELS)
def test_bytes_read_past_a_reply_are_never_taken_for_the_next_calls(level: str) -> None:
    """The harness reads ahead of the frame it needs: what the worker sent after its reply
    still replaces the worker before the next call, as bytes left in the pipe do; a reply far
    larger than one read, and small ones after it, arrive whole."""
    cfg = SandboxConfig(isolation=Isolation(level), call_timeout=10, reply_bytes=1 << 24)  # type: ignore[arg-type]
    with WorkerSandbox({"m.py": CHANNEL.encode()}, ("m.py",), cfg) as box:
        first = box.call("send_ahead", (), {})
        assert first.ok and first.value == 7.0
        after = box.call("ok", (), {})
        assert after.ok and after.value == 42, after.message
        big = box.call("arange", (300_000,), {})
        assert big.ok and np.array_equal(big.value, np.arange(300_000, dtype=np.float64))
        for _ in range(3):
            assert box.call("ok", (), {}).value == 42


def test_load_report_keeps_only_the_configured_modules_capped() -> None:
    from autograder.sandbox.client import LOAD_MESSAGE_CHARS, LOAD_TRACEBACK_CHARS, _load_report

    forged = {
        "target.py": {"ok": False, "kind": "no-such-kind", "message": "m" * 10**6, "traceback": ["not", "text"]},
        "extra.py": {"ok": False, "kind": "error", "message": "LEAK"},
        "helpers.py": {"ok": True, "message": "LEAK"},
    }
    kept = _load_report(forged, ("target.py", "helpers.py", "absent.py"))
    assert list(kept) == ["target.py", "helpers.py", "absent.py"]
    target = kept["target.py"]
    assert not target.ok and target.kind == "error"
    assert len(target.message) <= LOAD_MESSAGE_CHARS and target.message.endswith("[...]")
    assert len(target.traceback) <= LOAD_TRACEBACK_CHARS
    assert kept["helpers.py"].ok and kept["helpers.py"].message == ""
    assert not kept["absent.py"].ok and "did not report" in kept["absent.py"].message
    assert "LEAK" not in repr(kept)
    # Anything but a dict is a report of nothing; a real failure keeps its kind and text.
    assert not _load_report(["x"], ("target.py",))["target.py"].ok
    honest = _load_report({"target.py": {"ok": False, "kind": "forbidden", "message": "torch"}}, ("target.py",))
    assert (honest["target.py"].kind, honest["target.py"].message) == ("forbidden", "torch")


def test_strings_are_bounded_at_decoding() -> None:
    limit = protocol.MAX_STRING_CHARS
    assert protocol.decode("x" * limit, []) == "x" * limit
    for tree in ("x" * (limit + 1), ["ok", "y" * (limit + 1)], {"$dict": {"k" * (limit + 1): 1}}):
        with pytest.raises(ProtocolError, match="at most 1,048,576 can be graded"):
            protocol.decode(tree, [])


@pytest.mark.parametrize("level", LEVELS)
def test_a_returned_string_over_the_limit_fails_that_call_only(level: str) -> None:
    source = b"def text(n):\n    return 'x' * n\n"
    cfg = SandboxConfig(isolation=Isolation(level), call_timeout=10)  # type: ignore[arg-type]
    with WorkerSandbox({"m.py": source}, ("m.py",), cfg) as box:
        huge = box.call("text", (15_000_000,), {})
        assert huge.kind == "error" and "a string of 15,000,000 characters" in huge.message, huge.message
        assert len(huge.message) < 500
        fine = box.call("text", (1000,), {})
        assert fine.ok and fine.value == "x" * 1000
