"""The harness side of the sandbox: start a worker, call student functions, classify every failure.

Nothing the worker sends is trusted.  Every reply must carry the run's nonce
and the id of the call it answers (a fresh random token per call, so a reply
written ahead of time cannot answer a later call); the harness reads at most
``reply_bytes`` per reply and gives up at a deadline, writes its requests with
a deadline too (a worker that stops reading cannot block it), decodes values
with :mod:`.protocol` (plain types and numeric arrays only), and turns a
missing, late or malformed reply into a failed call, never into an exception.

One piece, though long: starting, calling, restarting and classifying share the
worker's state (pipes, nonce, deadlines, uid), and each failure kind is a few lines.
"""

from __future__ import annotations

import fcntl
import os
import re
import resource
import secrets
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from . import forkserver, protocol
from .base import CallKind, CallOutcome, Sandbox, SandboxConfig, cgroup_limits
from .cgroups import SandboxCgroup
from .forkserver import ForkedWorker, ForkServer, ForkServerError
from .isolation import caps_tmpfs, needs_own_uid
from .launch import (
    SANDBOX_FILES,
    UidSlot,
    cap_tmpfs,
    close_pipes,
    confine_filter,
    end_sandbox,
    kill_uid,
    launch,
    pipe_reader,
    read_init_pid,
    rlimits,
    seccomp_pipe,
    wait_init_pid,
    worker_env,
)

#: Re-exported: what callers of the sandbox import from here.
__all__ = [
    "MAX_TIMEOUTS_PER_FUNCTION",
    "CallKind",
    "CallOutcome",
    "LoadInfo",
    "Sandbox",
    "SandboxConfig",
    "WorkerSandbox",
    "cgroup_limits",
]

#: Seconds a worker may take to start and import the student's modules, on top of the call timeout.
STARTUP_ALLOWANCE = 10.0
#: After this many timeouts of one function, later calls to it fail at once.
MAX_TIMEOUTS_PER_FUNCTION = 2
#: Seconds bubblewrap gets to exit after its sandbox's tmpfs could not be capped: a sandbox
#: it gave up building ends at once, one it built waits at ``--block-fd``.
NOT_CAPPED_WAIT = 1.0
#: Bytes a read of the worker's replies asks for at least: a small reply is one system call.
READ_AHEAD = 1 << 16

_HERE = Path(__file__).resolve().parent
#: What the worker writes to stderr when its start-up is done (see worker.STARTED).
_STARTED = b"autograder-worker: started"
#: Uids whose processes would not die: never handed out again by this process.
_STUCK_SLOTS: list[UidSlot] = []


class LoadInfo(NamedTuple):
    """How importing one of the submission's modules went, as the harness keeps it."""

    ok: bool
    #: A :data:`CallKind` of a failed import (``error``, ``forbidden``, ``memory``, ``not_implemented``).
    kind: CallKind
    message: str
    traceback: str


