"""Attack: replies built to exhaust the harness: an 80 MiB array (over the 64 MiB reply
limit) to the public check, then a list nested a thousand levels deep.

Expected: the first is refused at the reply limit (error), the second cannot be encoded
(failed); ``add`` passes.
"""

import numpy as np


def add(a, b):
    return np.add(a, b)


def double(x):
    if np.ndim(x) == 2:  # the public check
        return np.ones(10 * 1024 * 1024)
    value = [2 * np.asarray(x)]
    for _ in range(1000):
        value = [value]
    return value
