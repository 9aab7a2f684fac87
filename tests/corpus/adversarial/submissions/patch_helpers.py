"""Attack: make every comparison say "equal": patch np.allclose, np.isclose,
np.testing.assert_allclose, and the grader's own assertion helpers if they can be imported.

Expected: the patches take effect in the worker only; verdicts are computed by the harness,
so the wrong ``double`` fails with "wrong values"; ``add`` passes.
"""

import numpy as np
import numpy.testing

np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None

try:
    import autograder.checks as grader_checks

    grader_checks.assert_allclose = lambda *args, **kwargs: None
    GRADER = "patched"
except ImportError as exc:
    GRADER = f"not importable ({type(exc).__name__})"


def add(a, b):
    return np.add(a, b)


def double(x):
    print(f"np.allclose(0, 1) -> {np.allclose(0, 1)}; grader helpers: {GRADER}")
    return np.asarray(x) + 1
