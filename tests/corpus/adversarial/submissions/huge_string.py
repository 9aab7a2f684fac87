"""Attack: return a 15 MB string to a check that compares values, so that its message, the
reported ``got``, the JSON and HTML reports and the result cache each carry it (once: a 195 MB
HTML report and a 52 s batch instead of 3 s).

Expected: the harness refuses the string where it decodes the reply (at most 1 MiB of text),
so the check fails with a one-line message and nothing of the string reaches the result;
``add`` passes.
"""

import numpy as np


def add(a, b):
    return np.add(a, b)


def double(x):
    print(f"returning {15_000_000:,} characters")
    return "x" * 15_000_000
