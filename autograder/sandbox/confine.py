"""Inside the sandbox: install the seccomp filter, become the sandbox's uid with no capability
left, then lower the rlimits, before any untrusted code.

One function, :func:`enter`, for every sandboxed process: the plain worker
(``worker.py``), a worker forked by the zygote (``zygote.py``) and the notebook
kernel (run as ``python -c <this file> LIMITS UID FILTER -c <kernel start> ...``,
which enters and then becomes the kernel).  The limits come from
:func:`autograder.sandbox.launch.rlimits`, computed by the harness from the
sandbox's configuration.  The seccomp filter (:func:`autograder.sandbox.launch.seccomp_filter`)
is installed here at the rlimits level (where it cannot be, only a root harness stops: a
student's own account keeps the rlimits); at the bwrap level it is already in force
(bubblewrap installs it on the sandbox's first process, and every process inherits it).

At the rlimits level this process starts as the harness's user: root switches to the
sandbox's uid here, after it emptied the capability bounding set, which needs ctypes (the
standard library's, loaded before any untrusted code, and unloaded by the worker after).
At the bwrap level ctypes is masked: there the bounding set is empty already (``setpriv``
emptied it, or the zygote's, which its workers inherit), and a process whose set is not
empty after :func:`enter` never runs untrusted code.  A worker switches after the
interpreter and NumPy are loaded, so even an interpreter other users cannot read (under
root's home) serves it: the folders of ``sys.path`` that the uid cannot reach are reached
through descriptors root opened before the switch.

Copied beside ``worker.py`` into the sandbox: it may import only the standard library.  (Its
source is also a kernel's command line, where Jupyter replaces a word in braces: it has none.)
"""

from __future__ import annotations

import json
import os
import resource
import sys
from types import ModuleType
from typing import Any


class ConfineError(Exception):
    """The process could not be confined (its uid, its bounding set, as root its filter, or a
    second thread running): it must not run untrusted code."""


#: prctl(2) options and the seccomp mode (linux/prctl.h, linux/seccomp.h).
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2


def enter(limits: dict[str, Any], uid: int | None, seccomp: bytes | None = None) -> None:
    """Install the classic-BPF ``seccomp`` filter when given (with no_new_privs), become ``uid``
    for good (when given and not already; as root, after emptying the capability bounding
    set), then lower each rlimit of ``limits`` (``{"AS": [soft, hard], ...}``) to at most its
    value, soft and hard alike where they are equal, so that the process cannot raise them
    again.  A limit this system lacks is skipped.

    The filter and the bounding set are a thread's own: with a second thread running it
    installs nothing.  A filter that cannot be installed (no ctypes, no seccomp, the kernel
    refuses it, or a second thread runs) stops a root process only: a harness that is not
    root runs on its user's own account, and there the rlimits are what the level promises.

    Raises ConfineError when, as root, the process runs more than one thread or the filter
    could not be installed, or when it is not ``uid`` afterwards, or still has a capability
    in its bounding set.
    """
    if seccomp or uid is not None:
        try:
            _refuse_threads()
        except ConfineError:
            if os.geteuid() == 0:
                raise
            seccomp = None  # as for a filter the kernel refuses: the rlimits alone
    if seccomp:
        try:
            _install_filter(seccomp)
        except ConfineError:
            if os.geteuid() == 0:
                raise
    if uid is not None:
        if os.geteuid() == 0:
            held = _hold_import_folders()
            _empty_bounding_set()
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            _reach_import_folders(held)
        if os.getresuid() != (uid, uid, uid) or os.getresgid() != (uid, uid, uid):
            raise ConfineError("not running as the sandbox uid " + str(uid) + ": " + repr(os.getresuid()))
        if _bounding_set() not in (0, None):
            raise ConfineError("capabilities left in the bounding set: " + hex(_bounding_set() or 0))
    for name, (soft, hard) in limits.items():
        which = getattr(resource, "RLIMIT_" + name, None)
        if which is None:
            continue
        old_hard = resource.getrlimit(which)[1]
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(int(soft), old_hard), min(int(hard), old_hard)
        try:
            resource.setrlimit(which, (int(soft), int(hard)))
        except (ValueError, OSError):  # e.g. RLIMIT_AS on macOS
            pass


