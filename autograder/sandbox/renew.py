"""Runs as root on the host, beside one fork server: mounts fresh tmpfs over its sandbox's writable folders.

The zygote cannot do it (its seccomp filter refuses mounts, as for every process
in the sandbox), and a ``nsenter``/``mount`` command per submission costs tens
of milliseconds of process starts.  This helper starts once per fork server,
joins the sandbox's mount namespace (``setns``, through ctypes: it is the
grader's code, never the student's) and then, for each byte ``r`` on stdin,
lazily unmounts the folders and mounts new ones (size and inodes capped), then
answers ``1`` (done) or ``0`` on stdout.  It exits at the end of stdin.

A read-only folder the sandbox shows inside a renewed one (the interpreter of a
virtual environment made under ``/tmp``) would vanish with the old tmpfs.  Each
such folder is first bound, with everything mounted in it, under a folder that a
tmpfs then covers; after every renewal it is bound back from there, so students
see it at its own path only.

Usage: ``python -I -B renew.py INIT_PID SIZE_BYTES INODES FOLDER... [--keep PATH...]``
"""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
MNT_DETACH = 2
MS_NOSUID = 2
MS_NODEV = 4
MS_BIND = 4096
MS_REC = 16384
#: Where the kept folders wait between renewals (covered by an empty tmpfs).
KEEP = "/.renew-keep"


def main() -> None:
    args = sys.argv[1:]
    keep = args[args.index("--keep") + 1 :] if "--keep" in args else []
    args = args[: args.index("--keep")] if "--keep" in args else args
    pid, size, inodes, folders = int(args[0]), int(args[1]), int(args[2]), args[3:]
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
    _check(libc.setns(fd, CLONE_NEWNS), "setns")
    os.close(fd)
    os.chdir("/")  # the namespace's root, now
    os.umask(0o022)
    stashed = _stash(libc, keep)
    options = f"size={size},nr_inodes={inodes},mode=1777".encode()
    while os.read(0, 1) == b"r":
        ok = True
        for folder in folders:
            target = folder.encode()
            libc.umount2(target, MNT_DETACH)
            ok = libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, options) == 0 and ok
            for path, stash in stashed:
                if path.startswith(folder.rstrip("/") + "/"):
                    ok = _bind_back(libc, stash, path) and ok
        os.write(1, b"1" if ok else b"0")


def _stash(libc: ctypes.CDLL, keep: list[str]) -> list[tuple[str, int]]:
    """Bind each kept folder (recursively) under :data:`KEEP`, cover that with an empty
    tmpfs, and give back (path, a handle on its stashed copy)."""
    if not keep:
        return []
    os.makedirs(KEEP, mode=0o755, exist_ok=True)
    stashed: list[tuple[str, int]] = []
    for i, path in enumerate(keep):
        stash = f"{KEEP}/{i}"
        os.mkdir(stash, 0o755)
        _check(libc.mount(path.encode(), stash.encode(), None, MS_BIND | MS_REC, None), f"bind {path}")
        stashed.append((path, os.open(stash, os.O_PATH | os.O_DIRECTORY)))
    _check(libc.mount(b"tmpfs", KEEP.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=4096,mode=0755"), "cover")
    return stashed


def _bind_back(libc: ctypes.CDLL, stash: int, path: str) -> bool:
    """Make ``path``'s missing parents (mode 0755) in the fresh tmpfs and bind the stashed
    copy there.  The copy is covered, so it is reached through its handle (the working
    folder), not a path."""
    try:
        os.makedirs(path, mode=0o755, exist_ok=True)
        os.fchdir(stash)
        return libc.mount(b".", path.encode(), None, MS_BIND | MS_REC, None) == 0
    except OSError:
        return False
    finally:
        os.chdir("/")


def _check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), what)


if __name__ == "__main__":
    main()
