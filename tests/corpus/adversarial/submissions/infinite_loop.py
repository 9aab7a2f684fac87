"""Attack: never return: a busy loop that ignores signals (public check), a sleep of a billion seconds (hidden).

Expected: both ``double`` checks time out; the worker is restarted, ``add`` passes.
"""

import signal
import time

import numpy as np


def add(a, b):
    return np.add(a, b)


def double(x):
    for sig in (signal.SIGXCPU, signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, signal.SIG_IGN)
    if np.ndim(x) == 2:  # the public check
        n = 0
        while True:
            try:
                n += 1
            except BaseException:
                pass
    time.sleep(1e9)
