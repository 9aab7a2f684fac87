"""Start, limit, confine and end every sandboxed process: the plain worker, the fork server's
zygote (and the workers it forks), and the notebook kernel.

One owner for all three, so that they cannot drift apart:

- **Launch.**  :func:`launch`, :func:`zygote_launch` and :func:`kernel_launch` build
  the command line: at the ``bwrap`` level bubblewrap with the namespaces, the view of
  :func:`.isolation.bwrap_view`, ``--info-fd`` (the host pid of the sandbox's init)
  and ``--seccomp``, and ``--block-fd`` where :func:`cap_tmpfs` gives the new sandbox's
  tmpfs an inode cap before it runs anything; at the ``rlimits`` level the bare program,
  started as the harness's user.
- **Limits.**  :func:`rlimits` is the one table of rlimits (AS, CPU, NPROC, FSIZE,
  NOFILE, CORE, MEMLOCK, MSGQUEUE) computed from a :class:`~.base.SandboxConfig`; a
  kernel's configuration is :func:`kernel_config` (room for its threads and sockets).
- **Confinement, in one order everywhere.**  (1) The seccomp filter of
  :func:`seccomp_filter` (unix sockets only), installed by bubblewrap on the sandbox's
  first process and inherited by every process in it, or at the rlimits level by
  :func:`.confine.enter` (:func:`confine_filter`); (2) the uid of its own, with an empty
  capability bounding set, dropped to at launch (``setpriv`` in the bwrap line) or by
  :func:`.confine.enter` (a forked worker, in the zygote's child; every process at the
  rlimits level); (3) the rlimits, lowered by :func:`.confine.enter` inside the process
  just before untrusted code runs (``worker.py``, the zygote's child, the kernel's
  launcher), which also checks the uid switch and the empty bounding set.
- **Kill.**  :func:`end_sandbox` kills a sandbox's init (so the kernel empties its pid
  namespace) only while it provably is the init, never a process that got its pid
  after it died, then every process of the sandbox's uid (:func:`kill_uid`).

It is one piece on purpose: launch, limits, seccomp, uid and kill were three copies
that had drifted apart; a third of its length is the per-machine table of system call
numbers the seccomp filter refuses.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import json
import os
import pwd
import select
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GraderError
from .isolation import SANDBOX_WORKDIR, SANDBOX_WORKERDIR, Isolation, bwrap_view

if TYPE_CHECKING:
    from .base import SandboxConfig

#: Non-root uids handed out to concurrent sandboxes (one per sandbox).
UID_BASE = 61000
UID_SLOTS = 512
#: Threads of an idle IPython kernel (shell, control, iopub, heartbeat, ...), with room to spare.
KERNEL_THREADS = 16
#: Open files of a kernel: its ZeroMQ sockets and what a notebook opens, no more (each
#: could be a file of ``file_bytes`` in a tmpfs).
KERNEL_OPEN_FILES = 256
#: The files of the sandbox's side, copied into the folder shown at SANDBOX_WORKERDIR.
SANDBOX_FILES = ("worker.py", "protocol.py", "confine.py")

_HERE = Path(__file__).resolve().parent
_MiB = 1024 * 1024


# -- the limits ------------------------------------------------------------------------


def rlimits(config: SandboxConfig, uid: int | None) -> dict[str, tuple[int, int]]:
    """The rlimits of a sandboxed process of ``config``: ``{"AS": (soft, hard), ...}``.

    ``uid`` is the sandbox's own uid, None when it runs as the harness's (not root).
    RLIMIT_NPROC counts the processes of a uid: with one of its own, the sandbox may
    have itself and ``config.max_processes`` more; without, 0 forbids children when
    ``max_processes`` is 0, and any other value leaves them unlimited (the harness's
    uid has processes of its own).  CPU time: SIGXCPU at the soft limit (reported as a
    timeout), SIGKILL a second later if that is ignored.
    """
    table = {
        "AS": (config.memory_mb * _MiB, config.memory_mb * _MiB),
        "CPU": (config.cpu_seconds, config.cpu_seconds + 1),
        "FSIZE": (config.file_bytes, config.file_bytes),
        "NOFILE": (config.open_files, config.open_files),
        "CORE": (0, 0),
        "MEMLOCK": (0, 0),
        "MSGQUEUE": (0, 0),
    }
    if uid is not None:
        table["NPROC"] = (1 + max(config.max_processes, 0), 1 + max(config.max_processes, 0))
    elif config.max_processes == 0:
        table["NPROC"] = (0, 0)
    return table


def kernel_config(config: SandboxConfig) -> SandboxConfig:
    """``config`` for a notebook kernel: its threads and ZeroMQ sockets on top of what the
    notebook's code may start and open."""
    return replace(config, max_processes=KERNEL_THREADS + max(config.max_processes, 0), open_files=KERNEL_OPEN_FILES)


