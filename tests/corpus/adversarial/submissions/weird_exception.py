"""Attack: exceptions built to break the grader's reporting: one whose str() raises, one
with a 50 MB message.

Expected: both are reported as errors with a short message; ``double`` fails, ``add`` passes.
"""

import numpy as np


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("str() refused")


def add(a, b):
    return np.add(a, b)


def double(x):
    if np.ndim(x) == 2:  # the public check
        raise Unprintable()
    raise ValueError("z" * (50 << 20))