def _refuse_threads() -> None:
    """ConfineError when this process runs more than one thread (where /proc tells)."""
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        return
    if threads != 1:
        raise ConfineError(str(threads) + " threads running: a filter or bounding set would bind only one")


def _hold_import_folders() -> list[tuple[int, str, int]]:
    """(index, path, open descriptor) of each folder of sys.path, opened while still root."""
    held = []
    for index, path in enumerate(sys.path):
        try:
            held.append((index, path, os.open(path or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)))
        except OSError:
            continue
    return held


def _reach_import_folders(held: list[tuple[int, str, int]]) -> None:
    """Now that this process is the sandbox's uid: each folder of sys.path it cannot reach by
    its path (an interpreter under root's 0700 home) is reached through the descriptor root
    opened (``/proc/self/fd/N``: only the folders inside it are checked), so that a module
    imported later, from the standard library, still loads (a submodule of a package loaded
    already too: its ``__path__`` is moved the same way); the others are closed."""
    moved: dict[str, str] = {}
    for index, path, fd in held:
        if os.access(path or ".", os.R_OK | os.X_OK) or sys.path[index] != path:
            os.close(fd)
        else:
            sys.path[index] = moved[path.rstrip("/")] = f"/proc/self/fd/{fd}"
    if not moved:
        return
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if type(search) is not list:
            continue
        for i, folder in enumerate(search):
            for path, fd_path in moved.items():
                if type(folder) is str and folder.startswith(path + "/"):
                    search[i] = fd_path + folder[len(path) :]
                    break


def _libc() -> tuple[ModuleType, Any]:
    """ctypes and the C library, or ConfineError (ctypes is masked in a bwrap sandbox)."""
    try:
        import ctypes
    except ImportError as exc:
        raise ConfineError("ctypes is not available here: " + str(exc)) from exc
    return ctypes, ctypes.CDLL(None, use_errno=True)


def _install_filter(program: bytes) -> None:
    """no_new_privs, then the seccomp filter ``program`` on this process and all it starts."""
    ctypes, libc = _libc()

    # struct sock_fprog: the number of instructions, then a pointer to them.
    SockFprog = type(
        "SockFprog", (ctypes.Structure,), {"_fields_": [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]}
    )
    code = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.addressof(code))
    ulong = ctypes.c_ulong
    if libc.prctl(PR_SET_NO_NEW_PRIVS, ulong(1), ulong(0), ulong(0), ulong(0)) != 0:
        raise ConfineError("no_new_privs could not be set: errno " + str(ctypes.get_errno()))
    if libc.prctl(PR_SET_SECCOMP, ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog), ulong(0), ulong(0)) != 0:
        raise ConfineError("the seccomp filter could not be installed: errno " + str(ctypes.get_errno()))


def _empty_bounding_set() -> None:
    """Drop every capability from the bounding set (nothing to do when it is empty)."""
    if not _bounding_set():
        return
    ctypes, libc = _libc()
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        if libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)):
            raise ConfineError("capability " + str(cap) + " could not be dropped: errno " + str(ctypes.get_errno()))


def _bounding_set() -> int | None:
    """This process's capability bounding set, from /proc; None where there is no /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return int(line.split()[1], 16)
    except OSError:
        return None
    return None


def main() -> None:
    """``LIMITS_JSON UID FILTER ARGS...``: enter (``FILTER``: the seccomp filter in hex, or
    ``-``), then exec this interpreter with ``ARGS``."""
    limits, uid, program, args = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    enter(limits, uid if uid >= 0 else None, bytes.fromhex(program) if program != "-" else None)
    os.environ.pop("JPY_PARENT_PID", None)
    os.execv(sys.executable, [sys.executable, "-B", *args])


if __name__ == "__main__":
    main()