# -- the command line ------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """How to start one sandboxed process."""

    argv: list[str]
    #: Host folders the command hides, for tests and diagnostics.
    hidden: tuple[str, ...] = field(default_factory=tuple)


def launch(
    isolation: Isolation,
    workerdir: Path,
    workdir: Path,
    maskdir: Path,
    config: SandboxConfig,
    uid: int | None,
    info_fd: int | None = None,
    seccomp_fd: int | None = None,
    block_fd: int | None = None,
) -> Launch:
    """How to start ``worker.py`` (with :data:`SANDBOX_FILES` in ``workerdir``) at
    ``isolation.level``, as ``uid`` when one is given.

    At the bwrap level, bubblewrap writes ``{"child-pid": N}`` to ``info_fd`` (the
    host pid of the sandbox's init, for :func:`end_sandbox`), reads a
    :func:`seccomp_filter` from ``seccomp_fd`` and, with ``block_fd``, waits for a byte
    on it once the sandbox is built (see :func:`cap_tmpfs`).  The worker lowers its
    rlimits itself, from its first frame (:func:`rlimits`, applied by :func:`.confine.enter`).
    """
    python = [sys.executable, "-I", "-B"]
    if isolation.level == "rlimits":
        return Launch([*python, str(workerdir / "worker.py")])
    return _bwrap(
        [*python, f"{SANDBOX_WORKERDIR}/worker.py"],
        bwrap_view(workerdir, workdir, maskdir, config),
        uid,
        info_fd=info_fd,
        seccomp_fd=seccomp_fd,
        block_fd=block_fd,
    )


def zygote_launch(
    isolation: Isolation, workerdir: Path, maskdir: Path, config: SandboxConfig, info_fd: int, seccomp_fd: int | None
) -> Launch:
    """How to start ``zygote.py`` (see :mod:`.forkserver`): a worker's sandbox with an empty
    working folder, run as root with only the capabilities to drop to a sandbox uid and to set
    the pid namespace's next pid (so that every worker starts from the same one), and an
    empty capability bounding set, which every worker it forks inherits.  Each worker
    enters its uid and limits with :func:`.confine.enter`.

    bubblewrap gives ``setpriv`` those capabilities and CAP_SETPCAP; ``setpriv`` empties
    the bounding set and execs the zygote with the three as inheritable ones, which a
    root process keeps across exec (a bounding set limits only what exec grants anew).
    """
    if isolation.level != "bwrap":
        raise GraderError("the fork server needs the bwrap isolation level")
    names = ("setuid", "setgid", "checkpoint_restore")
    setpriv = ["setpriv", "--inh-caps=-all," + ",".join(f"+{n}" for n in names), "--bounding-set=-all", "--"]
    return _bwrap(
        [*setpriv, sys.executable, "-I", "-B", f"{SANDBOX_WORKERDIR}/zygote.py"],
        bwrap_view(workerdir, None, maskdir, config),
        None,
        info_fd=info_fd,
        seccomp_fd=seccomp_fd,
        caps=(*(f"CAP_{n.upper()}" for n in names), "CAP_SETPCAP"),
    )


