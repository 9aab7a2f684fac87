"""Runs as root on the host, beside one fork server: mounts fresh tmpfs over its sandbox's writable folders.

The zygote cannot do it (its seccomp filter refuses mounts, as for every process
in the sandbox), and a ``nsenter``/``mount`` command per submission costs tens
of milliseconds of process starts.  This helper starts once per fork server,
joins the sandbox's mount namespace (``setns``, through ctypes: it is the
grader's code, never the student's) and then, for each byte ``r`` on stdin,
lazily unmounts the folders and mounts new ones (size and inodes capped), then
answers ``1`` (done) or ``0`` on stdout.  It exits at the end of stdin.

Usage: ``python -I -B renew.py INIT_PID SIZE_BYTES INODES FOLDER...``
"""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
MNT_DETACH = 2
MS_NOSUID = 2
MS_NODEV = 4


def main() -> None:
    pid, size, inodes, folders = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)
    os.chdir("/")  # the namespace's root, now
    options = f"size={size},nr_inodes={inodes},mode=1777".encode()
    while os.read(0, 1) == b"r":
        ok = True
        for folder in folders:
            target = folder.encode()
            libc.umount2(target, MNT_DETACH)
            ok = libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, options) == 0 and ok
        os.write(1, b"1" if ok else b"0")


if __name__ == "__main__":
    main()
