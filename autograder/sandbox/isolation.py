"""Which OS isolation the worker runs under, the command line that starts it, and its uid.

Two levels:

``bwrap``
    Linux namespaces (pid, net, mount, ipc, uts) through bubblewrap.  The
    worker sees a read-only system (``/usr``, ``/lib*``, ``/bin``), the
    interpreter's standard library and NumPy, and nothing else: every
    site-packages folder is covered by an empty tmpfs with only NumPy bound
    back (so torch, pytest, the grader and everything installed beside them do
    not exist), forbidden packages that live in the standard library
    (``ctypes``) are replaced by a package whose ``__init__`` raises
    ImportError, the host's ``/home``, ``/root``, ``/tmp``, ``/srv``, ``/work``
    ... are not mounted (only the path down to the interpreter's folder
    exists).  The working folder and ``/tmp`` are fresh
    size-limited tmpfs mounts.  Started as root, the worker runs as a uid of
    its own (one per concurrent sandbox, see :class:`UidSlot`) with no
    capabilities and ``no_new_privs``, so RLIMIT_NPROC applies.  The new
    network namespace has only its own loopback: not even the host's 127.0.0.1
    is reachable.  A seccomp filter refuses what graded code never needs and
    what widens the kernel's attack surface: new namespaces, mounts, ptrace,
    keyrings, BPF, io_uring, memfd, and sockets other than unix ones.  Killing the worker kills everything it
    started, and the kill waits until the namespace is empty.
``rlimits``
    A separate process with resource limits and an import blocker: what a
    student's laptop or macOS gets.  Files and network are not isolated.
    Started as root, it still drops to a uid of its own when the interpreter
    is readable by other users (else RLIMIT_NPROC cannot apply to root).
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import pwd
import shutil
import signal
import site
import stat
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import GraderError, IsolationUnavailable
from . import cgroups

if TYPE_CHECKING:
    from .base import SandboxConfig

Level = Literal["bwrap", "rlimits"]
#: Inside the sandbox: where the student's files and the worker's code live.
SANDBOX_WORKDIR = "/home/student"
SANDBOX_WORKERDIR = "/opt/grader-worker"
#: Non-root uids handed out to concurrent workers (one per sandbox).
UID_BASE = 61000
UID_SLOTS = 512
#: Folders of the host system the bwrap sandbox sees (read-only), when they exist.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
#: Files under /etc the dynamic loader needs.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")


@dataclass(frozen=True)
class Isolation:
    """The isolation level in force and why."""

    level: Level
    #: Why this level, and what it does not protect (e.g. "bwrap not installed").
    reason: str = ""

    @classmethod
    def detect(cls, wanted: str = "auto") -> Isolation:
        """``auto`` picks bwrap when it works here, else rlimits; ``bwrap``/``rlimits`` force one.

        Raises :class:`~autograder.errors.IsolationUnavailable` when ``bwrap`` is
        asked for and cannot run here.
        """
        if wanted == "rlimits":
            return cls("rlimits", f"requested: {rlimits_description()}")
        problem = bwrap_problem()
        if problem is None:
            return cls("bwrap", f"Linux namespaces via bubblewrap; {cgroups.description()}")
        if wanted == "bwrap":
            raise IsolationUnavailable(f"strict isolation (bwrap) is not available: {problem}")
        return cls("rlimits", f"{rlimits_description()} ({problem})")

    @property
    def strict(self) -> bool:
        """True for OS isolation (namespaces); False for resource limits only."""
        return self.level == "bwrap"


def rlimits_description() -> str:
    """What the ``rlimits`` level protects here, in one sentence for the student."""
    text = (
        "separate process with limits on memory, CPU time, file size and open files; files and network are not isolated"
    )
    if os.getuid() != 0:
        return text + "; no child processes"
    if interpreter_shared():
        return text + "; runs as an unprivileged uid, no child processes"
    return text + (
        "; running as root with an interpreter other users cannot read, so child processes cannot be limited"
    )


@cache
def bwrap_problem() -> str | None:
    """None when bubblewrap can start a sandbox here, else the reason it cannot."""
    if not sys.platform.startswith("linux"):
        return f"not on Linux ({sys.platform})"
    exe = shutil.which("bwrap")
    if exe is None:
        return "bwrap not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        proc = subprocess.run(  # every feature the worker's command line uses
            [
                exe,
                "--unshare-pid",
                "--unshare-net",
                "--unshare-ipc",
                "--unshare-uts",
                "--die-with-parent",
                "--new-session",
                "--ro-bind",
                "/",
                "/",
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--size",
                "1048576",
                "--perms",
                "1777",
                "--tmpfs",
                "/tmp",
                "true",
            ],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to start: {exc}"
    if proc.returncode != 0:
        return f"bwrap cannot create namespaces here: {proc.stderr.decode(errors='replace')[:200]}"
    if os.getuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing, so the worker could not drop root"
    return None


# -- the command line ------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """How to start one worker: the argv and, at the rlimits level, the uid to switch to."""

    argv: list[str]
    #: uid (and gid) the Popen must switch to; None when the argv does it or no switch is due.
    popen_user: int | None = None
    #: Host folders the command mounts, for tests and diagnostics.
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
) -> Launch:
    """How to start ``worker.py`` at ``isolation.level``, as ``uid`` when one is given.

    ``maskdir`` is an existing empty folder where the masking package is written;
    at the bwrap level, bubblewrap writes ``{"child-pid": N}`` to ``info_fd``
    (the host pid of the sandbox's init: killing it ends the whole namespace)
    and reads a :func:`seccomp_filter` from ``seccomp_fd``.
    """
    python = [sys.executable, "-I", "-B"]
    if isolation.level == "rlimits":
        return Launch([*python, str(workerdir / "worker.py")], popen_user=uid)
    return _bwrap_launch(
        [*python, f"{SANDBOX_WORKERDIR}/worker.py"],
        workerdir,
        workdir,
        maskdir,
        config,
        uid,
        info_fd=info_fd,
        seccomp_fd=seccomp_fd,
    )


def zygote_launch(
    isolation: Isolation, workerdir: Path, maskdir: Path, config: SandboxConfig, info_fd: int, seccomp_fd: int | None
) -> Launch:
    """How to start ``zygote.py`` (see :mod:`.forkserver`): a worker's sandbox with an empty
    working folder, run as root with only the capabilities to drop to a sandbox uid and to set
    the pid namespace's next pid (so that every worker starts from the same one)."""
    if isolation.level != "bwrap":
        raise GraderError("the fork server needs the bwrap isolation level")
    return _bwrap_launch(
        [sys.executable, "-I", "-B", f"{SANDBOX_WORKERDIR}/zygote.py"],
        workerdir,
        None,
        maskdir,
        config,
        None,
        info_fd=info_fd,
        seccomp_fd=seccomp_fd,
        caps=("CAP_SETUID", "CAP_SETGID", "CAP_CHECKPOINT_RESTORE"),
    )


def kernel_launch(
    isolation: Isolation,
    program: list[str],
    workdir: Path,
    shared: Path,
    maskdir: Path,
    config: SandboxConfig,
    uid: int | None,
    seccomp_fd: int | None = None,
) -> Launch:
    """How to start a Jupyter kernel (``program``, which sets its own limits) at ``isolation.level``,
    with bubblewrap reading the :func:`seccomp_filter` from ``seccomp_fd`` when given.

    The worker's sandbox, except that installed packages stay visible (the kernel
    needs ipykernel and its dependencies; forbidden packages are still masked),
    there is no worker folder, and ``shared`` (the kernel's connection file and
    sockets) is bound read-write at its own path.
    """
    if isolation.level == "rlimits":
        return Launch(list(program), popen_user=uid)
    return _bwrap_launch(program, None, workdir, maskdir, config, uid, shared=shared, seccomp_fd=seccomp_fd)


def _bwrap_launch(
    program: list[str],
    workerdir: Path | None,
    workdir: Path | None,
    maskdir: Path,
    config: SandboxConfig,
    uid: int | None,
    shared: Path | None = None,
    info_fd: int | None = None,
    seccomp_fd: int | None = None,
    caps: tuple[str, ...] = (),
) -> Launch:
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
    for top in SYSTEM_DIRS:
        p = Path(top)
        if p.is_symlink():
            cmd += ["--symlink", os.readlink(p), top]
        elif p.is_dir():
            cmd += ["--ro-bind", top, top]
    cmd += ["--perms", "0755", "--dir", "/etc"]
    for etc in ETC_FILES:
        if os.path.exists(etc):
            cmd += ["--ro-bind", etc, etc]
    tmpfs_size = str(int(config.tmp_bytes))
    cmd += ["--proc", "/proc", "--dev", "/dev", "--size", tmpfs_size, "--perms", "1777", "--tmpfs", "/tmp"]
    visible = _python_folders()
    for folder in visible:
        if not _inside(folder, SYSTEM_DIRS):
            cmd += [*_parents(folder), "--ro-bind", folder, folder]
    visible_all = (*SYSTEM_DIRS, *visible)
    hidden: list[str] = []
    for site_dir in _site_dirs() if shared is None else ():
        if _inside(site_dir, visible_all):
            cmd += ["--perms", "0755", "--tmpfs", site_dir]
            hidden.append(site_dir)
    for folder in _numpy_folders():
        cmd += ["--ro-bind", folder, folder]
    for path in _forbidden_paths(config.forbidden):
        if not _inside(path, visible_all) or any(_inside(path, (h,)) for h in hidden):
            continue
        if os.path.isdir(path):
            cmd += ["--ro-bind", str(_write_mask(maskdir)), path]
        else:
            cmd += ["--ro-bind", "/dev/null", path]
        hidden.append(path)
    for path in (*_grader_folders(), *config.hide):
        real = os.path.realpath(path)
        if not _inside(real, visible_all) or any(_inside(real, (h,)) for h in hidden):
            continue
        if os.path.isdir(real):
            cmd += ["--perms", "0755", "--tmpfs", real]
        elif os.path.exists(real):
            cmd += ["--ro-bind", "/dev/null", real]
        hidden.append(real)
    if workerdir is not None:
        cmd += ["--perms", "0755", "--dir", "/opt", "--ro-bind", str(workerdir), SANDBOX_WORKERDIR]
    if shared is not None:
        cmd += [*_parents(str(shared)), "--bind", str(shared), str(shared)]
    cmd += ["--perms", "0755", "--dir", "/home", "--size", tmpfs_size, "--perms", "1777", "--tmpfs", SANDBOX_WORKDIR]
    files = sorted(workdir.rglob("*")) if workdir is not None else []
    for entry in files:
        if entry.is_file() and not entry.is_symlink():
            rel = entry.relative_to(workdir)  # type: ignore[arg-type]
            cmd += ["--ro-bind", str(entry), f"{SANDBOX_WORKDIR}/{rel}"]
    cmd += ["--chdir", SANDBOX_WORKDIR, "--setenv", "HOME", SANDBOX_WORKDIR, "--"]
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
    return Launch([*cmd, *program], hidden=tuple(hidden))


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


def read_init_pid(info: int | None) -> int | None:
    """Host pid of a bwrap sandbox's init, from the read end of its ``--info-fd`` (made
    non-blocking); None until bubblewrap wrote it.  Killing it ends the whole sandbox."""
    if info is None:
        return None
    try:
        pid = json.loads(os.read(info, 4096).decode()).get("child-pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if type(pid) is int and pid > 1 else None


def end_sandbox(proc: subprocess.Popen[bytes], init: Callable[[], int | None], timeout: float = 5.0) -> None:
    """Kill a sandbox started with :func:`launch` or :func:`zygote_launch` and everything in it,
    and reap it.

    At the bwrap level the sandbox's init (``init()``: its host pid, from ``--info-fd``)
    is killed first: the kernel then kills every process of the pid namespace, and
    bubblewrap, which waits for its init, exits only once the namespace is empty.  That
    pid is the init's only while bubblewrap, its parent, runs (once bubblewrap reaped it,
    the pid may be another process's), so it is killed only then.  Whatever still runs
    then (after ``timeout`` seconds), or at once without an init, is killed with its
    process group.
    """
    if proc.poll() is None:
        pid = init()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
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


def shown_inside(folders: tuple[str, ...]) -> tuple[str, ...]:
    """The read-only folders a sandbox shows (the interpreter's, NumPy's) that lie inside
    one of ``folders``: a tmpfs mounted over such a folder must bind them back."""
    kept: list[str] = []
    for path in (*_python_folders(), *_numpy_folders()):
        if _inside(path, folders) and not _inside(path, kept):
            kept.append(path)
    return tuple(kept)


def _inside(path: str, roots: tuple[str, ...] | list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _parents(folder: str) -> list[str]:
    """``--dir`` each missing parent with mode 0755 (bwrap would copy the host's mode)."""
    out: list[str] = []
    for parent in list(Path(folder).parents)[::-1][1:]:
        out += ["--perms", "0755", "--dir", str(parent)]
    return out


@cache
def _python_folders() -> tuple[str, ...]:
    """The interpreter's installation folders (prefixes), deduplicated, outermost only."""
    folders = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    folders.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    for key in ("stdlib", "platstdlib"):
        folders.add(os.path.realpath(sysconfig.get_paths()[key]))
    kept: list[str] = []
    for f in sorted(folders, key=len):
        if f in ("/", "/usr") or _inside(f, kept):
            continue
        kept.append(f)
    return tuple(kept)


@cache
def _site_dirs() -> tuple[str, ...]:
    """Every folder third-party packages are installed in (all hidden in the sandbox)."""
    dirs = set(site.getsitepackages())
    dirs.add(site.getusersitepackages())
    for key in ("purelib", "platlib"):
        dirs.add(sysconfig.get_paths()[key])
    dirs.update(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
    return tuple(sorted({os.path.realpath(d) for d in dirs if d and os.path.isdir(d)}))


@cache
def _numpy_folders() -> tuple[str, ...]:
    """NumPy's package folder and the folder of its bundled libraries, as installed."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.origin:
        return ()
    package = os.path.realpath(os.path.dirname(spec.origin))
    out = [package]
    libs = package + ".libs"
    if os.path.isdir(libs):
        out.append(libs)
    return tuple(out)


def _forbidden_paths(forbidden: tuple[str, ...]) -> list[str]:
    """Files and folders of forbidden modules and of their ``_name`` C halves, as installed."""
    out: list[str] = []
    for name in forbidden:
        for module in (name, f"_{name}"):
            try:
                spec = importlib.util.find_spec(module)
            except (ImportError, ValueError):
                continue
            if spec is None:
                continue
            if spec.submodule_search_locations:
                out += [os.path.realpath(p) for p in spec.submodule_search_locations if os.path.isdir(p)]
            elif spec.origin and os.path.isfile(spec.origin):
                out.append(os.path.realpath(spec.origin))
    return out


def _grader_folders() -> list[str]:
    """The grader's own package folder (hidden when it lies inside a visible folder)."""
    return [str(Path(__file__).resolve().parent.parent)]


def _write_mask(maskdir: Path) -> Path:
    """A package whose import raises ImportError, bound over forbidden packages."""
    init = maskdir / "__init__.py"
    if not init.exists():
        init.write_text("raise ImportError('this package is not available to graded code')\n")
        os.chmod(maskdir, 0o755)
        os.chmod(init, 0o644)
    return maskdir


@cache
def interpreter_shared() -> bool:
    """True when a user other than root can run this interpreter and import NumPy."""
    paths = [sys.executable, os.path.realpath(sys.executable), sysconfig.get_paths()["stdlib"], *_numpy_folders()]
    for path in paths:
        p = Path(path)
        for parent in p.parents:
            try:
                mode = parent.stat().st_mode
            except OSError:
                return False
            if not mode & stat.S_IXOTH:
                return False
        try:
            if not p.stat().st_mode & stat.S_IROTH:
                return False
        except OSError:
            return False
    return True


def needs_own_uid(isolation: Isolation) -> bool:
    """Whether a worker at this level should run as a uid of its own (only root can switch)."""
    if os.getuid() != 0:
        return False
    return isolation.level == "bwrap" or interpreter_shared()


# -- a seccomp filter: kernel interfaces graded code never needs -------------------------

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


def seccomp_filter(unix_sockets_only: bool = True) -> bytes | None:
    """A classic-BPF seccomp program (for ``bwrap --seccomp``), None on other machines.

    Other architectures' system calls (32-bit on x86_64) kill the process, the
    calls of :data:`_SECCOMP_TABLES` fail with EPERM, ``clone3`` with ENOSYS (so
    the C library falls back to ``clone``, whose flags a filter can see), and
    ``clone`` with a namespace flag with EPERM.  ``socket`` and ``socketpair`` of
    any family but AF_UNIX fail with EAFNOSUPPORT: graded code has no network to
    use, and a TCP or UDP socket leaves state in the network namespace (TIME_WAIT
    entries in /proc/net/tcp, protocol counters) that outlives the process and
    that the next worker of a fork server could read.  A unix socket dies with
    the processes holding it.  Everything else is allowed.  With
    ``unix_sockets_only`` False every socket family is allowed: for a sandbox
    whose network namespace is its own and dies with it (a notebook kernel,
    whose ZeroMQ library aborts without an IP socket).
    """
    import platform

    table = _SECCOMP_TABLES.get(platform.machine())
    if table is None:
        return None
    arch, blocked, clone, clone3 = table
    sockets = _SOCKET_CALLS[platform.machine()] if unix_sockets_only else ()
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