def kernel_launch(
    isolation: Isolation,
    workdir: Path,
    shared: Path,
    maskdir: Path,
    config: SandboxConfig,
    uid: int | None,
    info_fd: int | None = None,
    seccomp_fd: int | None = None,
    block_fd: int | None = None,
) -> Launch:
    """How to start a Jupyter kernel (``{connection_file}`` to fill in) for a notebook of
    ``config`` at ``isolation.level``: :mod:`.confine` enters the uid and the rlimits of
    :func:`kernel_config`, then becomes ``ipykernel_launcher``.

    At the bwrap level: the worker's sandbox and seccomp filter (``info_fd``,
    ``seccomp_fd`` and ``block_fd`` as for :func:`launch`), except that installed packages
    stay visible and ``shared`` (the kernel's connection file and ``ipc`` sockets) is bound
    read-write at its own path.
    """
    limits = json.dumps(rlimits(kernel_config(config), uid))
    program = [sys.executable, "-I", "-B", "-c", _confine_source(), limits, str(uid if uid is not None else -1)]
    seccomp = confine_filter(isolation)
    program += [seccomp.hex() if seccomp else "-", "-c", _KERNEL_START, "-f", "{connection_file}"]
    if isolation.level == "rlimits":
        return Launch(program)
    view = bwrap_view(None, workdir, maskdir, config, shared=shared)
    return _bwrap(program, view, uid, info_fd=info_fd, seccomp_fd=seccomp_fd, block_fd=block_fd)


#: What :mod:`.confine` becomes in a kernel's sandbox: ``ipykernel_launcher``, except that
#: the IOPub thread opens no pipe for the output of forked processes, which would be a TCP
#: socket on 127.0.0.1 (the seccomp filter refuses it, and ZeroMQ aborts on that).  Its
#: ZeroMQ sockets are ``ipc`` ones, unix sockets in the connection folder.
_KERNEL_START = """
import sys
if sys.path and sys.path[0] == "":
    del sys.path[0]
from ipykernel import iostream, kernelapp

class IOPubThread(iostream.IOPubThread):
    def __init__(self, socket, pipe=False, session=False):
        super().__init__(socket, pipe=False, session=session)

kernelapp.IOPubThread = IOPubThread
kernelapp.launch_new_instance()
"""


@cache
def _confine_source() -> str:
    return (_HERE / "confine.py").read_text(encoding="utf-8")


