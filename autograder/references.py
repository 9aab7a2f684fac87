"""Reference outputs computed once per process: the ``@reference`` decorator check files use.

Every submission of a batch is graded with the same seed, so a check's reference
outputs (a torch forward pass, a closed formula, a reference model's training) are
the same for every student.  A function marked ``@reference`` is computed for the
first submission and copied for the others, keyed by the contents of its arguments.
Check authors import it from :mod:`autograder.checks`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

#: Reference results kept per process, at most: entries, and bytes of the arrays they hold.
REFERENCE_ENTRIES, REFERENCE_BYTES = 4096, 128 * 1024 * 1024
#: Set to ``0`` to compute every reference afresh (no cache).
REFERENCE_CACHE_ENV = "AUTOGRADER_REFERENCE_CACHE"

_F = TypeVar("_F", bound=Callable[..., Any])


class _ReferenceCache:
    """Results of :func:`reference` functions, least recently used first; bounded in entries and array bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.entries: OrderedDict[bytes, tuple[Any, int]] = OrderedDict()
        self.bytes = 0
        self.lock = threading.Lock()

    def get(self, key: bytes) -> tuple[bool, Any]:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return False, None
            self.entries.move_to_end(key)
            return True, entry[0]

    def put(self, key: bytes, value: Any, size: int) -> None:
        if size > self.max_bytes:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self.entries[key] = (value, size)
            self.bytes += size
            while len(self.entries) > self.max_entries or self.bytes > self.max_bytes:
                self.bytes -= self.entries.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.bytes = 0


_references = _ReferenceCache(REFERENCE_ENTRIES, REFERENCE_BYTES)
_serials = iter(range(1, 1 << 62))


class _Unkeyable(Exception):
    """An argument or result the reference cache cannot copy or key by its contents."""


def _feed(h: Any, value: Any, depth: int = 0) -> None:
    """Add ``value``'s type and contents to the hash ``h``; raise _Unkeyable for other objects."""
    if depth > 20:
        raise _Unkeyable
    t = type(value)
    if t is np.ndarray and not value.dtype.hasobject and value.dtype.fields is None:  # the common case, fast
        h.update(f"array:{value.dtype.str}:{value.shape}:".encode())
        h.update(value.data if value.flags.c_contiguous else np.ascontiguousarray(value).data)
        h.update(b";")
    elif value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        h.update(f"{t.__name__}:{value!r};".encode())
    elif isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.hasobject or value.dtype.fields is not None or isinstance(value, np.ma.MaskedArray):
            raise _Unkeyable  # objects, records (same dtype.str, other fields), masks (not in the bytes)
        h.update(f"array:{value.dtype.str}:{value.shape}:".encode())
        h.update(np.ascontiguousarray(value).tobytes())
        h.update(b";")
    elif type(value) in (tuple, list):  # not their subclasses (a namedtuple's fields)
        h.update(f"{type(value).__name__}:{len(value)}(".encode())
        for item in value:
            _feed(h, item, depth + 1)
        h.update(b")")
    elif type(value) is dict:
        h.update(f"dict:{len(value)}{{".encode())
        for name in value:  # in order: a reference may return its keys in the order given
            _feed(h, name, depth + 1)
            _feed(h, value[name], depth + 1)
        h.update(b"}")
    else:
        raise _Unkeyable


def _copy(value: Any, depth: int = 0) -> tuple[Any, int]:
    """(a copy of ``value`` no caller can change the original through, bytes of its arrays)."""
    if depth > 20:
        raise _Unkeyable
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.generic)):
        return value, 0
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise _Unkeyable
        return value.copy(), value.nbytes
    if type(value) in (tuple, list):
        items = [_copy(item, depth + 1) for item in value]
        return type(value)(v for v, _ in items), sum(n for _, n in items)
    if type(value) is dict:
        pairs = {name: _copy(item, depth + 1) for name, item in value.items()}
        return {name: v for name, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    raise _Unkeyable


def reference(function: _F) -> _F:
    """Memoise ``function``, a pure function computing a reference output, in this process.

    The key is ``function``'s name and a digest of its arguments' contents (arrays by
    dtype, shape and bytes; numbers, strings, None, and tuples, lists and dicts of them),
    so every submission graded with the same seed reuses the first one's references.
    Callers always get their own copy of the result, exceptions are never stored, and
    a call with any other kind of argument, or returning any other kind of value, is
    simply computed.  ``AUTOGRADER_REFERENCE_CACHE=0`` turns the cache off.  Only for
    functions of their arguments alone: one that draws from a global random state, or
    reads anything else that changes, must take it as an argument or stay uncached.
    """
    # A serial per decorated function: a check module imported again (edited) never
    # gets the results of its former self under the same name.
    prefix = f"{function.__module__}.{function.__qualname__}#{next(_serials)}".encode()

    @functools.wraps(function)
    def cached(*args: Any, **kwargs: Any) -> Any:
        if os.environ.get(REFERENCE_CACHE_ENV, "1") == "0":
            return function(*args, **kwargs)
        h = hashlib.blake2b(prefix, digest_size=32)
        try:
            _feed(h, args)
            _feed(h, dict(sorted(kwargs.items())))
        except (_Unkeyable, ValueError):  # ValueError: an int too long to print
            return function(*args, **kwargs)
        key = h.digest()
        found, value = _references.get(key)
        if found:
            return _copy(value)[0]
        result = function(*args, **kwargs)
        try:
            stored, size = _copy(result)
        except _Unkeyable:
            return result
        _references.put(key, stored, size)
        return result

    return cached  # type: ignore[return-value]


def clear_reference_cache() -> None:
    """Forget every result :func:`reference` holds in this process."""
    _references.clear()
