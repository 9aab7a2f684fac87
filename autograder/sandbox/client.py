"""The harness side of the sandbox: start a worker, call student functions, classify every failure."""

from __future__ import annotations

import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from . import protocol
from .isolation import Isolation, launch_command

#: How a call into student code ended.  ``ok`` carries a value.
CallKind = Literal[
    "ok", "error", "timeout", "memory", "not_implemented", "forbidden", "missing",
    "bad_return", "crash", "grader_error",
]

#: Largest reply the harness will read from a worker, bytes.
MAX_REPLY_BYTES = 256 * 1024 * 1024
#: Seconds a worker may take to start and import the student's modules, on top of the call timeout.
STARTUP_ALLOWANCE = 20.0
#: After this many timeouts of one function, later calls to it fail at once.
MAX_TIMEOUTS_PER_FUNCTION = 2

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CallOutcome:
    """The value of one call into student code, or its classified failure."""

    kind: CallKind
    function: str
    value: Any = None
    #: What went wrong, for the student; empty when ``ok``.
    message: str = ""
    #: Student frames only.
    traceback: str = ""
    #: Exception class name raised by the student's code, if any.
    exc_type: str = ""
    stdout: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


@dataclass(frozen=True)
class SandboxConfig:
    """Limits and policy for one submission's worker."""

    call_timeout: float = 10.0
    memory_mb: int = 2048
    cpu_seconds: int = 120
    output_bytes: int = 65536
    forbidden: tuple[str, ...] = ("torch", "tensorflow", "jax", "scipy", "ctypes")
    isolation: Isolation = field(default_factory=lambda: Isolation.detect("auto"))