def _bwrap(
    program: list[str],
    view: tuple[list[str], tuple[str, ...]],
    uid: int | None,
    info_fd: int | None = None,
    seccomp_fd: int | None = None,
    caps: tuple[str, ...] = (),
    block_fd: int | None = None,
) -> Launch:
    """bubblewrap with the namespaces, ``view``, then ``program`` as ``uid`` (setpriv: no
    groups, no capabilities, not even in the bounding set, and no_new_privs)."""
    cmd = [
        "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
    ]
    if caps:
        cmd += ["--cap-drop", "ALL"]
        for cap in caps:
            cmd += ["--cap-add", cap]
    if info_fd is not None:
        cmd += ["--info-fd", str(info_fd)]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    if block_fd is not None:
        cmd += ["--block-fd", str(block_fd)]
    options, hidden = view
    cmd += [*options, "--"]
    if uid is not None:
        cmd += [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--no-new-privs",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ]
    return Launch([*cmd, *program], hidden=hidden)


def worker_env(home: str | None = None) -> dict[str, str]:
    """The environment of a worker (or zygote): a plain PATH, one BLAS thread, no bytecode
    files, and the host's OpenBLAS CPU hints (a mismatch can crash OpenBLAS at import)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LC_ALL": "C.UTF-8",
    }
    if home is not None:
        env["HOME"] = home
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def confine_filter(isolation: Isolation) -> bytes | None:
    """The seccomp filter a sandboxed process installs itself (:func:`.confine.enter`): at the
    rlimits level on Linux; None at the bwrap level, where bubblewrap installs it."""
    if isolation.level != "rlimits" or not sys.platform.startswith("linux"):
        return None
    return seccomp_filter()


def seccomp_pipe() -> int | None:
    """The read end of a pipe holding :func:`seccomp_filter` (for ``bwrap --seccomp``), or
    None on machines without a filter.  The caller passes it to bwrap, then closes it."""
    program = seccomp_filter()
    if program is None:
        return None
    read_end, write_end = os.pipe()
    os.write(write_end, program)  # a few hundred bytes: fits in the pipe
    os.close(write_end)
    return read_end


# -- capping a new sandbox's tmpfs --------------------------------------------------------

#: The tmpfs of a new bwrap sandbox its code can write to (the working folder and /tmp).
WRITABLE_TMPFS = ("/tmp", SANDBOX_WORKDIR)
#: Seconds bubblewrap may take to build a sandbox and :mod:`.renew` to cap its tmpfs (more
#: than the helper's own wait, so that it answers first).
CAP_TIMEOUT = 15.0


def wait_init_pid(read: Callable[[], bytes | None], timeout: float = CAP_TIMEOUT) -> int | None:
    """Host pid of a bwrap sandbox's init from what bubblewrap writes to ``--info-fd``, read
    by ``read`` (``b""`` while nothing more came, None once nothing more can come) until
    it is whole; None when it is not within ``timeout`` seconds.

    bubblewrap may write it in pieces: a piece alone may hold a pid cut short.
    """
    deadline = time.monotonic() + timeout
    data = b""
    while b"}" not in data:
        piece = read()
        if piece is None or len(data) > 4096 or time.monotonic() > deadline:
            return None
        if not piece:
            time.sleep(0.0005)
        data += piece
    try:
        pid = json.loads(data.decode()).get("child-pid")
    except (ValueError, AttributeError):
        return None
    return pid if type(pid) is int and pid > 1 else None


def pipe_reader(fd: int) -> Callable[[], bytes | None]:
    """A ``read`` for :func:`wait_init_pid` from the non-blocking read end of a pipe."""

    def read() -> bytes | None:
        try:
            return os.read(fd, 4096) or None
        except BlockingIOError:
            return b""

    return read


def cap_tmpfs(parent: int, init: int, block_fd: int, config: SandboxConfig) -> bool:
    """Cap the inodes (and size) of each tmpfs of :data:`WRITABLE_TMPFS` in a bwrap sandbox
    started with ``--block-fd block_fd`` (bubblewrap's pid ``parent``, its init ``init``)
    at ``config.tmp_inodes`` (and ``config.tmp_bytes``); True when done.

    bubblewrap's ``--tmpfs`` has no inode option, and a million empty folders cost gigabytes
    of kernel memory that neither the size cap nor RLIMIT_AS sees: :mod:`.renew` (one
    helper per harness process) remounts them once the sandbox is built and waits at
    ``block_fd``.  The caller lets it go on (writes a byte to the other end) only on True,
    and otherwise ends it.
    """
    numbers = (parent, init, block_fd, int(config.tmp_bytes), int(config.tmp_inodes))
    return _CAPPER.request(" ".join([*(str(n) for n in numbers), *WRITABLE_TMPFS]).encode() + b"\n")


class _Capper:
    """The :mod:`.renew` helper of this process (``--serve``), started on first use and again
    if it dies; a process forked from this one starts its own."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner = 0
        self._lock = threading.Lock()

    def request(self, line: bytes) -> bool:
        """Send one request line; True when the helper answered that the caps are set.

        Answers carry no request of their own: a request cut short (an exception, a
        KeyboardInterrupt too) ends the helper, so that its late answer can never be
        read as the next request's.
        """
        with self._lock:
            for _ in range(2):  # a helper found dead is replaced once
                proc = self._helper()
                if proc is None or proc.stdin is None or proc.stdout is None:
                    return False
                try:
                    proc.stdin.write(line)
                    proc.stdin.flush()
                    ready, _, _ = select.select([proc.stdout], [], [], CAP_TIMEOUT)
                    if not ready:  # a sandbox that never got built: the helper waits no more
                        self.close()
                        return False
                    answer = os.read(proc.stdout.fileno(), 1)
                except OSError:
                    answer = b""
                except BaseException:
                    self.close()
                    raise
                if answer:
                    return answer == b"1"
                self.close()
            return False

    def _helper(self) -> subprocess.Popen[bytes] | None:
        if self._proc is not None and self._owner == os.getpid() and self._proc.poll() is None:
            return self._proc
        if self._owner == os.getpid():
            self.close()
        command = [sys.executable, "-I", "-B", "-S", str(_HERE / "renew.py"), "--serve"]
        try:
            self._proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=worker_env()
            )
        except OSError:
            self._proc = None
            return None
        self._owner = os.getpid()
        return self._proc

    def close(self) -> None:
        """End this process's helper (it exits at the end of its stdin)."""
        proc, self._proc = self._proc, None
        if proc is None or self._owner != os.getpid():
            return
        close_pipes(proc)
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_CAPPER = _Capper()
atexit.register(_CAPPER.close)


# -- ending a sandbox --------------------------------------------------------------------


def close_pipes(proc: subprocess.Popen[bytes]) -> None:
    """Close our ends of ``proc``'s stdin and stdout pipes (one already closed is no matter)."""
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


def read_init_pid(info: int | None) -> int | None:
    """Host pid of a bwrap sandbox's init, from the read end of its ``--info-fd`` (made
    non-blocking) or a file it wrote to; None until bubblewrap wrote it."""
    if info is None:
        return None
    try:
        pid = json.loads(os.read(info, 4096).decode()).get("child-pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if type(pid) is int and pid > 1 else None


def end_sandbox(
    proc: subprocess.Popen[bytes], init: Callable[[], int | None], uid: int | None = None, timeout: float = 5.0
) -> bool:
    """Kill a sandbox started from a :class:`Launch` and everything in it, reap it, and then
    kill every process of ``uid`` (:func:`kill_uid`); True when none of them is left.

    At the bwrap level the sandbox's init (``init()``: its host pid, from ``--info-fd``)
    is killed first: the kernel then kills every process of the pid namespace, and
    bubblewrap, which waits for its init, exits only once the namespace is empty.  A pid
    names the init only while the init is bubblewrap's child (once it died and was
    reaped, the pid may be anyone's): it is killed through a pidfd taken before that is
    checked (see :func:`kill_child`).  Whatever still runs then (after ``timeout``
    seconds), or at once without an init, is killed with its process group.
    """
    if proc.poll() is None:
        pid = init()
        if pid is not None and kill_child(proc.pid, pid):
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        proc.wait()
    return kill_uid(uid) if uid is not None else True


def kill_child(parent: int, pid: int) -> bool:
    """SIGKILL ``pid`` only if it is a child of ``parent``; True when sent.

    ``parent`` must be a child of this process not reaped yet, so that its pid is its
    own.  The pidfd taken first pins the process: if it dies and its pid goes to another
    process while the parent is checked, the signal goes nowhere.
    """
    try:
        handle = os.pidfd_open(pid)
    except OSError as exc:
        if exc.errno != errno.ENOSYS:  # gone already
            return False
        handle = None  # a kernel without pidfds (before 5.3): only the parent check
    try:
        if _parent_of(pid) != parent:
            return False
        if handle is None:
            os.kill(pid, signal.SIGKILL)
        else:
            signal.pidfd_send_signal(handle, signal.SIGKILL)
        return True
    except OSError:
        return False
    finally:
        if handle is not None:
            os.close(handle)


def _parent_of(pid: int) -> int | None:
    """The parent pid of ``pid`` from /proc, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read(4096)
    except OSError:
        return None
    fields = data.rpartition(b")")[2].split()  # the name in parentheses may hold anything
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


# -- a seccomp filter: kernel interfaces graded code never needs -------------------------

#: Calls added since Linux 5.1 have one number on every architecture.
_SAME_ON_EVERY_MACHINE: dict[str, int] = {
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "memfd_secret": 447,
}
#: Per machine: (audit arch, syscalls refused with EPERM, clone, clone3).  Namespaces and
#: mounts (a way to new kernel attack surface), tracing other processes, keyrings, BPF,
#: io_uring, kernel modules, memfd (memory that the address-space limit misses), and System V
#: and POSIX message IPC (objects that outlive the process, and the next submission of a
#: fork server would share them; NumPy and Python's own multiprocessing never use them).
_SECCOMP_TABLES: dict[str, tuple[int, dict[str, int], int, int]] = {
    "x86_64": (
        0xC000003E,
        {
            "ptrace": 101,
            "personality": 135,
            "pivot_root": 155,
            "mount": 165,
            "umount2": 166,
            "swapon": 167,
            "swapoff": 168,
            "reboot": 169,
            "init_module": 175,
            "delete_module": 176,
            "kexec_load": 246,
            "add_key": 248,
            "request_key": 249,
            "keyctl": 250,
            "unshare": 272,
            "perf_event_open": 298,
            "setns": 308,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "finit_module": 313,
            "memfd_create": 319,
            "kexec_file_load": 320,
            "bpf": 321,
            "userfaultfd": 323,
            **_SAME_ON_EVERY_MACHINE,
            "shmget": 29,
            "shmat": 30,
            "shmctl": 31,
            "semget": 64,
            "semop": 65,
            "semctl": 66,
            "shmdt": 67,
            "msgget": 68,
            "msgsnd": 69,
            "msgrcv": 70,
            "msgctl": 71,
            "semtimedop": 220,
            "mq_open": 240,
            "mq_unlink": 241,
            "mq_timedsend": 242,
            "mq_timedreceive": 243,
            "mq_notify": 244,
            "mq_getsetattr": 245,
        },
        56,
        435,
    ),
    "aarch64": (
        0xC00000B7,
        {
            "ptrace": 117,
            "personality": 92,
            "pivot_root": 41,
            "mount": 40,
            "umount2": 39,
            "swapon": 224,
            "swapoff": 225,
            "reboot": 142,
            "init_module": 105,
            "delete_module": 106,
            "kexec_load": 104,
            "add_key": 217,
            "request_key": 218,
            "keyctl": 219,
            "unshare": 97,
            "perf_event_open": 241,
            "setns": 268,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "finit_module": 273,
            "memfd_create": 279,
            "kexec_file_load": 294,
            "bpf": 280,
            "userfaultfd": 282,
            **_SAME_ON_EVERY_MACHINE,
            "mq_open": 180,
            "mq_unlink": 181,
            "mq_timedsend": 182,
            "mq_timedreceive": 183,
            "mq_notify": 184,
            "mq_getsetattr": 185,
            "msgget": 186,
            "msgctl": 187,
            "msgrcv": 188,
            "msgsnd": 189,
            "semget": 190,
            "semctl": 191,
            "semtimedop": 192,
            "semop": 193,
            "shmget": 194,
            "shmctl": 195,
            "shmat": 196,
            "shmdt": 197,
        },
        220,
        435,
    ),
}
#: clone() flags that create namespaces.
_CLONE_NEW_NAMESPACES = 0x7E020000
#: Per machine: the numbers of socket() and socketpair(), allowed for AF_UNIX only.
_SOCKET_CALLS: dict[str, tuple[int, int]] = {"x86_64": (41, 53), "aarch64": (198, 199)}
_AF_UNIX = 1


def seccomp_filter() -> bytes | None:
    """The classic-BPF seccomp program of every bwrap sandbox (for ``bwrap --seccomp``), None
    on other machines.

    Other architectures' system calls (32-bit on x86_64) kill the process, the
    calls of :data:`_SECCOMP_TABLES` fail with EPERM, ``clone3`` with ENOSYS (so
    the C library falls back to ``clone``, whose flags a filter can see), and
    ``clone`` with a namespace flag with EPERM.  ``socket`` and ``socketpair`` of
    any family but AF_UNIX fail with EAFNOSUPPORT: graded code has no network to
    use, and a TCP or UDP socket leaves state in the network namespace (TIME_WAIT
    entries in /proc/net/tcp, protocol counters) that outlives the process and
    that the next worker of a fork server could read.  A unix socket dies with
    the processes holding it (a notebook kernel talks ZeroMQ over ``ipc``, that is
    unix, sockets).  Everything else is allowed.
    """
    import platform

    table = _SECCOMP_TABLES.get(platform.machine())
    if table is None:
        return None
    arch, blocked, clone, clone3 = table
    sockets = _SOCKET_CALLS[platform.machine()]
    ld_abs, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    eperm, enosys, eafnosupport = 0x00050000 | 1, 0x00050000 | 38, 0x00050000 | 97
    numbers = sorted(set(blocked.values()))
    program: list[tuple[int, int, int, int]] = [
        (ld_abs, 0, 0, 4),  # arch
        (jeq, 1, 0, arch),
        (ret, 0, 0, kill),
        (ld_abs, 0, 0, 0),  # syscall number
    ]
    x32 = platform.machine() == "x86_64"
    # Layout after the checks: allow, clone check (2), allow, eperm, enosys, socket check (3).
    checks = (1 if x32 else 0) + len(numbers) + 2 + len(sockets)
    first_check = len(program)
    end = first_check + checks
    label = {"allow": end, "clone": end + 1, "eperm": end + 4, "enosys": end + 5, "socket": end + 6}

    def jump_to(target: str) -> int:
        return label[target] - (len(program) + 1)

    if x32:
        program.append((jge, jump_to("eperm"), 0, 0x40000000))
    for nr in numbers:
        program.append((jeq, jump_to("eperm"), 0, nr))
    program.append((jeq, jump_to("enosys"), 0, clone3))
    program.append((jeq, jump_to("clone"), 0, clone))
    for nr in sockets:
        program.append((jeq, jump_to("socket"), 0, nr))
    assert len(program) == end
    program += [
        (ret, 0, 0, allow),
        (ld_abs, 0, 0, 16),  # clone's flags: the low half of args[0]
        (jset, 1, 0, _CLONE_NEW_NAMESPACES),
        (ret, 0, 0, allow),
        (ret, 0, 0, eperm),
        (ret, 0, 0, enosys),
        (ld_abs, 0, 0, 16),  # the socket's family: the low half of args[0]
        (jeq, 0, 1, _AF_UNIX),
        (ret, 0, 0, allow),
        (ret, 0, 0, eafnosupport),
    ]
    return b"".join(struct.pack("<HBBI", *insn) for insn in program)


# -- one uid per concurrent sandbox ----------------------------------------------------


class UidSlot:
    """An exclusive claim on one sandbox uid, held through an flock'd file until released.

    Lock files live in a folder only root can write (``/run/autograder-sandbox``),
    opened without following symlinks, so no other user can redirect them.
    """

    def __init__(self, uid: int, fd: int) -> None:
        self.uid = uid
        self._fd: int | None = fd

    @classmethod
    def acquire(cls) -> UidSlot:
        """Claim the first free uid; raises GraderError when all are taken."""
        for slot in range(UID_SLOTS):
            claimed = cls.try_claim(UID_BASE + slot)
            if claimed is not None:
                return claimed
        raise GraderError(f"all {UID_SLOTS} sandbox uids are in use")

    @classmethod
    def try_claim(cls, uid: int) -> UidSlot | None:
        """Claim ``uid`` if no one holds it (and no account uses it), else None."""
        if _uid_exists(uid):
            return None
        path = _lock_folder() / f"uid-{uid}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError:  # e.g. a symlink planted in its place: never follow it
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return cls(uid, fd)

    def release(self) -> None:
        """Give the uid back (call only once no process of it is left)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        self.release()


@cache
def _uid_exists(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _lock_folder() -> Path:
    base = Path("/run") if os.path.isdir("/run") and os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
    folder = base / "autograder-sandbox"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise GraderError(f"{folder} is not a private folder of this user; remove it")
    return folder


# -- processes of a sandbox uid ---------------------------------------------------------


def processes_of(uid: int) -> list[int]:
    """Pids of live (not zombie) processes whose real, effective or saved uid is ``uid``."""
    out: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    wanted = str(uid).encode()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as f:
                text = f.read(4096)
        except OSError:
            continue
        fields = dict(line.split(b":", 1) for line in text.splitlines() if b":" in line)
        if fields.get(b"State", b"").strip().startswith((b"Z", b"X")):
            continue
        if wanted in fields.get(b"Uid", b"").split()[:3]:
            out.append(int(entry))
    return out


def kill_uid(uid: int, timeout: float = 5.0) -> bool:
    """SIGKILL every process of ``uid`` until none is left; True when none is.

    Safe only for a uid held through a :class:`UidSlot`: nothing else runs as it.
    """
    deadline = time.monotonic() + timeout
    while True:
        pids = processes_of(uid)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