class WorkerSandbox:
    """Runs one submission's modules in a separate, limited worker process.

    The worker is started lazily, restarted after it dies or times out, and
    killed with everything it started on :meth:`close`; when it runs as a uid
    of its own, :meth:`close` returns only once no process of that uid is left (a
    forked worker's uid is the fork server's: what is left of it is killed before
    the fork server forks again).

    With ``fork=True`` the worker is forked from a shared zygote when this
    machine allows it (see :mod:`.forkserver`), which saves a new interpreter and
    ``import numpy`` per submission; otherwise, or if the zygote fails, it is
    started on its own.
    """

    def __init__(
        self, files: Mapping[str, bytes], modules: tuple[str, ...], config: SandboxConfig, *, fork: bool = False
    ) -> None:
        self.config = config
        self.modules = modules
        self.isolation_level: str = config.isolation.level
        #: The uid the worker runs as when it has one of its own (started as root), else None.
        self.uid: int | None = None
        self._files = {rel: data for rel, data in files.items() if _safe_relative(rel)}
        self._tmp = Path(tempfile.mkdtemp(prefix="autograder-"))
        os.chmod(self._tmp, 0o755)
        self._workdir = self._tmp / "work"
        self._workerdir = self._tmp / "worker"
        self._maskdir = self._tmp / "mask"
        self._folders_ready = False
        self._fork = fork and forkserver.available(config)
        self._server: ForkServer | None = None
        self._proc: subprocess.Popen[bytes] | ForkedWorker | None = None
        # Bytes read from the worker's replies but not yet taken, and the worker they came from.
        self._unread = bytearray()
        self._unread_from: object = None
        #: Every forked worker of this sandbox, and RUSAGE_CHILDREN's CPU when the first
        #: plain one started: what :attr:`cpu_seconds` adds up.
        self._forked: list[ForkedWorker] = []
        self._children_cpu_at_start: float | None = None
        #: Read end of bubblewrap's --info-fd, and the sandbox init's host pid read from it.
        self._info: int | None = None
        self._init_pid: int | None = None
        self._slot: UidSlot | None = None
        #: The memory and pids cgroup of a plain worker (see :mod:`.cgroups`), once made.
        self._cgroup: SandboxCgroup | None = None
        self._ready = False
        self._spawned_at = 0.0
        self._nonce = ""
        #: The worker's load report, validated by :func:`_load_report`.
        self._load: dict[str, LoadInfo] = {}
        self._startup_failure: CallOutcome | None = None
        self._timeouts: Counter[str] = Counter()
        self._spent = 0.0
        #: The worker's stderr: written only before it hands fd 2 to /dev/null, that is by
        #: bubblewrap, setpriv, the interpreter's start-up and the worker's own imports.
        self._stderr_path = self._tmp / "worker.stderr"
        self._stderr_mark = 0

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        """Launch the worker now; it imports the student's modules while the harness loads checks."""
        if self._proc is None and self._startup_failure is None:
            self._ensure_started()

    def _ensure_started(self) -> CallOutcome | None:
        """Spawn the worker; a failure to do so is the grader's, kept for every later call."""
        try:
            self._spawn()
        except OSError as exc:
            self._kill()
            self._startup_failure = CallOutcome(
                "grader_error",
                "",
                message=(f"the sandbox could not start ({exc}); this is not your fault, tell your instructor"),
            )
        return self._startup_failure

    def _prepare_folders(self) -> None:
        """The working folder with the student's files and the worker's code, on the host."""
        if self._folders_ready:
            return
        for folder in (self._workdir, self._workerdir, self._maskdir):
            folder.mkdir(exist_ok=True)
        for rel, data in self._files.items():
            target = self._workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            os.chmod(target, 0o644)
        for name in SANDBOX_FILES:
            shutil.copy(_HERE / name, self._workerdir / name)
            os.chmod(self._workerdir / name, 0o644)
        for folder in (self._workdir, self._workerdir, self._maskdir):
            os.chmod(folder, 0o755)
        self._folders_ready = True

    def _spawn(self) -> None:
        for _ in range(2):  # a fork server found dead is replaced once
            if not self._fork:
                break
            if self._server is None:
                self._server = forkserver.acquire(self.config)
            if self._server is None:
                break
            try:
                self._spawn_forked(self._server)
                return
            except ForkServerError:
                self._proc = None
                forkserver.release(self._server)
                self._server, self.uid = None, None
        self._fork = False
        self._prepare_folders()
        isolation = self.config.isolation
        if self._slot is None and needs_own_uid(isolation):
            self._slot = UidSlot.acquire()
            self.uid = self._slot.uid
            if isolation.level == "rlimits":
                os.chown(self._workdir, self.uid, self.uid)
        self._nonce = secrets.token_hex(16)
        self._ready = False
        info_fd = seccomp_fd = block_fd = release = None
        if isolation.level == "bwrap":
            self._info, info_fd = os.pipe()
            os.set_blocking(self._info, False)
            seccomp_fd = seccomp_pipe()
            if caps_tmpfs():
                block_fd, release = os.pipe()
        self._init_pid = None
        passed = tuple(fd for fd in (info_fd, seccomp_fd, block_fd) if fd is not None)
        how = launch(
            isolation,
            self._workerdir,
            self._workdir,
            self._maskdir,
            self.config,
            self.uid,
            info_fd,
            seccomp_fd,
            block_fd,
        )
        env = worker_env(home=str(self._workdir))
        argv = how.argv
        if isolation.level == "bwrap":
            if self._cgroup is None:
                self._cgroup = SandboxCgroup.create(*cgroup_limits(self.config))
            if self._cgroup is not None:
                argv = self._cgroup.wrap(argv)
        if self._children_cpu_at_start is None:
            self._children_cpu_at_start = _children_cpu()
        try:
            with open(self._stderr_path, "ab") as err:
                self._stderr_mark = err.tell()
                self._proc = subprocess.Popen(
                    argv,
                    cwd=self._workdir,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    start_new_session=True,
                    pass_fds=passed,
                )
        except BaseException:
            if release is not None:
                os.close(release)
            raise
        finally:
            for fd in passed:
                os.close(fd)
        if release is not None and block_fd is not None:
            self._let_go(release, block_fd)
        assert self._proc.stdin is not None
        os.set_blocking(self._proc.stdin.fileno(), False)
        self._spawned_at = time.monotonic()
        self._send_config(with_files=False)

    def _let_go(self, release: int, block_fd: int) -> None:
        """Cap the new sandbox's tmpfs (:func:`.launch.cap_tmpfs`), then let it run by writing to
        ``release`` (the other end of its ``--block-fd``); closes ``release``.  Raises OSError,
        with the sandbox ended first, when the caps could not be set: closing ``release``
        alone would let it run.  On any other exception too (a KeyboardInterrupt) the
        sandbox is ended before ``release`` is closed."""
        assert isinstance(self._proc, subprocess.Popen)
        try:
            self._init_pid = wait_init_pid(pipe_reader(self._info)) if self._info is not None else None
            if self._init_pid is None:
                raise OSError(f"bubblewrap did not build it: {self._startup_errors()}")
            if not cap_tmpfs(self._proc.pid, self._init_pid, block_fd, self.config):
                raise OSError(self._why_not_capped(self._proc))
            os.write(release, b"1")
        except BaseException:
            self._kill()
            raise
        finally:
            os.close(release)

    def _why_not_capped(self, proc: subprocess.Popen[bytes]) -> str:
        """Why a sandbox's tmpfs got no cap: bubblewrap's own words when it gave up building it
        after it wrote ``--info-fd`` (a bind source missing, say: it exits then), else that
        the remount failed (bubblewrap still waits at ``--block-fd``)."""
        try:
            proc.wait(timeout=NOT_CAPPED_WAIT)
        except subprocess.TimeoutExpired:
            return "the inodes of its temporary folders could not be capped"
        return f"bubblewrap did not build it: {self._startup_errors()}"

    def _spawn_forked(self, server: ForkServer) -> None:
        """Fork the worker from ``server``'s zygote; its files arrive with its first frame."""
        self.uid = server.uid
        self._nonce = secrets.token_hex(16)
        self._ready = False
        with open(self._stderr_path, "ab") as err:
            self._stderr_mark = err.tell()
            self._proc = server.fork(err.fileno())
        self._forked.append(self._proc)
        assert self._proc.stdin is not None
        os.set_blocking(self._proc.stdin.fileno(), False)
        self._spawned_at = time.monotonic()
        self._send_config(with_files=True)

    def _send_config(self, with_files: bool) -> None:
        """The worker's first frame: nonce, modules, its uid, rlimits and (at the rlimits level)
        seccomp filter (which it enters before any student code, see :mod:`.confine`), and the
        files, when forked."""
        cfg = {
            "nonce": self._nonce,
            "modules": list(self.modules),
            "forbidden": list(self.config.forbidden),
            "output_chars": self.config.output_chars,
            "uid": self.uid,
            "limits": rlimits(self.config, self.uid),
            "seccomp": _hex(confine_filter(self.config.isolation)),
            "files": list(self._files) if with_files else [],
        }
        blobs = list(self._files.values()) if with_files else []
        try:
            self._send(protocol.frame_bytes(cfg, blobs), self._spawned_at + STARTUP_ALLOWANCE)
        except (BrokenPipeError, TimeoutError):
            pass  # the worker died at once; _await_ready reports it

    def _await_ready(self) -> CallOutcome | None:
        """Wait for the worker's greeting; return an outcome if it could not get ready."""
        allowance = self.config.call_timeout + STARTUP_ALLOWANCE
        left = self.config.budget - self._spent
        wait = min(allowance, left) - (time.monotonic() - self._spawned_at)
        t0 = time.monotonic()
        try:
            header, _ = self._read(wait)
        except TimeoutError:
            self._kill()
            if left < allowance:
                return self._budget_spent("")
            return CallOutcome(
                "timeout",
                "",
                message=(
                    f"importing {', '.join(self.modules)} did not finish within {allowance:.0f} s "
                    "(is there a loop or a long computation at the top level of your file?)"
                ),
            )
        except (EOFError, OSError, protocol.ProtocolError) as exc:
            return self._died("importing your module", exc)
        finally:
            self._spent += time.monotonic() - t0
        if (
            header.get("op") != "ready"
            or header.get("nonce") != self._nonce
            or not isinstance(header.get("modules"), dict)
        ):
            self._kill()
            return CallOutcome(
                "error", "", message=("the process running your code sent a malformed greeting while importing it")
            )
        self._load = _load_report(header["modules"], self.modules)
        self._ready = True
        return None

    def _ensure_ready(self) -> CallOutcome | None:
        if self._startup_failure is not None:
            return self._startup_failure
        if self._proc is None:
            failure = self._ensure_started()
            if failure is not None:
                return failure
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
            if not info.ok:
                where = _innermost_frame(info.traceback)
                where = f" ({where})" if where and ", line " not in info.message else ""
                problems.append(f"{file} could not be imported{where}: {info.message}")
        return problems

    def close(self) -> None:
        """Kill the worker and everything it started, then delete its folders."""
        # A forked worker is killed by the fork server's clean-up in release() below.
        self._kill(forked=self._server is None)
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.release()
        server, self._server = self._server, None
        if server is not None:
            forkserver.release(server)
            self.uid = None
        for forked in self._forked:
            try:
                forked.wait(timeout=2)  # its exit status and CPU time, reported by the zygote
            except subprocess.TimeoutExpired:
                pass
        cgroup, self._cgroup = self._cgroup, None
        if cgroup is not None:
            cgroup.remove()
        shutil.rmtree(self._tmp, ignore_errors=True)

    @property
    def cpu_seconds(self) -> float | None:
        """CPU time of this sandbox's workers, once closed; None when unknown.

        A forked worker's comes from the zygote that reaped it.  A plain worker's is
        this process's RUSAGE_CHILDREN growth since it started: what reached it through
        bubblewrap (a worker killed with its sandbox may be missed), plus any other
        child reaped meanwhile.
        """
        total = 0.0
        for forked in self._forked:
            cpu = forked.cpu_seconds
            if cpu is None:
                return None
            total += cpu
        if self._children_cpu_at_start is not None:
            total += max(0.0, _children_cpu() - self._children_cpu_at_start)
        return total

    def __enter__(self) -> WorkerSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A sandbox dropped without close() must not keep its worker, nor free its uid
        # while the worker still runs.
        try:
            if self._proc is not None or self._slot is not None or self._server is not None:
                self.close()
        except Exception:
            pass

    def _kill(self, forked: bool = True) -> None:
        """Kill the worker and everything it started, and wait until they are gone.

        A forked worker is killed through its fork server, unless ``forked`` is
        False (closing: the fork server's clean-up kills it).

        A plain worker's sandbox is ended by :func:`.launch.end_sandbox`: its init
        first (killing bubblewrap first would leave the namespace's teardown to
        happen later, unobserved), then whatever is left of the uid.
        """
        proc, self._proc = self._proc, None
        self._ready = False
        self._unread, self._unread_from = bytearray(), None
        if isinstance(proc, ForkedWorker):
            if forked:
                proc.kill()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
            return
        if proc is None:
            gone = kill_uid(self.uid) if self.uid is not None else True
        else:
            gone = end_sandbox(proc, self._sandbox_init, self.uid)
            close_pipes(proc)
        if self._info is not None:
            os.close(self._info)
            self._info = None
        self._init_pid = None
        if not gone:
            # Should never happen: a process of our uid that survives SIGKILL.  Keep the
            # uid locked for this process's life, and use another one from now on.
            if self._slot is not None:
                _STUCK_SLOTS.append(self._slot)
            self._slot = None
            self.uid = None

    def _sandbox_init(self) -> int | None:
        """Host pid of the bwrap sandbox's init (from --info-fd), once bubblewrap wrote it."""
        if self._init_pid is None:
            self._init_pid = read_init_pid(self._info)
        return self._init_pid

    # -- calls -----------------------------------------------------------

    def call(self, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallOutcome:
        """Run ``function(*args, **kwargs)`` in the worker; never raises for student faults.

        A worker found dead (or talking out of turn) before it took this call's
        request is replaced and the call made again, once: only a call whose
        request the worker read can be blamed for what happens next.
        """
        if self._timeouts[function] >= MAX_TIMEOUTS_PER_FUNCTION:
            return CallOutcome(
                "timeout",
                function,
                message=(
                    f"{function} timed out {MAX_TIMEOUTS_PER_FUNCTION} times already; not called again in this run"
                ),
            )
        try:
            tree, blobs = protocol.encode((tuple(args), dict(kwargs)))
        except protocol.EncodeError as exc:
            return CallOutcome("grader_error", function, message=f"check passed {exc}")
        for attempt in (1, 2):
            if self._spent >= self.config.budget:
                return self._budget_spent(function)
            if self._ready and not self._idle():
                self._kill()  # it died, or wrote outside the protocol, after its last reply
            failure = self._ensure_ready()
            if failure is not None:
                return _with_function(failure, function)
            load_failure = self._load_failure(function)
            if load_failure is not None:
                return load_failure
            outcome = self._call_once(function, tree, blobs, retry=attempt == 1)
            if outcome is not None:
                return outcome
            self._kill()
        raise AssertionError("unreachable: the second attempt always returns")

    def _call_once(self, function: str, tree: Any, blobs: list[bytes], retry: bool) -> CallOutcome | None:
        """One request and its reply; None when the worker had died before taking the request."""
        call_id = secrets.token_hex(8)
        request = protocol.frame_bytes(
            {"op": "call", "function": function, "id": call_id, "args": tree["$tuple"][0], "kwargs": tree["$tuple"][1]},
            blobs,
        )
        left = self.config.budget - self._spent
        timeout = min(self.config.call_timeout, left)
        start = time.monotonic()
        deadline = start + timeout
        sent = False
        try:
            self._send(request, deadline)
            sent = True
            header, reply_blobs = self._read(deadline - time.monotonic())
        except TimeoutError:
            self._kill()
            self._spent += time.monotonic() - start
            if timeout < self.config.call_timeout:
                return self._budget_spent(function)
            self._timeouts[function] += 1
            return CallOutcome(
                "timeout",
                function,
                elapsed=time.monotonic() - start,
                message=f"timed out after {self.config.call_timeout:g} s in {function}",
            )
        except (EOFError, OSError, protocol.ProtocolError) as exc:
            self._spent += time.monotonic() - start
            if retry and not isinstance(exc, protocol.ProtocolError) and (not sent or self._unread_request() != 0):
                return None
            return self._died(function, exc)
        elapsed = time.monotonic() - start
        self._spent += elapsed
        return self._outcome(function, call_id, header, reply_blobs, elapsed, tree)

    def _unread_request(self) -> int:
        """Bytes of the last request still in the pipe (-1 when unknown)."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            return -1
        try:
            raw = fcntl.ioctl(proc.stdin.fileno(), termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return -1
        return int(struct.unpack("i", raw)[0])

    def _idle(self) -> bool:
        """True when the worker is alive and has sent nothing since its last reply (neither
        in the pipe nor read ahead with that reply)."""
        proc = self._proc
        if proc is None or proc.poll() is not None or proc.stdout is None:
            return False
        if self._unread and self._unread_from is proc:
            return False
        ready, _, _ = select.select([proc.stdout.fileno()], [], [], 0)
        return not ready

    def _budget_spent(self, function: str) -> CallOutcome:
        return CallOutcome(
            "timeout",
            function,
            message=(
                f"your code used up the {self.config.budget:g} s of running time this submission "
                "gets in all, so the remaining calls were not run; look for slow or endless loops"
            ),
        )

    def _load_failure(self, function: str) -> CallOutcome | None:
        """If every module failed to import, the call fails with the import's reason."""
        failed = {f: i for f, i in self._load.items() if not i.ok}
        if not failed or len(failed) < len(self._load):
            return None
        file, info = next(iter(failed.items()))
        return CallOutcome(
            info.kind,
            function,
            message=f"{file} could not be imported, so {function} could not be called: {info.message}",
            traceback=info.traceback,
        )

    def _outcome(
        self, function: str, call_id: str, header: dict[str, Any], blobs: list[bytes], elapsed: float, tree: Any
    ) -> CallOutcome:
        if header.get("nonce") != self._nonce or header.get("id") != call_id or header.get("op") != "result":
            self._kill()
            return CallOutcome(
                "error",
                function,
                elapsed=elapsed,
                message=(
                    f"the sandbox received a reply it did not expect while running {function} "
                    "(did your code write to the grader's channel?)"
                ),
            )
        stdout = _cap(header.get("stdout", ""), self.config.output_chars + 200)
        if header.get("ok") is True:
            try:
                value = protocol.decode(header.get("value"), blobs)
            except protocol.ProtocolError as exc:
                self._kill()  # malformed (never the worker's own encoder) or over a limit: start afresh
                return CallOutcome(
                    "error",
                    function,
                    stdout=stdout,
                    elapsed=elapsed,
                    message=(f"{function} returned a value the grader could not read: {exc}"),
                )
            changed = _changed_arguments(header.get("changed"), _argument_count(tree))
            return CallOutcome("ok", function, value=value, stdout=stdout, elapsed=elapsed, changed=changed)
        sent = header.get("kind")
        kinds: tuple[CallKind, ...] = ("error", "memory", "not_implemented", "forbidden", "missing", "bad_return")
        kind: CallKind = next((k for k in kinds if k == sent), "error")
        message = _cap(header.get("message", ""), 4000)
        if kind == "missing":
            files = ", ".join(self.modules)
            message = (
                f"no function named {function} in {files}; "
                "was it renamed or deleted? Keep the name and signature from the handout."
            )
        elif kind == "not_implemented":
            message = f"{function} is not implemented yet (it raises NotImplementedError)"
        return CallOutcome(
            kind,
            function,
            message=message,
            traceback=_cap(header.get("traceback", ""), 8000),
            exc_type=_cap(header.get("exc_type", ""), 100),
            stdout=stdout,
            elapsed=elapsed,
        )

    def _died(self, where: str, exc: BaseException) -> CallOutcome:
        proc = self._proc
        code = proc.poll() if proc is not None else None
        if proc is not None and code is None and not isinstance(exc, protocol.ProtocolError):
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
        # Student code cannot reach the zygote (root, another uid): its death is ours.
        zygote_died = isinstance(proc, ForkedWorker) and proc.server.broken
        self._kill()
        if isinstance(exc, protocol.ProtocolError):
            return CallOutcome("error", where, message=(f"the worker sent a malformed reply during {where}: {exc}"))
        if zygote_died:
            return CallOutcome(
                "grader_error",
                where,
                message=(
                    f"the sandbox's fork server stopped during {where}; this is not your fault, tell your instructor"
                ),
            )
        trouble = self._startup_errors()
        if trouble:
            return CallOutcome(
                "grader_error",
                where,
                message=(
                    f"the sandbox could not run your code ({trouble}); this is not your fault, tell your instructor"
                ),
            )
        sig = _signal_of(code, self.isolation_level)
        if sig == signal.SIGXCPU:
            return CallOutcome(
                "timeout", where, message=(f"used more than {self.config.cpu_seconds} s of CPU time in {where}")
            )
        if sig is not None:
            hint = (
                " (it exceeded a limit: CPU time, memory or stack)" if sig in (signal.SIGKILL, signal.SIGSEGV) else ""
            )
            return CallOutcome(
                "crash", where, message=(f"the process running your code was killed by {sig.name} during {where}{hint}")
            )
        return CallOutcome(
            "crash",
            where,
            message=(
                f"the process running your code exited (status {code}) during {where}; "
                "did your code call os._exit() or exit the interpreter? Return a value instead."
            ),
        )

    def _startup_errors(self) -> str:
        """Why the last worker failed to start, from its stderr; empty once it got going.

        The worker writes ``STARTED`` to stderr just before it hands fd 2 to
        /dev/null and runs student code: with the marker there, a death is the
        student's doing; without it, what bubblewrap, setpriv or the interpreter
        wrote says why the sandbox failed.
        """
        try:
            with open(self._stderr_path, "rb") as f:
                f.seek(self._stderr_mark)
                data = f.read(1 << 16)
        except OSError:
            return ""
        if _STARTED in data:
            return ""
        lines = data.decode(errors="replace").strip().splitlines()
        return " / ".join(lines[-3:])[-600:] or "it exited before starting"

    # -- the pipes ---------------------------------------------------------------

    def _send(self, data: bytes, deadline: float) -> None:
        """Write ``data`` to the worker by ``deadline`` (TimeoutError) or BrokenPipeError."""
        assert self._proc is not None and self._proc.stdin is not None
        fd = self._proc.stdin.fileno()
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            _, ready, _ = select.select([], [fd], [], left)
            if not ready:
                raise TimeoutError
            try:
                n = os.write(fd, view[: 1 << 20])
            except BlockingIOError:
                continue
            view = view[n:]

    def _read(self, timeout: float) -> tuple[dict[str, Any], list[bytes]]:
        """The worker's next frame, read with as few system calls as the pipe allows: whatever
        is ready is read at once (up to :data:`READ_AHEAD` bytes past what the frame asks for
        so far) and kept for the next part.  Bytes kept past a reply were sent out of turn:
        :meth:`_idle` counts them, and the worker is replaced before the next call."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        if self._unread_from is not self._proc:
            self._unread, self._unread_from = bytearray(), self._proc
        unread = self._unread
        deadline = time.monotonic() + timeout

        def read(n: int) -> bytes:
            if len(unread) >= n:
                data = bytes(unread[:n])
                del unread[:n]
                return data
            chunks, got = [bytes(unread)], len(unread)
            unread.clear()
            while got < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    raise TimeoutError
                chunk = os.read(fd, min(max(n - got, READ_AHEAD), 1 << 20))
                if not chunk:
                    break
                if got + len(chunk) > n:
                    unread.extend(chunk[n - got :])
                    chunk = chunk[: n - got]
                chunks.append(chunk)
                got += len(chunk)
            return b"".join(chunks)

        return protocol.read_frame(read, self.config.reply_bytes)


def _hex(data: bytes | None) -> str | None:
    return data.hex() if data is not None else None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _safe_relative(name: str) -> bool:
    """True for a relative path that stays inside its folder (``a/b.py``, not ``../x``)."""
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def _signal_of(code: int | None, level: str) -> signal.Signals | None:
    """The signal that ended the worker, from its exit status (bwrap reports 128 + signal)."""
    if code is None:
        return None
    number = -code if code < 0 else (code - 128 if level == "bwrap" and 128 < code < 160 else 0)
    try:
        return signal.Signals(number) if number > 0 else None
    except ValueError:
        return None


#: Characters kept of a load report's message and traceback, per module.
LOAD_MESSAGE_CHARS = 2000
LOAD_TRACEBACK_CHARS = 8000


def _load_report(report: Any, modules: tuple[str, ...]) -> dict[str, LoadInfo]:
    """What the harness keeps of a worker's load report: one entry per module it asked for.

    The report comes from the sandbox and may be anything.  Entries for names the harness
    did not configure are dropped (a submission cannot add lines to its own notes), every
    string is capped, a kind outside the known ones becomes ``error``, and a module the
    report does not mention counts as failed with a fixed message.
    """
    out: dict[str, LoadInfo] = {}
    given = report if type(report) is dict else {}
    for module in modules:
        info = given.get(module)
        if type(info) is not dict:
            out[module] = LoadInfo(False, "error", "the sandbox did not report whether it loaded", "")
            continue
        if info.get("ok") is True:
            out[module] = LoadInfo(True, "ok", "", "")
            continue
        kind = info.get("kind")
        out[module] = LoadInfo(
            False,
            kind if kind in _LOAD_KINDS else "error",
            _cap(info.get("message", ""), LOAD_MESSAGE_CHARS),
            _cap(info.get("traceback", ""), LOAD_TRACEBACK_CHARS),
        )
    return out


_LOAD_KINDS: tuple[CallKind, ...] = ("error", "forbidden", "memory", "not_implemented")


def _cap(value: Any, limit: int) -> str:
    """``value`` from a reply as text of at most ``limit`` characters, marked when cut."""
    text = value if type(value) is str else str(value)[: limit + 1]
    return text if len(text) <= limit else text[: limit - 6] + " [...]"


def _argument_count(tree: Any) -> int:
    """How many arguments an encoded ``(args, kwargs)`` pair holds."""
    args, kwargs = tree["$tuple"]
    return len(args["$tuple"]) + len(kwargs["$dict"])


def _changed_arguments(field: Any, arguments: int) -> tuple[str, ...]:
    """The reply's ``changed`` field if well formed (names or ``argument N``, at most one per
    argument of the call), else nothing."""
    if type(field) is not list or len(field) > arguments:
        return ()
    names: list[str] = []
    for name in field:
        if type(name) is not str or len(name) > 64:
            return ()
        if not (name.isidentifier() or re.fullmatch(r"argument [1-9][0-9]{0,2}", name)):
            return ()
        if name not in names:
            names.append(name)
    return tuple(names)


def _innermost_frame(traceback: str) -> str:
    """``cnn.py, line 12``: the last frame of a (student-frames-only) traceback, or ``''``."""
    found = re.findall(r'File "([^"/<\n][^"\n]{0,199})", line (\d{1,9})', traceback)  # relative: student files
    return f"{found[-1][0]}, line {found[-1][1]}" if found else ""


def _with_function(outcome: CallOutcome, function: str) -> CallOutcome:
    return CallOutcome(outcome.kind, function, message=outcome.message, traceback=outcome.traceback)
