"""Attack: print two gigabytes and write more to the raw stdout/stderr descriptors.

Expected: the output is capped (the rest is counted), nothing stalls; the values are computed
honestly, so full marks.
"""

import os

import numpy as np


def add(a, b):
    print("add " * 10_000)
    return np.add(a, b)


def double(x):
    chunk = "x" * (1 << 20)
    for _ in range(2048):
        print(chunk)
    junk = b"y" * (16 << 20)
    for fd in (1, 2):
        for _ in range(4):
            os.write(fd, junk)
    return 2 * np.asarray(x)
