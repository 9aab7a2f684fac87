"""The harness side of the zygote: one long-lived sandbox that forks a worker per submission.

Starting a worker the plain way costs a new bubblewrap sandbox, a fresh
interpreter and ``import numpy``: ~90 ms of CPU per submission, as much as
the checks themselves.  A :class:`ForkServer` pays that once: it starts
:mod:`.zygote` in a sandbox like a worker's, and each submission's worker is
a fork of it, ready in a few milliseconds.

What stays the same for the student's code: the view of the files, no
network, the seccomp filter, the masked packages, a uid of its own with no
capability and ``no_new_privs``, the per-process limits, a fresh process
whose memory holds nothing of another submission (the zygote never reads a
submission).  What changes: the submissions graded by one fork server share
its pid and network namespaces and its uid, one after another, never at the
same time.  Nothing of one can reach the next: between two of them every
process of that uid is killed, then fresh tmpfs (with a cap on their inodes) are
mounted over the folders a worker can write to, from outside the sandbox
(:mod:`.renew`), so not even their inode numbers go on (where that helper
cannot run, the zygote empties them instead); every worker is forked with the same
pid (see :mod:`.zygote`); and the seccomp filter allows only unix sockets,
which die with their processes, so nothing is left in the network namespace.
This is begun when a submission is done and finished before the next fork; a
fork server that cannot do it is closed and replaced.

Only root can hand out uids, so fork servers exist only for a root harness
at the ``bwrap`` level; elsewhere :func:`acquire` returns None and the
caller starts workers the plain way.

One piece, though long: the server's life (start, fork, renew, close) and the
registry of servers that retries a failed start share one lock and one state.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing.util
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from ..errors import GraderError
from . import cgroups
from .base import cgroup_limits
from .cgroups import SandboxCgroup
from .isolation import SANDBOX_WORKDIR, shown_inside
from .launch import (
    SANDBOX_FILES,
    UidSlot,
    end_sandbox,
    kill_uid,
    read_init_pid,
    seccomp_pipe,
    worker_env,
    zygote_launch,
)

#: Seconds the zygote may take to start (interpreter and NumPy in a new sandbox).
STARTUP_TIMEOUT = 15.0
#: Seconds a fork or a clean-up may take before the fork server is given up.
REPLY_TIMEOUT = 5.0
#: Most fork servers one process keeps (one per submission graded at the same time).
MAX_SERVERS = 4
#: How the host folder of a fork server starts: then the pid of the process that owns it.
FOLDER_PREFIX = "autograder-zygote-"
#: Processes of a fork server's sandbox besides a worker's: the zygote, a killer or cleaner,
#: and room to spare.
PIDS_HELPERS = 4

_HERE = Path(__file__).resolve().parent


class ForkServerError(Exception):
    """The fork server failed; the caller should start its worker the plain way."""


class ForkedWorker:
    """A worker forked by the zygote, with the part of :class:`subprocess.Popen`'s interface
    the sandbox client uses.  Its pid lives in the sandbox's namespace, so the zygote kills
    it (with every other process of the uid), never the harness by pid."""

    def __init__(self, server: ForkServer, job: str, stdin: int, stdout: int) -> None:
        self.server = server
        self.job = job
        self.stdin: IO[bytes] | None = os.fdopen(stdin, "wb", buffering=0)
        self.stdout: IO[bytes] | None = os.fdopen(stdout, "rb", buffering=0)
        #: (exit status, CPU seconds) once the zygote reported them.
        self._exit: tuple[int, float | None] | None = None

    @property
    def returncode(self) -> int | None:
        if self._exit is None:
            self._exit = self.server.take_exit(self.job)
        return self._exit[0] if self._exit is not None else None

    @property
    def cpu_seconds(self) -> float | None:
        """CPU time the worker used, once it exited and the zygote reported it."""
        return self._exit[1] if self.returncode is not None and self._exit else None

    def poll(self) -> int | None:
        """The exit status (negative: killed by that signal) once the zygote reported it."""
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (REPLY_TIMEOUT if timeout is None else timeout)
        while self.returncode is None:
            left = deadline - time.monotonic()
            if left <= 0 or not self.server.pump(left):
                if self.returncode is None:
                    raise subprocess.TimeoutExpired(f"worker {self.job}", timeout or 0.0)
        return self.returncode

    def kill(self) -> None:
        """Kill the worker and everything it started (every process of the server's uid)."""
        self.server.kill_all()


class ForkServer:
    """A zygote in its own sandbox, with a uid of its own, lent to one sandbox at a time."""

    def __init__(self, config: Any) -> None:
        self.key = server_key(config)
        self.busy = False
        self.broken = False
        self._slot: UidSlot | None = UidSlot.acquire()
        self.uid = self._slot.uid
        _sweep_once()
        self._tmp = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        self._tmp_bytes, self._tmp_inodes = int(config.tmp_bytes), int(config.tmp_inodes)
        #: Host pid of the sandbox's init (from bubblewrap's --info-fd), once started.
        self._init_pid: int | None = None
        #: Whether the writable folders are renewed by mounting fresh tmpfs over them (else
        #: the zygote empties them).
        self.renews = False
        #: Whether every worker gets the same pid (the zygote may set the next pid).
        self.same_pids = False
        #: The :mod:`.renew` helper, in the sandbox's mount namespace.
        self._renewer: subprocess.Popen[bytes] | None = None
        #: Workers' exits the zygote reported and no ForkedWorker has taken yet.
        self._exits: dict[str, tuple[int, float | None]] = {}
        #: The (reply, job id) of a clean-up asked for and not yet waited for.
        self._cleaning: tuple[str, str] | None = None
        self._replies: dict[tuple[str, str], dict[str, Any]] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._info: int | None = None
        #: The memory and pids cgroup of the whole sandbox (one submission at a time).
        self._cgroup: SandboxCgroup | None = None
        self._ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._start(config, theirs)
        except BaseException:
            self.close()
            raise
        finally:
            theirs.close()

    def _start(self, config: Any, theirs: socket.socket) -> None:
        workerdir, maskdir = self._tmp / "worker", self._tmp / "mask"
        for folder in (workerdir, maskdir):
            folder.mkdir()
        for name in (*SANDBOX_FILES, "zygote.py"):
            shutil.copy(_HERE / name, workerdir / name)
            os.chmod(workerdir / name, 0o644)
        for folder in (self._tmp, workerdir, maskdir):
            os.chmod(folder, 0o755)
        self._info, info_w = os.pipe()
        os.set_blocking(self._info, False)
        seccomp_fd = seccomp_pipe()
        passed = [fd for fd in (info_w, seccomp_fd) if fd is not None]
        how = zygote_launch(config.isolation, workerdir, maskdir, config, info_w, seccomp_fd)
        memory, processes = cgroup_limits(config)
        self._cgroup = SandboxCgroup.create(memory, processes + PIDS_HELPERS)
        # The zygote is spared by the OOM killer (a worker's excess is the worker's); each
        # worker raises its own score back.
        argv = self._cgroup.wrap(how.argv, oom_protected=True) if self._cgroup is not None else how.argv
        env = worker_env()
        try:
            with open(self._tmp / "zygote.stderr", "wb") as err:
                self._proc = subprocess.Popen(
                    argv,
                    stdin=theirs.fileno(),
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    env=env,
                    start_new_session=True,
                    pass_fds=passed,
                )
        finally:
            for fd in passed:
                os.close(fd)
        ready = self._await(("ready", ""), STARTUP_TIMEOUT)
        self.same_pids = ready.get("pids") is True
        self._init_pid = read_init_pid(self._info)
        self.renews = self._init_pid is not None and self._start_renewer()

    def _start_renewer(self) -> bool:
        """Start :mod:`.renew` in the sandbox's mount namespace and renew the folders once."""
        command = [sys.executable, "-I", "-B", str(_HERE / "renew.py"), str(self._init_pid)]
        renewed = ("/tmp", SANDBOX_WORKDIR)
        command += [str(self._tmp_bytes), str(self._tmp_inodes), *renewed, "--keep", *shown_inside(renewed)]
        try:
            self._renewer = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=worker_env()
            )
        except OSError:
            return False
        return self._renew_folders()

    def _renew_folders(self) -> bool:
        """Mount fresh tmpfs (size and inodes capped) over the folders a worker can write to,
        in the sandbox's mount namespace; the old ones, and all in them, are gone once their
        last user is (every worker is dead by now).  True when done."""
        renewer = self._renewer
        if renewer is None or renewer.stdin is None or renewer.stdout is None:
            return False
        try:
            renewer.stdin.write(b"r")
            renewer.stdin.flush()
            ready, _, _ = select.select([renewer.stdout], [], [], REPLY_TIMEOUT)
            return bool(ready) and os.read(renewer.stdout.fileno(), 1) == b"1"
        except OSError:
            return False

    # -- requests ---------------------------------------------------------------

    def fork(self, stderr: int) -> ForkedWorker:
        """A new worker whose stderr is ``stderr``; it waits for its first frame on stdin.

        Never before the last submission's clean-up is done (:meth:`settle`)."""
        if not self.settle():
            raise ForkServerError("this fork server is broken")
        job = secrets.token_hex(8)
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            self._request({"op": "fork", "job": job, "uid": self.uid}, [in_r, out_w, stderr])
        except ForkServerError:
            for fd in (in_w, out_r):
                os.close(fd)
            raise
        finally:
            for fd in (in_r, out_w):
                os.close(fd)
        worker = ForkedWorker(self, job, in_w, out_r)
        self._await(("forked", job), REPLY_TIMEOUT)
        return worker

    def kill_all(self) -> None:
        """Kill every worker and every process of the uid; if the zygote cannot, kill what
        has the uid from here and give this fork server up."""
        job = secrets.token_hex(8)
        try:
            if self.broken:
                raise ForkServerError("this fork server is broken")
            self._request({"op": "kill", "job": job, "uid": self.uid}, [])
            ok = self._await(("killed", job), REPLY_TIMEOUT).get("ok") is True
        except ForkServerError:
            ok = False
        if not ok:
            self.broken = True
            kill_uid(self.uid)

    def begin_clean(self) -> None:
        """Ask the zygote to kill every worker and process of the uid (and, where the folders
        are not renewed, to empty every folder the uid can write to), without waiting: it
        does so while the harness goes on, and :meth:`settle` (which any fork calls first)
        waits for it to be done and renews the folders."""
        if self.broken or self._cleaning is not None:
            return
        job = secrets.token_hex(8)
        op, reply = ("kill", "killed") if self.renews else ("clean", "cleaned")
        try:
            self._request({"op": op, "job": job, "uid": self.uid}, [])
        except ForkServerError:
            return
        self._cleaning = (reply, job)

    def settle(self) -> bool:
        """Wait for a clean-up begun by :meth:`begin_clean` and renew the writable folders;
        False (and broken) when that failed or the fork server is gone."""
        cleaning, self._cleaning = self._cleaning, None
        if cleaning is not None and not self.broken:
            try:
                if self._await(cleaning, REPLY_TIMEOUT).get("ok") is not True:
                    self.broken = True
            except ForkServerError:
                pass
            if not self.broken and self.renews and not self._renew_folders():
                self.broken = True
        return not self.broken

    def take_exit(self, job: str) -> tuple[int, float | None] | None:
        """A worker's (exit status, CPU seconds), handed over once (nothing piles up here)."""
        if job not in self._exits:
            self.pump(0)
        return self._exits.pop(job, None)

    def _request(self, message: dict[str, Any], fds: list[int]) -> None:
        try:
            socket.send_fds(self._ctl, [json.dumps(message).encode()], fds)
        except OSError as exc:
            self.broken = True
            raise ForkServerError(f"the fork server is gone ({exc})") from exc

    def _await(self, wanted: tuple[str, str], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while wanted not in self._replies:
            left = deadline - time.monotonic()
            if left <= 0 or not self.pump(left):
                self.broken = True
                raise ForkServerError(
                    f"no {wanted[0]!r} from the fork server within {timeout:g} s{self._stderr_tail()}"
                )
        return self._replies.pop(wanted)

    def pump(self, timeout: float) -> bool:
        """Read what the zygote sent within ``timeout`` seconds; False when it is gone."""
        if self.broken:
            return False
        got = False
        while True:
            ready, _, _ = select.select([self._ctl], [], [], 0 if got else timeout)
            if not ready:
                return True
            try:
                data = self._ctl.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.broken = True
                return False
            got = True
            try:
                message = json.loads(data)
                op, job = str(message["op"]), str(message.get("job", ""))
            except (ValueError, KeyError, TypeError):
                self.broken = True
                return False
            if op == "exit" and type(message.get("status")) is int:
                cpu = message.get("cpu")
                self._exits[job] = (message["status"], float(cpu) if type(cpu) in (int, float) else None)
            elif op == "error":
                self.broken = True
                return False
            else:
                self._replies[(op, job)] = message

    def _stderr_tail(self) -> str:
        try:
            text = (self._tmp / "zygote.stderr").read_text(errors="replace").strip()
        except OSError:
            return ""
        return f": {text.splitlines()[-1][-300:]}" if text else ""

    def close(self) -> None:
        """Kill the zygote's sandbox and everything in it, and give the uid back."""
        self.broken = True
        self._ctl.close()
        proc, self._proc = self._proc, None
        if proc is None:
            gone = kill_uid(self.uid)
        else:
            gone = end_sandbox(proc, lambda: self._init_pid or read_init_pid(self._info), self.uid)
        if self._info is not None:
            os.close(self._info)
            self._info = None
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.kill()
            renewer.wait()
            for stream in (renewer.stdin, renewer.stdout):
                if stream is not None:
                    stream.close()
        slot, self._slot = self._slot, None
        if slot is not None:
            if gone:
                slot.release()
            else:
                _stuck.append(slot)  # never hand out a uid with a live process
        cgroup, self._cgroup = self._cgroup, None
        if cgroup is not None:
            cgroup.remove()
        shutil.rmtree(self._tmp, ignore_errors=True)


def server_key(config: Any) -> tuple[Any, ...]:
    """What a fork server's sandbox depends on: workers with the same key can share one."""
    return (
        config.isolation.level,
        tuple(config.forbidden),
        tuple(config.hide),
        int(config.tmp_bytes),
        int(config.tmp_inodes),
        int(config.memory_mb),
        int(config.max_processes),
    )


_lock = threading.Lock()
_servers: list[ForkServer] = []
_stuck: list[UidSlot] = []
#: Seconds before a configuration whose fork server failed to start is tried again; the
#: wait doubles with each failure in a row, up to :data:`RETRY_MAX`.  Meanwhile its workers
#: start the plain way: slower, as confined.
RETRY_FIRST = 5.0
RETRY_MAX = 300.0


class _Failure:
    """Why a configuration's fork server last failed to start, and when to try again."""

    def __init__(self, reason: str, in_a_row: int) -> None:
        self.reason = reason
        self.in_a_row = in_a_row
        self.retry_at = time.monotonic() + min(RETRY_MAX, RETRY_FIRST * 2 ** (in_a_row - 1))


#: Configurations whose fork server failed to start, by key (forgotten on a start that works).
_failed: dict[tuple[Any, ...], _Failure] = {}


def available(config: Any) -> bool:
    """Whether workers for ``config`` can come from a fork server here (root, bwrap), now:
    not while a failed start of its fork server is being waited out."""
    if config.isolation.level != "bwrap" or os.getuid() != 0:
        return False
    failure = _failed.get(server_key(config))
    return failure is None or time.monotonic() >= failure.retry_at


def acquire(config: Any) -> ForkServer | None:
    """A fork server for ``config``, lent to the caller alone until :func:`release`; None
    when there can be none here (the caller then starts its worker the plain way)."""
    if not available(config):
        return None
    key = server_key(config)
    with _lock:
        for server in list(_servers):
            if server.busy:
                continue  # its borrower's: closed by release() if broken
            if server.key == key and not server.broken:
                server.settle()  # the last submission's clean-up, begun by release()
            if server.broken:
                _servers.remove(server)
                server.close()
            elif server.key == key and not server.busy:
                server.busy = True
                return server
        if len(_servers) >= MAX_SERVERS:
            # Servers of other configurations that sit idle make room (oldest first): a
            # process that graded several assignments must not lose its fork server for good.
            idle = next((s for s in _servers if not s.busy and s.key != key), None)
            if idle is None:
                return None
            _servers.remove(idle)
            idle.close()
        try:
            server = ForkServer(config)
        except (OSError, ForkServerError, GraderError) as exc:
            last = _failed.get(key)
            _failed[key] = _Failure(str(exc), 1 if last is None else last.in_a_row + 1)
            return None
        _failed.pop(key, None)
        server.busy = True
        _servers.append(server)
        return server


def release(server: ForkServer) -> None:
    """Take a fork server back from its submission.  Its clean-up (every process of its uid
    killed, every folder that uid can write to emptied) is begun here and finished before
    it forks for anyone else; a fork server that cannot be cleaned is closed."""
    server.begin_clean()
    with _lock:
        server.busy = False
        if server.broken:
            if server in _servers:
                _servers.remove(server)
            server.close()


def settle_all() -> None:
    """Wait until every idle fork server of this process has finished its clean-up."""
    with _lock:
        for server in list(_servers):
            if not server.busy and not server.settle():
                _servers.remove(server)
                server.close()


@atexit.register
def close_all() -> None:
    """Close every fork server of this process (folders and cgroups included)."""
    with _lock:
        while _servers:
            _servers.pop().close()


# A process of a multiprocessing pool (a batch's) ends with os._exit, which skips atexit:
# its exit function runs these finalizers instead.
multiprocessing.util.Finalize(None, close_all, exitpriority=100)

_swept = False


def _sweep_once() -> None:
    """Once per process: remove the host folders and cgroups of fork servers whose process
    died without closing them (killed, or older versions)."""
    global _swept
    if _swept:
        return
    _swept = True
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        owner = folder.name[len(FOLDER_PREFIX) :].split("-", 1)[0]
        if not owner.isdigit() or _alive(int(owner)):
            continue
        try:
            if folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.geteuid():
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass
    cgroups.sweep(_alive)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
