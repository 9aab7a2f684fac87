"""Which OS isolation a sandbox runs under, and what the system looks like from inside it.

Two levels:

``bwrap``
    Linux namespaces (pid, net, mount, ipc, uts) through bubblewrap.  The
    sandbox sees a read-only system (``/usr``, ``/lib*``, ``/bin``), the
    interpreter's standard library and NumPy, and nothing else: every
    site-packages folder is covered by an empty tmpfs with only NumPy bound
    back (so torch, pytest, the grader and everything installed beside them do
    not exist), forbidden packages that live in the standard library
    (``ctypes``) are replaced by a package whose ``__init__`` raises
    ImportError, the host's ``/home``, ``/root``, ``/tmp``, ``/srv``, ``/work``
    ... are not mounted (only the path down to the interpreter's folder
    exists).  The working folder and ``/tmp`` are fresh
    size-limited tmpfs mounts.  The new network namespace has only its own
    loopback: not even the host's 127.0.0.1 is reachable.  :func:`bwrap_view`
    is that view as bubblewrap options.
``rlimits``
    A separate process with resource limits and an import blocker: what a
    student's laptop or macOS gets.  Files are not isolated; on Linux the
    seccomp filter of the bwrap level refuses IP sockets (elsewhere the network
    is not isolated either).

How a sandboxed process is started at either level, limited, confined by seccomp, moved
to a uid of its own and killed is :mod:`.launch`'s job.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import stat
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import IsolationUnavailable
from . import cgroups

if TYPE_CHECKING:
    from .base import SandboxConfig

Level = Literal["bwrap", "rlimits"]
#: Inside the sandbox: where the student's files and the worker's code live.
SANDBOX_WORKDIR = "/home/student"
SANDBOX_WORKERDIR = "/opt/grader-worker"
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
            inodes = "" if caps_tmpfs() else "; temporary folders without an inode cap (only root can set one)"
            return cls("bwrap", f"Linux namespaces via bubblewrap; {cgroups.description()}{inodes}")
        if wanted == "bwrap":
            raise IsolationUnavailable(f"strict isolation (bwrap) is not available: {problem}")
        return cls("rlimits", f"{rlimits_description()} ({problem})")

    @property
    def strict(self) -> bool:
        """True for OS isolation (namespaces); False for resource limits only."""
        return self.level == "bwrap"


def rlimits_description() -> str:
    """What the ``rlimits`` level protects here, in one sentence for the student."""
    text = "separate process with limits on memory, CPU time, file size and open files; files are not isolated"
    if sys.platform.startswith("linux") and os.uname().machine in ("x86_64", "aarch64"):
        text += "; a seccomp filter refuses network sockets"
    else:
        text += ", nor is the network"
    if os.getuid() != 0:
        return text + "; no child processes"
    if interpreter_shared():
        return text + "; runs as an unprivileged uid, no child processes"
    return text + (
        "; runs as an unprivileged uid, no child processes (a notebook's kernel runs as root: "
        "other users cannot read this interpreter)"
    )


def caps_tmpfs() -> bool:
    """Whether a new bwrap sandbox's tmpfs get an inode cap here (see :func:`.launch.cap_tmpfs`):
    only root may join its mount namespace, on a machine whose read(2) :mod:`.renew` knows."""
    import platform

    return sys.platform.startswith("linux") and os.geteuid() == 0 and platform.machine() in ("x86_64", "aarch64")


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


# -- what the bwrap sandbox shows ---------------------------------------------------------


def bwrap_view(
    workerdir: Path | None, workdir: Path | None, maskdir: Path, config: SandboxConfig, shared: Path | None = None
) -> tuple[list[str], tuple[str, ...]]:
    """The bubblewrap options that build the sandbox's file system, and the host folders they hide.

    ``workerdir`` (the worker's code) is shown read-only at :data:`SANDBOX_WORKERDIR`,
    ``workdir``'s files read-only in a fresh tmpfs at :data:`SANDBOX_WORKDIR` (the working
    folder), ``maskdir`` is an existing empty folder where the masking package is written.
    With ``shared`` (a notebook kernel's connection folder, bound read-write at its own
    path) installed packages stay visible: the kernel needs ipykernel and its
    dependencies; forbidden packages are still masked.
    """
    cmd: list[str] = []
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
    cmd += ["--chdir", SANDBOX_WORKDIR, "--setenv", "HOME", SANDBOX_WORKDIR]
    return cmd, tuple(hidden)


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
    """Whether a worker at this level runs as a uid of its own: whenever the harness is root
    (only root can switch).  At the rlimits level the worker switches itself, once the
    interpreter and NumPy are loaded (see :mod:`.confine`), so even an interpreter other
    users cannot read serves it."""
    return os.getuid() == 0


def kernel_needs_own_uid(isolation: Isolation) -> bool:
    """Whether a notebook kernel at this level runs as a uid of its own: at the rlimits level
    its launcher execs a new interpreter after the switch, which that uid must be able to
    read (:func:`interpreter_shared`)."""
    if os.getuid() != 0:
        return False
    return isolation.level == "bwrap" or interpreter_shared()
