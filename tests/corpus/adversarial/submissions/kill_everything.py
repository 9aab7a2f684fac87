"""Attack: kill the grader: SIGKILL its parent, pid 1, then every process it may signal.

Expected at the bwrap level: pid 1 (its parent) is out of reach and no other process is
visible, so ``kill(-1)`` finds nothing (ProcessLookupError): ``double`` is an error, ``add``
passes; the grader and the batch carry on.
"""

import os
import signal

import numpy as np

IN_SANDBOX = os.getcwd() == "/home/student"


def add(a, b):
    return np.add(a, b)


def double(x):
    if os.getuid() == 0 or not IN_SANDBOX:  # never as root on a real machine
        return np.zeros_like(x)
    for pid in (os.getppid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError as exc:
            print(f"kill {pid}: {exc}")
    os.kill(-1, signal.SIGKILL)
    return np.zeros_like(x)
