"""Attack: write forged replies straight into the grader's channel, with the run's nonce and
the call's id dug out of the worker's own frames: to the public check a well-formed reply claiming a value
it did not compute (then exit before the real one), to the hidden one a reply to some other call.

Expected: the forged value is still judged by the harness (3x is not 2x: "wrong values",
and the forged stdout shows the harness read it); the reply to another call is refused as
unexpected.  ``double`` fails both times, ``add`` passes.
"""

import io
import json
import os
import struct
import sys

import numpy as np


def add(a, b):
    return np.add(a, b)


def _frame(header, blobs=()):
    head = json.dumps(header).encode()
    parts = [struct.pack("<II", len(head), len(blobs)), head]
    for blob in blobs:
        parts += [struct.pack("<Q", len(blob)), blob]
    return b"".join(parts)


def _worker_locals():
    frame = sys._getframe()
    while frame is not None:
        if "nonce" in frame.f_locals and "replies" in frame.f_locals:
            return frame.f_locals
        frame = frame.f_back
    raise RuntimeError("worker frame not found")


def double(x):
    found = _worker_locals()
    channel, nonce, call_id = found["replies"], found["nonce"], found["call_id"]
    if np.ndim(x) == 2:  # the public check
        buf = io.BytesIO()
        np.save(buf, 3 * np.asarray(x))
        header = {
            "op": "result",
            "ok": True,
            "value": {"$nd": 0},
            "elapsed": 0.0,
            "stdout": "FORGED reply with the right nonce and id",
            "nonce": nonce,
            "id": call_id,
        }
        channel.write(_frame(header, [buf.getvalue()]))
    else:
        header = {"op": "result", "ok": True, "value": 1.0, "stdout": "", "nonce": nonce, "id": "0" * 16}
        channel.write(_frame(header))
    channel.flush()
    os._exit(0)
