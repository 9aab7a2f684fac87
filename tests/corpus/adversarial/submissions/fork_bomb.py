"""Attack: a fork bomb (every child forks again, forever), threads, and raising the
process limit first.

Expected at the bwrap level: not one fork succeeds (EAGAIN) with the default limit of no
child processes; the sandbox holds only its init and the worker; ``double`` fails (zeros),
``add`` passes.  With a higher limit the bomb stops exactly at it (see test_isolation.py).
"""

import errno
import os
import resource
import threading
import time

import numpy as np

IN_SANDBOX = os.getcwd() == "/home/student"


def add(a, b):
    return np.add(a, b)


def _forever():
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)


def double(x):
    if not IN_SANDBOX:  # never fork-bomb a real machine
        return np.zeros_like(x)
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (10_000, 10_000))
        raised = "yes"
    except (ValueError, OSError) as exc:
        raised = f"no ({exc})"
    forks, errors = 0, set()
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        try:
            pid = os.fork()
        except OSError as exc:
            errors.add(errno.errorcode.get(exc.errno, "?"))
            continue
        if pid == 0:
            _forever()
        forks += 1
    time.sleep(0.2)
    processes = len([p for p in os.listdir("/proc") if p.isdigit()])
    try:
        threading.Thread(target=time.sleep, args=(1,)).start()
        thread = "started"
    except RuntimeError as exc:
        thread = str(exc)
    print(
        f"limit raised: {raised}; forks that succeeded: {forks}; errors: {sorted(errors)}; "
        f"processes in the sandbox: {processes}; thread: {thread}"
    )
    return np.zeros_like(x)
