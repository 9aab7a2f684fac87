"""Attack: ``os._exit(0)`` while the module is imported, before any check runs.

Expected: every check is an error ("exited (status 0) during importing your module"); zero.
"""

import os

import numpy as np

os._exit(0)


def add(a, b):
    return np.add(a, b)


def double(x):
    return 2 * np.asarray(x)
