"""The untrusted side: import a submission and serve calls to its functions over a pipe.

Run as ``python -I worker.py`` in a fresh folder holding the student's files,
with ``protocol.py`` and ``confine.py`` beside this file.  It may import only the
standard library, NumPy and those two.  Every reply carries the nonce of the run and the id of
the request it answers.  Student code runs in this process and can rewrite any
of it (raw memory writes through NumPy's array interface reach anything), so
nothing here is a defence: the import blocker only turns a forbidden import
into a message naming file and line, the limits are set by the kernel (lowered
by :mod:`.confine` before any student code, from the first frame), and the
harness validates every reply.  The defences are outside: the OS isolation of
:mod:`.isolation` and :mod:`.launch`, and the harness of :mod:`.client`.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import inspect
import io
import os
import sys
import time
import traceback
from types import ModuleType
from typing import Any

import numpy as np  # loaded before the address-space limit is set

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
import confine
import protocol

WORKDIR = os.path.realpath(os.getcwd())
_TRUSTED_PREFIXES = tuple(
    {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    | {os.path.realpath(os.path.dirname(__file__))}
)


#: Written to stderr once the start-up is done, just before student code may run.
STARTED = b"autograder-worker: started"


class ForbiddenImport(ImportError):
    """Raised when student code imports a module the assignment forbids."""


def _student_location() -> str:
    """``file, line N`` of the innermost student frame on the stack, or ``''``."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        path = os.path.realpath(name) if not name.startswith("<") else name
        if path.startswith(WORKDIR + os.sep):
            return f"{os.path.relpath(path, WORKDIR)}, line {frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return ""


