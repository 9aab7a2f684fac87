"""Attack: ``os._exit(0)``: end the process at once, skipping every handler.

Expected: the worker is gone; ``double`` is an error ("exited (status 0)"), the worker is
started again for the next check, so ``add`` passes.
"""

import os

import numpy as np


def add(a, b):
    return np.add(a, b)


def double(x):
    os._exit(0)
