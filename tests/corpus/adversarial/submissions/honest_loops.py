"""Honest, the slow way: plain Python loops and a little printing.  Full marks."""

import numpy as np


def add(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out = np.empty(a.shape)
    for index in np.ndindex(a.shape):
        out[index] = a[index] + b[index]
    return out


def double(x):
    x = np.asarray(x, dtype=float)
    print(f"doubling an array of shape {x.shape}")
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        out[index] = x[index] + x[index]
    return out