def _importer_is_trusted() -> bool:
    """True when the nearest frame outside the import machinery is library code."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith("<frozen importlib") or "importlib" + os.sep in name):
            if name.startswith("<"):
                return False
            return os.path.realpath(name).startswith(_TRUSTED_PREFIXES)
        frame = frame.f_back  # type: ignore[assignment]
    return True


class ImportBlocker(importlib.abc.MetaPathFinder):
    """Refuse forbidden top-level packages when student code asks for them."""

    def __init__(self, forbidden: list[str]) -> None:
        self.forbidden = set(forbidden)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        top = fullname.partition(".")[0]
        if top in self.forbidden and not _importer_is_trusted():
            where = _student_location()
            raise ForbiddenImport(
                f"import of {top!r} is not allowed in this assignment" + (f" ({where})" if where else "")
            )
        return None


class CappedText(io.TextIOBase):
    """A text stream that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.reset()

    def reset(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        s = str(s)
        room = self.cap - self.kept
        if room > 0:
            self.parts.append(s[:room])
            self.kept += min(room, len(s))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[... {self.dropped} more characters of output not shown]"
        return out


def _trimmed_traceback(exc: BaseException) -> str:
    """The traceback limited to frames in the student's files."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename).startswith(WORKDIR + os.sep)
    ]
    for f in frames:
        f.filename = os.path.relpath(os.path.realpath(f.filename), WORKDIR)
    lines = traceback.format_list(frames) if frames else []
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-8000:]


def _text(obj: object, limit: int = 4000) -> str:
    """``str(obj)``, shortened; never raises, whatever the student's ``__str__`` does."""
    try:
        text = str(obj)
    except BaseException:
        return f"<{type(obj).__name__} whose str() failed>"
    return text if len(text) <= limit else text[:limit] + " [...]"


def _classify(exc: BaseException) -> tuple[str, str]:
    """(kind, message) for an exception raised by student code."""
    if isinstance(exc, ForbiddenImport):
        return "forbidden", _text(exc)
    if isinstance(exc, NotImplementedError):
        return "not_implemented", _text(exc) or "NotImplementedError"
    if isinstance(exc, MemoryError):
        return "memory", f"ran out of memory ({_text(exc)})" if _text(exc) else "ran out of memory"
    if isinstance(exc, SystemExit):
        return "error", f"called sys.exit({_text(exc.code, 200)}); the grader keeps going"
    if isinstance(exc, SyntaxError):
        name = os.path.basename(_text(exc.filename, 200)) if exc.filename else ""
        if "null bytes" in str(exc.msg) or "codec can't decode" in str(exc.msg):
            return "error", (
                f"{name or 'the file'} is not UTF-8 text (saved as UTF-16 or another encoding?): "
                "save it as UTF-8 in your editor and submit it again"
            )
        where = f"{name or '?'}, line {exc.lineno}" if exc.lineno else name or "?"
        return "error", f"SyntaxError ({where}): {_text(exc.msg)}"
    text = _text(exc)
    name = type(exc).__name__
    return "error", f"{name}: {text}" if text else name


#: Most nodes (values in lists, tuples and dicts) an argument digest visits.
_DIGEST_NODES = 1_000_000


def _digest(value: Any) -> bytes:
    """A digest of an argument's content (arrays, lists, tuples, dicts and the numbers in them)."""
    if type(value) is np.ndarray and value.flags.c_contiguous:  # most arguments: no walk
        h = hashlib.blake2b(f"nd{value.dtype.str}{value.shape}".encode(), digest_size=16)
        if value.size:
            h.update(value.data)
        return h.digest()
    h = hashlib.blake2b(digest_size=16)
    stack, seen = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > _DIGEST_NODES or depth > protocol.MAX_DEPTH:
            return b"too big"  # differs from any digest: such an argument counts as changed
        t = type(item)
        if t is np.ndarray:
            h.update(f"nd{item.dtype.str}{item.shape}".encode())
            h.update(np.ascontiguousarray(item).view(np.uint8).reshape(-1).data if item.size else b"")
        elif t in (list, tuple):
            h.update(f"{t.__name__}{len(item)}".encode())
            stack.extend((v, depth + 1) for v in reversed(item))
        elif t is dict:
            h.update(f"dict{len(item)}".encode())
            for k, v in item.items():
                h.update(b"k" + repr(k).encode() if type(k) is str else b"k?")
                stack.append((v, depth + 1))
        elif item is None or t in (bool, int, float, str):
            h.update(f"{t.__name__}:{item!r}".encode())
        else:
            h.update(f"other:{id(item)}".encode())
    return h.digest()


def _digests(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[Any, bytes]:
    """Digests of the arguments a call could change in place: arrays, lists, tuples and dicts."""
    mutable = (np.ndarray, list, tuple, dict)
    out: dict[Any, bytes] = {i: _digest(a) for i, a in enumerate(args) if type(a) in mutable}
    out.update({k: _digest(v) for k, v in kwargs.items() if type(v) in mutable})
    return out


def _changed(func: Any, before: dict[Any, bytes], args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    """Names (``argument N`` when unknown) of the arguments whose digest differs from ``before``."""
    changed = []
    for key, digest in before.items():
        value = args[key] if isinstance(key, int) else kwargs[key]
        try:
            same = _digest(value) == digest
        except BaseException:  # the student's code made it unreadable
            same = False
        if not same:
            changed.append(key)
    if not changed:
        return []
    try:
        names = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        names = []
    out = []
    for key in changed[:64]:
        if isinstance(key, str):
            out.append(key)
        elif key < len(names) and names[key].isidentifier():
            out.append(names[key])
        else:
            out.append(f"argument {key + 1}")
    return out


def _load_modules(files: list[str]) -> tuple[dict[str, ModuleType], dict[str, Any]]:
    modules: dict[str, ModuleType] = {}
    report: dict[str, Any] = {}
    for file in files:
        name = file[:-3]
        path = os.path.join(WORKDIR, file)
        if not os.path.isfile(path):
            report[file] = {"ok": False, "kind": "error", "message": f"{file} is missing", "traceback": ""}
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException as exc:
            sys.modules.pop(name, None)
            kind, message = _classify(exc)
            report[file] = {"ok": False, "kind": kind, "message": message, "traceback": _trimmed_traceback(exc)}
            continue
        modules[file] = module
        report[file] = {"ok": True}
    return modules, report


def read_exact_from(stream: Any) -> Any:
    """``read(n)``: exactly ``n`` bytes from ``stream``, fewer only at its end."""

    def read_exact(n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = stream.read(n - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    return read_exact


def main(first: tuple[dict[str, Any], list[bytes]] | None = None) -> None:
    """Serve the harness on fds 0 and 1; ``first`` is the first frame when it was read
    already (by the zygote, which wrote the files it carries)."""
    # The protocol owns the original stdin/stdout; student code sees /dev/null
    # at the fd level and a capped buffer at the Python level.
    requests = os.fdopen(os.dup(0), "rb")  # buffered: a small request is one system call
    replies = os.fdopen(os.dup(1), "wb")
    read_exact = read_exact_from(requests)
    cfg, _ = first if first is not None else protocol.read_frame(read_exact, 1 << 20)
    uid, seccomp = cfg.get("uid"), cfg.get("seccomp")
    confine.enter(
        dict(cfg["limits"]), int(uid) if uid is not None else None, bytes.fromhex(seccomp) if seccomp else None
    )
    # Everything on stderr so far came from the start-up, none from student code.
    os.write(2, STARTED + b"\n")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)

    nonce = cfg["nonce"]
    capture = CappedText(int(cfg["output_chars"]))
    sys.stdout = sys.stderr = capture
    sys.stdin = io.StringIO()
    forbidden = [str(n) for n in cfg["forbidden"]]
    forbidden += [f"_{n}" for n in forbidden]  # the C half too: _ctypes for ctypes
    sys.meta_path.insert(0, ImportBlocker(forbidden))
    for name in list(sys.modules):
        if name.partition(".")[0] in forbidden:
            del sys.modules[name]  # so that `import ctypes` goes through the blocker
    sys.path.insert(0, WORKDIR)

    call_id = ""

    def reply(header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        header["nonce"] = nonce
        header["id"] = call_id
        protocol.write_frame(replies, header, blobs or [])

    capture.reset()
    modules, load_report = _load_modules(list(cfg["modules"]))
    functions = sorted(
        {name for m in modules.values() for name, obj in vars(m).items() if callable(obj) and not name.startswith("_")}
    )
    reply({"op": "ready", "modules": load_report, "functions": functions, "stdout": capture.text()})

    while True:
        try:
            request, blobs = protocol.read_frame(read_exact, 1 << 40, 1 << 40)
        except EOFError:
            return
        if request.get("op") != "call":
            return
        fname = str(request.get("function"))
        call_id = str(request.get("id", ""))
        capture.reset()
        start = time.perf_counter()
        try:
            func = None
            for module in modules.values():
                func = getattr(module, fname, None)
                if func is not None:
                    break
            if func is None or not callable(func):
                reply(
                    {
                        "op": "result",
                        "ok": False,
                        "kind": "missing",
                        "message": f"no function named {fname}",
                        "traceback": "",
                        "stdout": "",
                        "elapsed": 0.0,
                    }
                )
                continue
            args = protocol.decode(request["args"], blobs)
            kwargs = protocol.decode(request["kwargs"], blobs)
            before = _digests(args, kwargs)
            value = func(*args, **kwargs)
            elapsed = time.perf_counter() - start
            changed = _changed(func, before, args, kwargs)
            tree, out_blobs = protocol.encode(value)
        except protocol.EncodeError as exc:
            reply(
                {
                    "op": "result",
                    "ok": False,
                    "kind": "bad_return",
                    "message": f"{fname} returned {exc}, which cannot be graded",
                    "traceback": "",
                    "stdout": capture.text(),
                    "elapsed": time.perf_counter() - start,
                }
            )
            continue
        except BaseException as exc:
            try:
                kind, message = _classify(exc)
                tb = _trimmed_traceback(exc)
            except BaseException:
                kind, message, tb = "error", type(exc).__name__, ""
            reply(
                {
                    "op": "result",
                    "ok": False,
                    "kind": kind,
                    "message": message,
                    "exc_type": type(exc).__name__[:100],
                    "traceback": tb,
                    "stdout": capture.text(),
                    "elapsed": time.perf_counter() - start,
                }
            )
            continue
        try:
            reply(
                {
                    "op": "result",
                    "ok": True,
                    "value": tree,
                    "stdout": capture.text(),
                    "elapsed": elapsed,
                    "changed": changed,
                },
                out_blobs,
            )
        except (TypeError, ValueError, OverflowError) as exc:
            reply(
                {
                    "op": "result",
                    "ok": False,
                    "kind": "bad_return",
                    "message": f"{fname} returned a value that cannot be sent ({_text(exc, 200)})",
                    "traceback": "",
                    "stdout": "",
                    "elapsed": elapsed,
                }
            )


if __name__ == "__main__":
    main()
