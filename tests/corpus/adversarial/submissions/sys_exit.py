"""Attack: exit the interpreter cleanly (status 0) in the middle of a call.

Expected: the exit is caught; ``double`` is an error naming sys.exit, ``add`` passes.
"""

import sys

import numpy as np


def add(a, b):
    return np.add(a, b)


def double(x):
    print("calling sys.exit(0) before the checks can fail")
    sys.exit(0)
