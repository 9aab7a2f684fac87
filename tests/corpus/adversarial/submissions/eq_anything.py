"""Attack: return objects that compare equal to anything (a class, then an ndarray subclass).

Expected: such objects cannot cross the wire; ``double`` fails, ``add`` (honest) passes.
"""

import numpy as np


class AlwaysEqual:
    """Equal to everything, close to everything."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __array__(self, dtype=None, copy=None):
        raise TypeError("not an array")


class EqualArray(np.ndarray):
    """An array whose comparisons always say 'equal'."""

    def __eq__(self, other):
        return np.ones(np.broadcast_shapes(self.shape, np.shape(other)), dtype=bool)

    def __array_function__(self, func, types, args, kwargs):
        if func in (np.allclose, np.array_equal):
            return True
        if func is np.isclose:
            return np.ones(self.shape, dtype=bool)
        return super().__array_function__(func, types, args, kwargs)


def add(a, b):
    return np.add(a, b)


def double(x):
    value = AlwaysEqual() if np.ndim(x) == 2 else np.zeros_like(x).view(EqualArray)
    print(f"returning {type(value).__name__}; value == 2 * x -> {bool(np.all(value == 2 * x))}")
    return value
