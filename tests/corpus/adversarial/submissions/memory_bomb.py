"""Attack: allocate (and touch) memory until none is left.

Expected: MemoryError at the address-space limit (384 MiB for this assignment); ``double`` is
``memory``, the amount reached is printed as evidence; ``add`` passes.
"""

import numpy as np


def add(a, b):
    return np.add(a, b)


def double(x):
    blocks = []
    try:
        while True:
            blocks.append(np.ones(4 * 1024 * 1024))  # 32 MiB, every page written
    except MemoryError:
        held = 32 * len(blocks)
        blocks.clear()
        print(f"allocated {held} MiB before MemoryError")
        raise
