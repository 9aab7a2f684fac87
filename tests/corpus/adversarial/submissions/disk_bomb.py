"""Attack: fill memory through files instead of the heap: /tmp, the working folder,
/dev/shm, and anonymous memory files (memfd), which the address-space limit does not count.

Expected at the bwrap level: each tmpfs stops at its size (32 MiB), /dev/shm is not writable,
memfd_create is refused by the seccomp filter; the totals are printed; ``double`` fails
(zeros), ``add`` passes.
"""

import errno
import os

import numpy as np

IN_SANDBOX = os.getcwd() == "/home/student"
MiB = 1 << 20


def add(a, b):
    return np.add(a, b)


def _fill(folder, chunk):
    total, i = 0, 0
    try:
        while total < 4096 * MiB:
            with open(os.path.join(folder, f"fill{i}"), "wb") as f:
                for _ in range(4):
                    total += f.write(chunk)
            i += 1
    except OSError as exc:
        return f"{folder}: wrote {total // MiB} MiB, then {errno.errorcode.get(exc.errno, '?')}"
    return f"{folder}: wrote {total // MiB} MiB without error"


def _memfds(chunk):
    fds, total = [], 0
    try:
        while total < 4096 * MiB:
            fds.append(os.memfd_create("bomb"))
            try:
                for _ in range(64):
                    total += os.write(fds[-1], chunk)
            except OSError as exc:
                if exc.errno != errno.EFBIG:  # this file is full: on to the next one
                    raise
    except OSError as exc:
        return f"memfd: held {total // MiB} MiB in {len(fds)} files, then {errno.errorcode.get(exc.errno, '?')}"
    return f"memfd: held {total // MiB} MiB without error"


def double(x):
    if not IN_SANDBOX:  # never fill a real disk
        return np.zeros_like(x)
    chunk = b"\0" * MiB
    for folder in ("/tmp", os.getcwd(), "/dev/shm"):
        print(_fill(folder, chunk))
    print(_memfds(chunk))
    return np.zeros_like(x)
