"""Which OS isolation the worker runs under, and the command line that starts it.

Two levels:

``bwrap``
    Linux namespaces (pid, net, mount, ipc, uts) through bubblewrap: a
    read-only view of the system with only the interpreter and NumPy visible,
    a fresh tmpfs for the working folder and ``/tmp``, the forbidden packages
    masked by an ``__init__`` that raises ImportError, the grader's and the
    course's files absent, a non-root uid per concurrent job when started as
    root.  Killing the worker kills everything it started.
``rlimits``
    A separate process with resource limits and an import blocker: what a
    student's laptop or macOS gets.  Honest about being weaker.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .client import SandboxConfig

Level = Literal["bwrap", "rlimits"]
#: Inside the sandbox: where the student's files and the worker's code live.
SANDBOX_WORKDIR = "/home/student"
SANDBOX_WORKERDIR = "/opt/grader-worker"
#: Non-root uids handed out to concurrent workers (one per job).
UID_BASE = 61000
UID_SLOTS = 256
#: Processes one sandboxed uid may have (the worker itself needs one).
NPROC_LIMIT = 16


@dataclass(frozen=True)
class Isolation:
    """The isolation level in force and why."""

    level: Level
    #: Why this level (e.g. "bwrap not installed").
    reason: str = ""

    @classmethod
    def detect(cls, wanted: str = "auto") -> Isolation:
        """``auto`` picks bwrap when it works here, else rlimits; ``bwrap``/``rlimits`` force one."""
        if wanted == "rlimits":
            return cls("rlimits", "requested")
        problem = bwrap_problem()
        if problem is None:
            return cls("bwrap", "Linux namespaces via bubblewrap")
        if wanted == "bwrap":
            from ..errors import IsolationUnavailable

            raise IsolationUnavailable(f"strict isolation (bwrap) is not available: {problem}")
        return cls("rlimits", f"separate process with resource limits only ({problem})")

    @property
    def strict(self) -> bool:
        return self.level == "bwrap"


@cache
def bwrap_problem() -> str | None:
    """None when bubblewrap can start a sandbox here, else the reason it cannot."""
    if not sys.platform.startswith("linux"):
        return f"not on Linux ({sys.platform})"
    exe = shutil.which("bwrap")
    if exe is None:
        return "bwrap not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        proc = subprocess.run(
            [exe, "--unshare-pid", "--unshare-net", "--die-with-parent",
             "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"],
            capture_output=True, timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to start: {exc}"
    if proc.returncode != 0:
        return f"bwrap cannot create namespaces here: {proc.stderr.decode(errors='replace')[:200]}"
    return None


def launch_command(isolation: Isolation, workerdir: Path, workdir: Path,
                   config: SandboxConfig) -> list[str]:
    """The argv that starts ``worker.py`` at ``isolation.level``."""
    worker = [sys.executable, "-I", "-B"]
    if isolation.level == "rlimits":
        return [*worker, str(workerdir / "worker.py")]
    return _bwrap_command(worker, workerdir, workdir, config)


def _bwrap_command(python: list[str], workerdir: Path, workdir: Path,
                   config: SandboxConfig) -> list[str]:
    cmd = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session",
           "--hostname", "sandbox"]
    for top in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        p = Path(top)
        if p.is_symlink():
            cmd += ["--symlink", os.readlink(p), top]
        elif p.is_dir():
            cmd += ["--ro-bind", top, top]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        if os.path.exists(etc):
            cmd += ["--ro-bind", etc, etc]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    for folder in _python_folders():
        cmd += _parents(folder) + ["--ro-bind", folder, folder]
    for package_dir in _masked_packages(config.forbidden):
        cmd += ["--ro-bind", str(_mask_dir()), package_dir]
    for grader_dir in _grader_folders():
        cmd += ["--tmpfs", grader_dir]
    cmd += ["--perms", "0755", "--dir", "/opt", "--ro-bind", str(workerdir), SANDBOX_WORKERDIR,
            "--perms", "0755", "--dir", "/home",
            "--size", str(64 * 1024 * 1024), "--perms", "1777", "--tmpfs", SANDBOX_WORKDIR]
    for entry in sorted(workdir.rglob("*")):
        if entry.is_file():
            rel = entry.relative_to(workdir)
            cmd += ["--ro-bind", str(entry), f"{SANDBOX_WORKDIR}/{rel}"]
    cmd += ["--chdir", SANDBOX_WORKDIR, "--setenv", "HOME", SANDBOX_WORKDIR, "--"]
    if os.getuid() == 0:
        uid = str(_uid_slot())
        cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--no-new-privs", "--inh-caps=-all",
                "prlimit", f"--nproc={NPROC_LIMIT}", "--"]
    return [*cmd, *python, f"{SANDBOX_WORKERDIR}/worker.py"]


def _parents(folder: str) -> list[str]:
    """``--dir`` each missing parent with mode 0755 (bwrap would copy the host's mode)."""
    out: list[str] = []
    parents = list(Path(folder).parents)[::-1][1:]
    for parent in parents:
        out += ["--perms", "0755", "--dir", str(parent)]
    return out


def _python_folders() -> list[str]:
    """The interpreter's installation and every folder NumPy needs, deduplicated."""
    folders = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    spec = importlib.util.find_spec("numpy")
    if spec is not None and spec.origin:
        site = Path(spec.origin).resolve().parent.parent
        folders.add(str(site))
    # Skip folders already inside another one.
    ordered = sorted(folders, key=len)
    kept: list[str] = []
    for f in ordered:
        if not any(f == k or f.startswith(k + os.sep) for k in kept):
            kept.append(f)
    if any(k in ("/usr", "/") for k in kept):
        kept = [k for k in kept if k not in ("/usr", "/")]
    return kept


def _masked_packages(forbidden: tuple[str, ...]) -> list[str]:
    """Folders of installed forbidden packages (masked inside the sandbox)."""
    out = []
    for name in forbidden:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.submodule_search_locations:
            continue
        for loc in spec.submodule_search_locations:
            if os.path.isdir(loc):
                out.append(os.path.realpath(loc))
    return out


def _grader_folders() -> list[str]:
    """The grader's own package folder, hidden when it lies inside a visible folder."""
    here = Path(__file__).resolve().parent.parent
    visible = _python_folders()
    if any(str(here).startswith(v + os.sep) for v in visible):
        return [str(here)]
    return []


@cache
def _mask_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="autograder-mask-"))
    (folder / "__init__.py").write_text(
        "raise ImportError('this package is not available to graded code')\n")
    os.chmod(folder, 0o755)
    os.chmod(folder / "__init__.py", 0o644)
    return folder


_slot_lock: IO[str] | None = None


def _uid_slot() -> int:
    """A uid no other concurrent grading process on this machine holds."""
    global _slot_lock
    if _slot_lock is not None:
        return int(_slot_lock.name.rsplit("-", 1)[1].split(".")[0])
    lock_dir = Path(tempfile.gettempdir()) / "autograder-uids"
    lock_dir.mkdir(exist_ok=True)
    for slot in range(UID_SLOTS):
        path = lock_dir / f"uid-{UID_BASE + slot}.lock"
        handle = open(path, "w")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _slot_lock = handle
        return UID_BASE + slot
    raise RuntimeError("no free sandbox uid slot")
