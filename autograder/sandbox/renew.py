"""Runs as root on the host, beside a sandbox: caps the inodes of the tmpfs its student code can write to.

Two ways, one per kind of sandbox.

A fork server's sandbox lives on, one submission after another: its folders are renewed.
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

A plain worker's or a notebook kernel's sandbox is new: its tmpfs (bubblewrap's, which
has no inode option) are remounted once with the same caps, in place, so what bubblewrap
bound inside them (the student's files) stays.  bubblewrap is started with ``--block-fd``:
it builds the sandbox, then waits reading that descriptor before it runs anything.  One
such helper serves a whole harness process (an interpreter start per sandbox would cost
more than bubblewrap): for each request line on stdin it forks a child that waits until
that sandbox's init is blocked there (every mount is made by then), joins its mount
namespace, remounts and checks the caps took; it answers ``1`` (then the harness lets the
sandbox go on) or ``0`` (then the harness kills it: student code never runs with an
uncapped tmpfs).  It exits at the end of stdin.

Usage: ``python -I -B renew.py INIT_PID SIZE_BYTES INODES FOLDER... [--keep PATH...]`` (a
fork server's) or ``python -I -B -S renew.py --serve``, with request lines ``PARENT_PID
INIT_PID BLOCK_FD SIZE_BYTES INODES FOLDER...`` (new sandboxes').
"""

from __future__ import annotations

import ctypes
import os
import select
import sys
import time

CLONE_NEWNS = 0x00020000
MNT_DETACH = 2
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
#: Where the kept folders wait between renewals (covered by an empty tmpfs).
KEEP = "/.renew-keep"
#: The number of read(2), per machine: a blocked bubblewrap shows it in /proc/PID/syscall.
READ_SYSCALL = {"x86_64": 0, "aarch64": 63}
#: Seconds bubblewrap may take to build a sandbox.
SETUP_TIMEOUT = 10.0


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--serve"]:
        serve()
        return
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


def serve() -> None:
    """Answer each request line on stdin with ``1`` (capped) or ``0``, from a child that runs
    :func:`cap` (joining a mount namespace is for good: the helper itself stays out)."""
    for line in sys.stdin.buffer:
        try:
            fields = line.split()
            parent, pid, block_fd, size, inodes = (int(f) for f in fields[:5])
            folders = [f.decode() for f in fields[5:]]
        except ValueError:
            os.write(1, b"0")
            continue
        child = os.fork()
        if child == 0:
            try:
                ok = cap(parent, pid, block_fd, size, inodes, folders)
            except BaseException:
                ok = False
            os._exit(0 if ok else 1)
        _, status = os.waitpid(child, 0)
        os.write(1, b"1" if os.waitstatus_to_exitcode(status) == 0 else b"0")


def cap(parent: int, pid: int, block_fd: int, size: int, inodes: int, folders: list[str]) -> bool:
    """Remount each tmpfs of ``folders`` in the mount namespace of bubblewrap's sandbox init
    ``pid`` with ``size`` bytes and ``inodes`` inodes, once that init (a child of
    ``parent``) is blocked reading ``block_fd``; True when each one has those caps now.

    A pidfd pins the init while it is checked: were it gone and its pid another process's,
    the namespace opened would not be the sandbox's, and nothing is mounted.
    """
    try:
        handle = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        if not _blocked(parent, pid, block_fd):
            return False
        ns = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
        if select.select([handle], [], [], 0)[0]:  # it died: the namespace may be another's
            return False
    finally:
        os.close(handle)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(ns, CLONE_NEWNS) != 0:
        return False
    os.close(ns)
    options = f"size={size},nr_inodes={inodes}".encode()
    ok = True
    for folder in folders:
        ok = libc.mount(b"tmpfs", folder.encode(), b"tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, options) == 0 and ok
        ok = ok and os.statvfs(folder).f_files == inodes
    return ok


def _blocked(parent: int, pid: int, block_fd: int) -> bool:
    """Wait until ``pid``, a child of ``parent``, is blocked reading ``block_fd``: bubblewrap
    has built the sandbox and waits for the harness.  False when it is not within
    :data:`SETUP_TIMEOUT` seconds (or not ``parent``'s child)."""
    number = READ_SYSCALL.get(os.uname().machine)
    if number is None:
        return False
    deadline = time.monotonic() + SETUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if int(f.read().rpartition(b")")[2].split()[1]) != parent:
                    return False
            with open(f"/proc/{pid}/syscall", "rb") as f:
                fields = f.read().split()
        except (OSError, ValueError, IndexError):
            return False
        if len(fields) > 1 and fields[0] == str(number).encode() and int(fields[1], 16) == block_fd:
            return True
        time.sleep(0.0005)
    return False


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
