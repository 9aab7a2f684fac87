"""The untrusted side: import a submission and serve calls to its functions over a pipe.

Run as ``python -I worker.py`` in a fresh folder holding the student's files,
with ``protocol.py`` beside this file.  It may import only the standard library,
NumPy and ``protocol``.  Every reply carries the nonce of the run; nothing the
student's code does here is trusted by the harness, which validates all replies.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import io
import os
import resource
import sys
import time
import traceback
from types import ModuleType
from typing import Any

import numpy as np  # noqa: F401 - loaded before the address-space limit is set

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
import protocol  # noqa: E402

_WORKDIR = os.path.realpath(os.getcwd())
_TRUSTED_PREFIXES = tuple(
    {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    | {os.path.realpath(os.path.dirname(__file__))}
)


class ForbiddenImport(ImportError):
    """Raised when student code imports a module the assignment forbids."""


def _student_location() -> str:
    """``file, line N`` of the innermost student frame on the stack, or ``''``."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        path = os.path.realpath(name) if not name.startswith("<") else name
        if path.startswith(_WORKDIR + os.sep):
            return f"{os.path.relpath(path, _WORKDIR)}, line {frame.f_lineno}"
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
                f"import of {top!r} is not allowed in this assignment"
                + (f" ({where})" if where else "")
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
        f for f in traceback.extract_tb(exc.__traceback__)
        if os.path.realpath(f.filename).startswith(_WORKDIR + os.sep)
    ]
    for f in frames:
        f.filename = os.path.relpath(os.path.realpath(f.filename), _WORKDIR)
    lines = traceback.format_list(frames) if frames else []
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-8000:]


def _classify(exc: BaseException) -> tuple[str, str]:
    """(kind, message) for an exception raised by student code."""
    if isinstance(exc, ForbiddenImport):
        return "forbidden", str(exc)
    if isinstance(exc, NotImplementedError):
        return "not_implemented", str(exc) or "NotImplementedError"
    if isinstance(exc, MemoryError):
        return "memory", f"ran out of memory ({exc})" if str(exc) else "ran out of memory"
    if isinstance(exc, SystemExit):
        return "error", f"called sys.exit({exc.code!r}); the grader keeps going"
    if isinstance(exc, SyntaxError):
        where = f"{os.path.basename(exc.filename or '?')}, line {exc.lineno}"
        return "error", f"SyntaxError ({where}): {exc.msg}"
    text = str(exc)
    return "error", f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _load_modules(files: list[str]) -> tuple[dict[str, ModuleType], dict[str, Any]]:
    modules: dict[str, ModuleType] = {}
    report: dict[str, Any] = {}
    for file in files:
        name = file[:-3]
        path = os.path.join(_WORKDIR, file)
        if not os.path.isfile(path):
            report[file] = {"ok": False, "kind": "error", "message": f"{file} is missing",
                            "traceback": ""}
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            sys.modules.pop(name, None)
            kind, message = _classify(exc)
            report[file] = {"ok": False, "kind": kind, "message": message,
                            "traceback": _trimmed_traceback(exc)}
            continue
        modules[file] = module
        report[file] = {"ok": True}
    return modules, report


def _apply_limits(cfg: dict[str, Any]) -> None:
    def set_limit(which: int, value: int) -> None:
        try:
            soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    set_limit(resource.RLIMIT_AS, int(cfg["memory_mb"]) * 1024 * 1024)
    set_limit(resource.RLIMIT_CPU, int(cfg["cpu_seconds"]))
    set_limit(resource.RLIMIT_FSIZE, 16 * 1024 * 1024)
    set_limit(resource.RLIMIT_CORE, 0)
    set_limit(resource.RLIMIT_NOFILE, 64)
    if os.getuid() != 0:
        set_limit(resource.RLIMIT_NPROC, 0)


def main() -> None:
    # The protocol owns the original stdin/stdout; student code sees /dev/null
    # at the fd level and a capped buffer at the Python level.
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)

    def read_exact(n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = requests.read(n - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    cfg, _ = protocol.read_frame(read_exact, 1 << 20)
    nonce = cfg["nonce"]
    capture = CappedText(int(cfg["output_bytes"]))
    sys.stdout = sys.stderr = capture  # type: ignore[assignment]
    sys.stdin = io.StringIO()
    sys.meta_path.insert(0, ImportBlocker(list(cfg["forbidden"])))
    for name in list(sys.modules):
        if name.partition(".")[0] in cfg["forbidden"]:
            del sys.modules[name]  # so that `import ctypes` goes through the blocker
    sys.path.insert(0, _WORKDIR)
    _apply_limits(cfg)

    def reply(header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        header["nonce"] = nonce
        protocol.write_frame(replies, header, blobs or [])

    capture.reset()
    modules, load_report = _load_modules(list(cfg["modules"]))
    functions = sorted({
        name for m in modules.values() for name, obj in vars(m).items()
        if callable(obj) and not name.startswith("_")
    })
    reply({"op": "ready", "modules": load_report, "functions": functions,
           "stdout": capture.text()})

    while True:
        try:
            request, blobs = protocol.read_frame(read_exact, 1 << 31)
        except EOFError:
            return
        if request.get("op") != "call":
            return
        fname = str(request.get("function"))
        capture.reset()
        start = time.perf_counter()
        try:
            func = None
            for module in modules.values():
                func = getattr(module, fname, None)
                if func is not None:
                    break
            if func is None or not callable(func):
                reply({"op": "result", "ok": False, "kind": "missing",
                       "message": f"no function named {fname}", "traceback": "",
                       "stdout": "", "elapsed": 0.0})
                continue
            args = protocol.decode(request["args"], blobs)
            kwargs = protocol.decode(request["kwargs"], blobs)
            value = func(*args, **kwargs)
            elapsed = time.perf_counter() - start
            tree, out_blobs = protocol.encode(value)
        except protocol.EncodeError as exc:
            reply({"op": "result", "ok": False, "kind": "bad_return",
                   "message": f"{fname} returned {exc}, which cannot be graded",
                   "traceback": "", "stdout": capture.text(),
                   "elapsed": time.perf_counter() - start})
            continue
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            kind, message = _classify(exc)
            try:
                tb = _trimmed_traceback(exc)
            except BaseException:  # noqa: BLE001
                tb = ""
            reply({"op": "result", "ok": False, "kind": kind, "message": message,
                   "exc_type": type(exc).__name__, "traceback": tb,
                   "stdout": capture.text(), "elapsed": time.perf_counter() - start})
            continue
        reply({"op": "result", "ok": True, "value": tree, "stdout": capture.text(),
               "elapsed": elapsed}, out_blobs)


if __name__ == "__main__":
    main()
