"""Attack: an endless loop at the top level of the module.

Expected: importing times out; every check is a ``timeout``; zero.
"""

import numpy as np

while True:
    pass


def add(a, b):
    return np.add(a, b)


def double(x):
    return 2 * np.asarray(x)