class Sandbox(Protocol):
    """What the checks need from a sandbox: call a student function by name."""

    isolation_level: str

    def start(self) -> None:
        """Begin loading the submission (may return before it is loaded)."""
        ...

    def call(self, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallOutcome:
        ...

    def load_problems(self) -> list[str]:
        """Messages about module files that failed to import (empty when all loaded)."""
        ...

    def close(self) -> None:
        ...


class WorkerSandbox:
    """Runs one submission's modules in a separate, limited worker process.

    The worker is started lazily, restarted after it dies or times out, and
    killed with everything it started on :meth:`close`.
    """

    def __init__(self, files: Mapping[str, bytes], modules: tuple[str, ...],
                 config: SandboxConfig) -> None:
        self.config = config
        self.modules = modules
        self.isolation_level = config.isolation.level
        self._tmp = Path(tempfile.mkdtemp(prefix="autograder-"))
        self._workdir = self._tmp / "work"
        self._workerdir = self._tmp / "worker"
        self._workdir.mkdir()
        self._workerdir.mkdir()
        for rel, data in files.items():
            target = (self._workdir / rel).resolve()
            if self._workdir.resolve() not in target.parents:
                continue  # a path like ../x from a crafted archive
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for name in ("worker.py", "protocol.py"):
            shutil.copy(_HERE / name, self._workerdir / name)
        os.chmod(self._tmp, 0o755)
        for folder in (self._workdir, self._workerdir):
            os.chmod(folder, 0o755)
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._spawned_at = 0.0
        self._nonce = ""
        self._load: dict[str, Any] = {}
        self._startup_failure: CallOutcome | None = None
        self._timeouts: Counter[str] = Counter()
        self._stderr_path = self._tmp / "worker.stderr"

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        """Launch the worker now; it imports the student's modules while the harness loads checks."""
        if self._proc is None and self._startup_failure is None:
            self._spawn()

    def _spawn(self) -> None:
        self._nonce = secrets.token_hex(16)
        self._ready = False
        cmd = launch_command(self.config.isolation, self._workerdir, self._workdir,
                             self.config)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self._workdir),
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LC_ALL": "C.UTF-8",
        }
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        with open(self._stderr_path, "ab") as err:
            self._proc = subprocess.Popen(
                cmd, cwd=self._workdir, env=env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=err, start_new_session=True,
            )
        self._spawned_at = time.monotonic()
        cfg = {
            "nonce": self._nonce,
            "modules": list(self.modules),
            "forbidden": list(self.config.forbidden),
            "memory_mb": self.config.memory_mb,
            "cpu_seconds": self.config.cpu_seconds,
            "output_bytes": self.config.output_bytes,
        }
        try:
            protocol.write_frame(self._proc.stdin, cfg, [])  # type: ignore[arg-type]
        except BrokenPipeError:
            pass  # the worker died at once; _await_ready reports it

    def _await_ready(self) -> CallOutcome | None:
        """Wait for the worker's greeting; return an outcome if it could not get ready."""
        allowance = self.config.call_timeout + STARTUP_ALLOWANCE
        try:
            header, _ = self._read(allowance - (time.monotonic() - self._spawned_at))
        except TimeoutError:
            self._kill()
            return CallOutcome("timeout", "", message=(
                f"importing {', '.join(self.modules)} did not finish within {allowance:.0f} s "
                "(is there a loop or a long computation at the top level of your file?)"))
        except (EOFError, BrokenPipeError, protocol.ProtocolError) as exc:
            return self._died("importing your module", exc)
        if header.get("op") != "ready" or header.get("nonce") != self._nonce or not isinstance(
                header.get("modules"), dict):
            self._kill()
            return CallOutcome("error", "", message=(
                "the process running your code sent a malformed greeting while importing it"))
        self._load = header["modules"]
        self._ready = True
        return None

    def _ensure_ready(self) -> CallOutcome | None:
        if self._startup_failure is not None:
            return self._startup_failure
        if self._proc is None:
            self._spawn()
        if not self._ready:
            failure = self._await_ready()
            if failure is not None:
                self._startup_failure = failure
                return failure
        return None

    def load_problems(self) -> list[str]:
        failure = self._ensure_ready()
        if failure is not None:
            return [failure.message]
        problems = []
        for file, info in self._load.items():
            if isinstance(info, dict) and not info.get("ok"):
                problems.append(f"{file} could not be imported: {info.get('message', '')}")
        return problems

    def close(self) -> None:
        self._kill()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> WorkerSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    # -- calls -----------------------------------------------------------

    def call(self, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallOutcome:
        """Run ``function(*args, **kwargs)`` in the worker; never raises for student faults."""
        if self._timeouts[function] >= MAX_TIMEOUTS_PER_FUNCTION:
            return CallOutcome("timeout", function, message=(
                f"{function} timed out {MAX_TIMEOUTS_PER_FUNCTION} times already; "
                "not called again in this run"))
        failure = self._ensure_ready()
        if failure is not None:
            return _with_function(failure, function)
        load_failure = self._load_failure(function)
        if load_failure is not None:
            return load_failure
        try:
            tree, blobs = protocol.encode((tuple(args), dict(kwargs)))
        except protocol.EncodeError as exc:
            return CallOutcome("grader_error", function, message=f"check passed {exc}")
        request = {"op": "call", "function": function, "args": tree["$tuple"][0],
                   "kwargs": tree["$tuple"][1]}
        start = time.perf_counter()
        try:
            protocol.write_frame(self._proc.stdin, request, blobs)  # type: ignore[union-attr,arg-type]
            header, reply_blobs = self._read(self.config.call_timeout)
        except TimeoutError:
            self._kill()
            self._timeouts[function] += 1
            return CallOutcome("timeout", function, elapsed=time.perf_counter() - start,
                               message=f"timed out after {self.config.call_timeout:g} s "
                                       f"in {function}")
        except (EOFError, BrokenPipeError, protocol.ProtocolError) as exc:
            return self._died(function, exc)
        return self._outcome(function, header, reply_blobs)

    def _load_failure(self, function: str) -> CallOutcome | None:
        """If ``function`` is missing and a module failed to import, say so."""
        failed = {f: i for f, i in self._load.items() if isinstance(i, dict) and not i.get("ok")}
        if not failed:
            return None
        # Only blame the import when no module that loaded defines the function:
        # the worker replies 'missing' for that, so ask it first only if some loaded.
        file, info = next(iter(failed.items()))
        if len(failed) < len(self._load):
            return None
        kind = info.get("kind") if info.get("kind") in ("forbidden", "memory") else "error"
        if info.get("kind") == "not_implemented":
            kind = "not_implemented"
        return CallOutcome(kind, function, message=(
            f"{file} could not be imported, so {function} could not be called: "
            f"{info.get('message', '')}"), traceback=str(info.get("traceback", "")))

    def _outcome(self, function: str, header: dict[str, Any], blobs: list[bytes]) -> CallOutcome:
        if header.get("nonce") != self._nonce or header.get("op") != "result":
            self._kill()
            return CallOutcome("error", function, message=(
                f"the sandbox received a reply it did not expect while running {function} "
                "(did your code write to the grader's channel?)"))
        stdout = str(header.get("stdout", ""))[: self.config.output_bytes + 200]
        elapsed = float(header.get("elapsed", 0.0)) if isinstance(
            header.get("elapsed"), (int, float)) else 0.0
        if header.get("ok") is True:
            try:
                value = protocol.decode(header.get("value"), blobs)
            except protocol.ProtocolError as exc:
                return CallOutcome("error", function, message=f"{function} returned a value "
                                   f"the grader could not read: {exc}", stdout=stdout)
            return CallOutcome("ok", function, value=value, stdout=stdout, elapsed=elapsed)
        kind = header.get("kind")
        if kind not in ("error", "memory", "not_implemented", "forbidden", "missing",
                        "bad_return"):
            kind = "error"
        message = str(header.get("message", ""))[:4000]
        if kind == "missing":
            files = ", ".join(self.modules)
            message = (f"no function named {function} in {files}; "
                       "was it renamed or deleted? Keep the name and signature from the handout.")
        elif kind == "not_implemented":
            message = f"{function} is not implemented yet (it raises NotImplementedError)"
        return CallOutcome(kind, function, message=message,  # type: ignore[arg-type]
                           traceback=str(header.get("traceback", ""))[:8000],
                           exc_type=str(header.get("exc_type", ""))[:100],
                           stdout=stdout, elapsed=elapsed)

    def _died(self, where: str, exc: BaseException) -> CallOutcome:
        proc = self._proc
        code = proc.poll() if proc is not None else None
        if proc is not None and code is None:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
        self._kill()
        if isinstance(exc, protocol.ProtocolError):
            return CallOutcome("error", where, message=(
                f"the worker sent a malformed reply during {where}: {exc}"))
        if code is not None and code < 0:
            sig = signal.Signals(-code)
            if sig == signal.SIGXCPU:
                return CallOutcome("timeout", where, message=(
                    f"used more than {self.config.cpu_seconds} s of CPU time in {where}"))
            return CallOutcome("crash", where, message=(
                f"the process running your code was killed by {sig.name} during {where}"))
        return CallOutcome("crash", where, message=(
            f"the process running your code exited (status {code}) during {where}; "
            "did your code call os._exit() or exit the interpreter? Return a value instead."))

    def _read(self, timeout: float) -> tuple[dict[str, Any], list[bytes]]:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout

        def read(n: int) -> bytes:
            chunks: list[bytes] = []
            got = 0
            while got < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    raise TimeoutError
                chunk = os.read(fd, min(n - got, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
            return b"".join(chunks)

        header, blobs = protocol.read_frame(read, MAX_REPLY_BYTES)
        return header, blobs


def _with_function(outcome: CallOutcome, function: str) -> CallOutcome:
    return CallOutcome(outcome.kind, function, message=outcome.message,
                       traceback=outcome.traceback)


def python_executable() -> str:
    """The interpreter the worker runs with (the harness's own)."""
    return sys.executable
